//! `POST /v1/authorize`: the decision endpoint.
use super::Problem;
use crate::app::authorize::{self, Decision};
use crate::http::extract::json;
use crate::http::{Answer, Call, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A question.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeBody {
    /// e.g. `apps:deploy`.
    #[schema(value_type = crate::domain::policy::Permission)]
    pub permission: String,
    /// The org to act in…
    #[serde(default)]
    pub org_id: Option<String>,
    /// …or the workspace.
    #[serde(default)]
    pub workspace_id: Option<String>,
}

/// `POST /v1/authorize`.
#[utoipa::path(post, path = "/v1/authorize", summary = "Decide whether a user may do something", tag = "authorization", request_body = AuthorizeBody,
    responses((status = 200, body = Decision, description = "One D1 round trip. A target the caller cannot see: allowed false, via null"),
              (status = 422, body = Problem, description = "Unknown permission, or not exactly one target")))]
pub async fn authorize(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: AuthorizeBody = json(req)?;
    let decision =
        authorize::authorize(deps, cred, &body.permission, body.org_id.as_deref(), body.workspace_id.as_deref())
            .await?;
    Ok(Response::json(200, &decision))
}
