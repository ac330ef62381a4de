//! Device sign-in (OAuth 2.0 Device Authorization Grant, RFC 8628): the
//! CLI's request and polling (public), and the console's preview, approval
//! and denial (a signed-in person).
use super::Problem;
use crate::app::device::{self, Decision, DeviceAuthorizationIssued, DeviceDecision, DevicePreview, Requester};
use crate::app::sessions::SessionIssued;
use crate::app::{AppError, Deps, ErrorCode};
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A device sign-in request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRequestBody {
    /// Shown to the person who approves: 1 to 64 printable characters
    /// (trimmed); `Latchkey CLI` when absent.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub client_name: Option<String>,
}

/// A device code poll (RFC 8628 §3.4, as JSON).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceTokenBody {
    /// From `POST /v1/auth/device`.
    pub device_code: String,
    /// `urn:ietf:params:oauth:grant-type:device_code` (the default).
    #[serde(default)]
    pub grant_type: Option<String>,
}

/// A user code as the person typed it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCodeBody {
    /// `XXXX-XXXX`; case, the hyphen and spaces do not matter.
    pub user_code: String,
}

/// `POST /v1/auth/device`.
#[utoipa::path(post, path = "/v1/auth/device", summary = "Start a device sign-in (CLI)", tag = "accounts",
    description = "RFC 8628 §3.1–3.2. Show `user_code` and `verification_uri` (or open `verification_uri_complete`), then poll `POST /v1/auth/device/token` every `interval` seconds until it answers a session or an error other than `authorization_pending` and `slow_down`. Both codes expire after `expires_in` seconds. The requesting address and user agent are shown to the person who approves.",
    request_body = DeviceRequestBody,
    responses((status = 200, body = DeviceAuthorizationIssued, description = "The device code (secret: keep it on the device) and the user code"),
              (status = 422, body = Problem, description = "validation_failed: client_name empty, over 64 characters, or with control characters")))]
pub async fn request_device_authorization(deps: &Deps, req: &Request) -> Answer {
    let body: DeviceRequestBody = json(req)?;
    let from = Requester { ip: extract::client_ip(req), user_agent: extract::user_agent(req) };
    Ok(Response::json(200, &device::request(deps, body.client_name.as_deref(), from).await?))
}

/// `POST /v1/auth/device/token`.
#[utoipa::path(post, path = "/v1/auth/device/token", summary = "Poll a device sign-in for its session", tag = "accounts",
    description = "RFC 8628 §3.4–3.5, with a JSON body and problem+json errors whose `code` is the RFC's. Once approved, the next poll answers the session, exactly once (two polls at once: one session). A poll sooner than `interval` seconds after the previous one answers `slow_down` and the interval grows by 5 seconds for good; the answer's `interval` says to what.",
    request_body = DeviceTokenBody,
    responses((status = 200, body = SessionIssued, description = "Approved: a session of the person who approved (the session list shows `method: device` and the `client_name`)"),
              (status = 400, body = Problem, description = "authorization_pending: not decided yet, poll again; slow_down: polled too soon, `interval` carries the new interval; expired_token: start again; access_denied: denied in the console; invalid_token: unknown or already redeemed; unsupported_grant_type: another `grant_type`"),
              (status = 403, body = Problem, description = "account_suspended: the approving account is suspended (nothing is issued)")))]
pub async fn poll_device_authorization(deps: &Deps, req: &Request) -> Answer {
    let body: DeviceTokenBody = json(req)?;
    if body.grant_type.as_deref().is_some_and(|g| g != device::GRANT_TYPE) {
        return Err(AppError::refused(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be urn:ietf:params:oauth:grant-type:device_code",
        ));
    }
    let session = device::poll(deps, &body.device_code, extract::user_agent(req)).await?;
    Ok(Response::json(200, &session))
}

/// `POST /v1/auth/device/preview`.
#[utoipa::path(post, path = "/v1/auth/device/preview", summary = "Show a device sign-in before approving it", tag = "accounts",
    request_body = UserCodeBody,
    responses((status = 200, body = DevicePreview, description = "The pending request: which client, from where, when"),
              (status = 400, body = Problem, description = "invalid_token: no pending, unexpired request has this code")))]
pub async fn preview_device_authorization(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: UserCodeBody = json(req)?;
    Ok(Response::json(200, &device::preview(deps, cred, &body.user_code).await?))
}

/// `POST /v1/auth/device/approve`.
#[utoipa::path(post, path = "/v1/auth/device/approve", summary = "Approve a device sign-in", tag = "accounts",
    description = "The signed-in person (a session, never an API key) approves: the client that started the request gets a session of this person's account on its next poll. Only approve a sign-in you started yourself. Recorded in the person's security log (`device.approved`).",
    request_body = UserCodeBody,
    responses((status = 200, body = DeviceDecision, description = "`{status: approved, client_name}`"),
              (status = 400, body = Problem, description = "invalid_token: no pending, unexpired request has this code (or it was decided meanwhile)")))]
pub async fn approve_device_authorization(call: Call<'_>) -> Answer {
    decide(call, Decision::Approve).await
}

/// `POST /v1/auth/device/deny`.
#[utoipa::path(post, path = "/v1/auth/device/deny", summary = "Deny a device sign-in", tag = "accounts",
    description = "The client's next poll answers `access_denied`. Recorded in the person's security log (`device.denied`).",
    request_body = UserCodeBody,
    responses((status = 200, body = DeviceDecision, description = "`{status: denied}`"),
              (status = 400, body = Problem, description = "invalid_token: no pending, unexpired request has this code (or it was decided meanwhile)")))]
pub async fn deny_device_authorization(call: Call<'_>) -> Answer {
    decide(call, Decision::Deny).await
}

async fn decide(Call { deps, req, cred }: Call<'_>, decision: Decision) -> Answer {
    let body: UserCodeBody = json(req)?;
    let decided: DeviceDecision = device::decide(deps, cred, &body.user_code, decision).await?;
    Ok(Response::json(200, &decided))
}
