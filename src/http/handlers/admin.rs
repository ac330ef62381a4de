//! Platform administrators (`PLATFORM_ADMINS`, with 2FA on): every action
//! carries a fresh code of theirs.
use super::Problem;
use crate::app::admin::{self, Action, AdminUserView, PlatformAuditView};
use crate::http::extract::json;
use crate::http::{Answer, Call, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Looking a person up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupBody {
    /// Their address.
    #[schema(format = Email)]
    pub email: String,
    /// The administrator's current 6-digit code (a step-up).
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
}

/// An action on an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminActionBody {
    /// The administrator's current 6-digit code (a step-up).
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
    /// Why (suspension only; kept in the platform audit log), up to 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// The platform audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformAuditList {
    /// The last 100, newest first.
    pub data: Vec<PlatformAuditView>,
    /// Always null.
    pub next_cursor: Option<String>,
}

const REFUSALS: &str =
    "platform_admin_required (not an administrator) or two_factor_required (an administrator without 2FA on)";

/// `POST /v1/admin/users/lookup`.
#[utoipa::path(post, path = "/v1/admin/users/lookup", summary = "Find a person by address (platform administrators)", tag = "admin",
    request_body = LookupBody,
    responses((status = 200, body = AdminUserView, description = "The account and its orgs and roles; the person is emailed"),
              (status = 401, body = Problem, description = "invalid_otp: a wrong or reused code"),
              (status = 403, body = Problem, description = REFUSALS),
              (status = 404, body = Problem, description = "No account has this address")))]
pub async fn admin_lookup(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: LookupBody = json(req)?;
    Ok(Response::json(200, &admin::lookup(deps, cred, &body.email, &body.code).await?))
}

async fn act(Call { deps, req, cred }: Call<'_>, user_id: &str, action: Action) -> Answer {
    let body: AdminActionBody = json(req)?;
    if body.reason.as_deref().is_some_and(|r| r.chars().count() > 500) {
        let why = "at most 500 characters";
        return Err(crate::app::AppError::field(crate::domain::FieldError::new("reason", "too_long", why)));
    }
    Ok(Response::json(200, &admin::act(deps, cred, user_id, action, &body.code, body.reason.as_deref()).await?))
}

/// `POST /v1/admin/users/{user_id}/suspend`.
#[utoipa::path(post, path = "/v1/admin/users/{user_id}/suspend", summary = "Suspend an account (platform administrators)", tag = "admin",
    request_body = AdminActionBody,
    responses((status = 200, body = AdminUserView, description = "Suspended: its sessions and the API keys it created stop at once (403 account_suspended); the person is emailed"),
              (status = 401, body = Problem, description = "invalid_otp"), (status = 403, body = Problem, description = REFUSALS)))]
pub async fn admin_suspend(call: Call<'_>, user_id: &str) -> Answer {
    act(call, user_id, Action::Suspend).await
}

/// `POST /v1/admin/users/{user_id}/unsuspend`.
#[utoipa::path(post, path = "/v1/admin/users/{user_id}/unsuspend", summary = "Lift an account's suspension (platform administrators)", tag = "admin",
    request_body = AdminActionBody,
    responses((status = 200, body = AdminUserView, description = "Restored; the person is emailed"),
              (status = 401, body = Problem, description = "invalid_otp"), (status = 403, body = Problem, description = REFUSALS)))]
pub async fn admin_unsuspend(call: Call<'_>, user_id: &str) -> Answer {
    act(call, user_id, Action::Unsuspend).await
}

/// `POST /v1/admin/users/{user_id}/reset-2fa`.
#[utoipa::path(post, path = "/v1/admin/users/{user_id}/reset-2fa", summary = "Reset an account's two-factor authentication (platform administrators)", tag = "admin",
    request_body = AdminActionBody,
    responses((status = 200, body = AdminUserView, description = "2FA off, its credential and recovery codes deleted, every session ended; the person enrols again after signing in, and is emailed"),
              (status = 401, body = Problem, description = "invalid_otp"), (status = 403, body = Problem, description = REFUSALS)))]
pub async fn admin_reset_two_factor(call: Call<'_>, user_id: &str) -> Answer {
    act(call, user_id, Action::ResetTwoFactor).await
}

/// `GET /v1/admin/audit-log`.
#[utoipa::path(get, path = "/v1/admin/audit-log", summary = "The platform audit log (platform administrators)", tag = "admin",
    responses((status = 200, body = PlatformAuditList), (status = 403, body = Problem, description = REFUSALS)))]
pub async fn admin_audit_log(Call { deps, cred, .. }: Call<'_>) -> Answer {
    Ok(Response::json(200, &PlatformAuditList { data: admin::audit_log(deps, cred).await?, next_cursor: None }))
}
