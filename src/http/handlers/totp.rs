//! Two-factor authentication routes.
use super::Problem;
use crate::app::sessions::SessionIssued;
use crate::app::totp::{self, Enrolment, RecoveryCodes};
use crate::app::Deps;
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Request, Response};
use serde::Deserialize;
use utoipa::ToSchema;

/// A current TOTP code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// 6 digits from the authenticator app.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// The second step of a login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginMfaBody {
    /// From the login answer.
    pub mfa_token: String,
    /// A TOTP code (6 digits)…
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: Option<String>,
    /// …or a recovery code.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// `POST /v1/auth/login/mfa`.
#[utoipa::path(post, path = "/v1/auth/login/mfa", summary = "Complete a sign-in with a 2FA code", tag = "accounts", request_body = LoginMfaBody,
    responses((status = 200, body = SessionIssued), (status = 400, body = Problem, description = "invalid_token: unknown, used or expired mfa_token"),
              (status = 401, body = Problem, description = "invalid_otp: wrong, reused or stale code"),
              (status = 429, body = Problem, description = "too_many_attempts, with Retry-After: 5 wrong codes on the account across all its MFA tokens (15 min; each 15 quiet minutes forgive one; a right code resets), 5 on this token, or the coarse per-client-IP limit")))]
pub async fn login_mfa(deps: &Deps, req: &Request) -> Answer {
    let delivery = extract::delivery(deps, req)?;
    let body: LoginMfaBody = json(req)?;
    let session = totp::login_mfa(
        deps,
        &body.mfa_token,
        body.code.as_deref(),
        body.recovery_code.as_deref(),
        extract::user_agent(req),
    )
    .await?;
    Ok(super::session_response(deps, delivery, 200, session))
}

/// `POST /v1/me/totp`.
#[utoipa::path(post, path = "/v1/me/totp", summary = "Start turning on two-factor authentication", tag = "two_factor",
    responses((status = 200, body = Enrolment, description = "Pending until confirmed"), (status = 409, body = Problem, description = "totp_already_enabled")))]
pub async fn enrol(Call { deps, cred, .. }: Call<'_>) -> Answer {
    Ok(Response::json(200, &totp::enrol(deps, cred).await?))
}

/// `POST /v1/me/totp/confirm`.
#[utoipa::path(post, path = "/v1/me/totp/confirm", summary = "Confirm two-factor authentication", tag = "two_factor", request_body = CodeBody,
    responses((status = 200, body = RecoveryCodes, description = "2FA is on; the codes are shown once"), (status = 401, body = Problem, description = "invalid_otp"),
              (status = 429, body = Problem, description = "too_many_attempts: 5 wrong codes on the account (shared with the 2FA login step), with Retry-After")))]
pub async fn confirm(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: CodeBody = json(req)?;
    Ok(Response::json(200, &totp::confirm(deps, cred, &body.code).await?))
}

/// `DELETE /v1/me/totp`.
#[utoipa::path(delete, path = "/v1/me/totp", summary = "Turn off two-factor authentication", tag = "two_factor", request_body = CodeBody,
    responses((status = 204, description = "2FA off"), (status = 401, body = Problem, description = "invalid_otp"),
              (status = 429, body = Problem, description = "too_many_attempts: 5 wrong codes on the account (shared with the 2FA login step), with Retry-After")))]
pub async fn disable(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: CodeBody = json(req)?;
    totp::disable(deps, cred, &body.code).await?;
    Ok(Response::empty(204))
}

/// `POST /v1/me/recovery-codes`.
#[utoipa::path(post, path = "/v1/me/recovery-codes", summary = "Regenerate my 2FA recovery codes", tag = "two_factor", request_body = CodeBody,
    responses((status = 200, body = RecoveryCodes, description = "New codes; the old ones die"), (status = 401, body = Problem, description = "invalid_otp"),
              (status = 429, body = Problem, description = "too_many_attempts: 5 wrong codes on the account (shared with the 2FA login step), with Retry-After")))]
pub async fn regenerate_recovery_codes(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: CodeBody = json(req)?;
    Ok(Response::json(200, &totp::regenerate_recovery_codes(deps, cred, &body.code).await?))
}
