//! Thin handlers: extract → parse → call `app` → view. No SQL here.
//! The `#[utoipa::path]` attributes are the OpenAPI document of each route.
//! This file: meta, accounts and `/v1/me`; one file per further area.
pub mod admin;
pub mod api_keys;
pub mod authorize;
pub mod device;
pub mod domains;
pub mod invitations;
pub mod join_links;
pub mod notifications;
pub mod oauth;
pub mod orgs;
pub mod roles;
pub mod scim;
pub mod sso;
pub mod totp;
pub mod workload;
pub mod workspaces;
use super::extract::{self, json};
use super::{Answer, Call, Request, Response};
use crate::app::access::Credential;
use crate::app::accounts::{self, LoginOutcome, SignupInput};
use crate::app::sessions::{self, Delivery, SessionIssued, SessionView, UserView};
use crate::app::{AppError, Deps};
use crate::stmt;
use crate::store::sql;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"status": "..."}`
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// e.g. `ok`, `verification_email_sent`, `accepted`.
    pub status: &'static str,
}

pub use super::error::{FieldProblem, Problem};

/// `GET /health`: one D1 query.
#[utoipa::path(get, path = "/health", summary = "Check the service's health", description = "One D1 query: 200 when the database answers.", tag = "meta", responses((status = 200, body = StatusBody)))]
pub async fn health(deps: &Deps, _: &Request) -> Answer {
    deps.db.run(stmt!(sql::HEALTH)).await?;
    Ok(Response::json(200, &StatusBody { status: "ok" }))
}

// Deployed, Workers Static Assets answers this path with the same file
// (scripts/build-console.sh copies it into `build/console/`) before the Worker
// runs, which keeps its 350 KB out of the wasm bundle; this handler serves it
// to the native router and tests.
/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", summary = "Get this OpenAPI document", tag = "meta", responses((status = 200, body = Object, description = "This document")))]
pub async fn openapi(_: &Deps, _: &Request) -> Answer {
    #[cfg(not(target_arch = "wasm32"))]
    return Ok(Response {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: super::openapi::DOCUMENT.as_bytes().to_vec(),
    });
    #[cfg(target_arch = "wasm32")]
    Err(AppError::refused(crate::app::ErrorCode::NotFound, "the OpenAPI document is a static asset"))
}

/// `GET /.well-known/jwks.json`.
#[utoipa::path(get, path = "/.well-known/jwks.json", summary = "Get the token signing keys (JWKS)", tag = "meta", responses((status = 200, body = crate::domain::session::Jwks, description = "Ed25519 keys (RFC 8037) that verify access tokens")))]
pub async fn jwks(deps: &Deps, _: &Request) -> Answer {
    Ok(Response::json(200, &deps.config.keys.jwks()).with_header("cache-control", "public, max-age=300"))
}

/// Sign-up body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupBody {
    /// Email address (surrounding spaces are trimmed, and it is lowercased).
    #[schema(format = Email)]
    pub email: String,
    /// 8 to 128 characters, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// Display name: 1 to 100 characters once trimmed, no control characters.
    #[schema(
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]{0,98}[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F])?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub name: String,
    /// A token from an invitation link for this same address: the account is
    /// created verified, joins, and is signed in (201).
    #[serde(default)]
    pub invitation_token: Option<String>,
    /// A token from a join link (`/join#token=…`): once this address is
    /// verified, the account joins through the link if it still admits it
    /// (verified address on an allowed domain, uses left, not revoked or
    /// expired). Not with `invitation_token`.
    #[serde(default)]
    pub join_token: Option<String>,
}

/// `POST /v1/auth/signup`.
#[utoipa::path(post, path = "/v1/auth/signup", summary = "Sign up", tag = "accounts", request_body = SignupBody,
    responses((status = 202, body = StatusBody, description = "Same answer whether or not the email has an account"),
              (status = 201, body = SessionIssued, description = "With a valid invitation_token for this address: verified account, membership and session"),
              (status = 403, body = Problem, description = "invitation_email_mismatch: nothing created"),
              (status = 404, body = Problem, description = "invitation_not_found (with an invitation_token only)"),
              (status = 409, body = Problem, description = "account_exists (with an invitation_token only): sign in to accept; invitation_already_accepted"),
              (status = 410, body = Problem, description = "invitation_expired, invitation_revoked or invitation_declined (with an invitation_token only)"),
              (status = 422, body = Problem, description = "validation_failed or password_too_common"),
              (status = 429, body = Problem, description = "too_many_attempts from this client IP (coarse per-IP limit), with Retry-After")))]
pub async fn signup(deps: &Deps, req: &Request) -> Answer {
    let delivery = extract::delivery(deps, req)?;
    let body: SignupBody = json(req)?;
    if body.invitation_token.is_some() && body.join_token.is_some() {
        let why = "send an invitation_token or a join_token, not both";
        return Err(AppError::field(crate::domain::FieldError::new("join_token", "conflicting", why)));
    }
    if let Some(token) = &body.invitation_token {
        let session = crate::app::invitations::signup_with_invitation(
            deps,
            &body.email,
            &body.password,
            &body.name,
            token,
            extract::user_agent(req),
        )
        .await?;
        return Ok(session_response(deps, delivery, 201, session));
    }
    let input = SignupInput {
        email: &body.email,
        password: &body.password,
        name: &body.name,
        join_token: body.join_token.as_deref(),
    };
    accounts::signup(deps, input).await?;
    Ok(Response::json(202, &StatusBody { status: "verification_email_sent" }))
}

/// A body holding a single-use token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The token from the link's fragment.
    pub token: String,
}

/// Email verification body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailBody {
    /// The token from the link's fragment.
    pub token: String,
    /// The password chosen at sign-up: the link proves the inbox, the password
    /// proves which sign-up is being verified (pre-account-takeover defence).
    #[serde(default)]
    pub password: Option<String>,
}

/// `POST /v1/auth/verify-email`.
#[utoipa::path(post, path = "/v1/auth/verify-email", summary = "Verify an email address", tag = "accounts", request_body = VerifyEmailBody,
    responses((status = 200, body = LoginAnswer, description = "A session, or `{mfa_required: true, mfa_token}` when 2FA is on"),
              (status = 400, body = Problem, description = "invalid_token: unknown, used or expired, or the account is already verified (no session)"),
              (status = 401, body = Problem, description = "password_mismatch: not the password of the sign-up this link belongs to; nothing changed, the link still works"),
              (status = 403, body = Problem, description = "sso_required: the address is verified, but its org signs it in through single sign-on (no session)"),
              (status = 422, body = Problem, description = "validation_failed: `password` missing; nothing changed")))]
pub async fn verify_email(deps: &Deps, req: &Request) -> Answer {
    let delivery = extract::delivery(deps, req)?;
    let body: VerifyEmailBody = json(req)?;
    let outcome = accounts::verify_email(deps, &body.token, body.password.as_deref(), extract::user_agent(req)).await?;
    Ok(login_response(deps, delivery, outcome))
}

/// The first step of a login with two-factor authentication on.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequired {
    /// Always true.
    pub mfa_required: bool,
    /// For `POST /v1/auth/login/mfa`; lives 5 minutes.
    pub mfa_token: String,
}

/// A sign-in's answer: a session, or the second step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginAnswer {
    /// Signed in.
    Session(SessionIssued),
    /// Two-factor authentication is on: send a code with the token.
    MfaRequired(MfaRequired),
}

pub(crate) fn login_response(deps: &Deps, delivery: Delivery, outcome: LoginOutcome) -> Response {
    match outcome {
        LoginOutcome::Session(session) => session_response(deps, delivery, 200, *session),
        LoginOutcome::MfaRequired { mfa_token } => Response::json(200, &MfaRequired { mfa_required: true, mfa_token }),
    }
}

/// A new session as the client asked for it: the JSON as always, or (browser
/// mode) the JSON without `refresh_token`, which is set as the cookie instead.
pub(crate) fn session_response(deps: &Deps, delivery: Delivery, status: u16, mut session: SessionIssued) -> Response {
    match (delivery, session.refresh_token.take()) {
        (Delivery::Cookie, Some(refresh)) => Response::json(status, &session)
            .with_header("set-cookie", sessions::refresh_cookie(deps).set(&refresh, sessions::REFRESH_COOKIE_SECONDS)),
        (_, refresh) => {
            session.refresh_token = refresh;
            Response::json(status, &session)
        }
    }
}

/// A body holding an email address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    /// Email address.
    pub email: String,
}

/// `POST /v1/auth/resend-verification`.
#[utoipa::path(post, path = "/v1/auth/resend-verification", summary = "Resend the verification email", tag = "accounts", request_body = EmailBody,
    responses((status = 202, body = StatusBody, description = "Always; at most 5 emails an hour per address")))]
pub async fn resend_verification(deps: &Deps, req: &Request) -> Answer {
    let body: EmailBody = json(req)?;
    accounts::resend_verification(deps, &body.email).await?;
    Ok(Response::json(202, &StatusBody { status: "accepted" }))
}

/// Login body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /v1/auth/login`.
#[utoipa::path(post, path = "/v1/auth/login", summary = "Sign in with email and password", tag = "accounts", request_body = LoginBody,
    responses((status = 200, body = LoginAnswer, description = "A session, or `{mfa_required: true, mfa_token}` when 2FA is on"),
              (status = 401, body = Problem, description = "invalid_credentials (same body for unknown email and wrong password)"),
              (status = 403, body = Problem, description = "email_not_verified; sso_required: the address's org signs it in through single sign-on (told only after a right password; an owner of that org with 2FA keeps a way in); account_suspended"),
              (status = 429, body = Problem, description = "too_many_attempts, with Retry-After: 10 failures for this address (with or without an account; 30 s doubling to 15 min; each 15 quiet minutes forgive one failure; a success resets), or the coarse per-client-IP limit")))]
pub async fn login(deps: &Deps, req: &Request) -> Answer {
    let delivery = extract::delivery(deps, req)?;
    let body: LoginBody = json(req)?;
    let outcome = accounts::login(deps, &body.email, &body.password, extract::user_agent(req)).await?;
    Ok(login_response(deps, delivery, outcome))
}

/// Refresh body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token of the last session answer.
    pub refresh_token: String,
}

/// `POST /v1/auth/token`.
#[utoipa::path(post, path = "/v1/auth/token", summary = "Refresh an access token", tag = "accounts", request_body = RefreshBody,
    responses((status = 200, body = SessionIssued, description = "A new pair; the presented refresh token is spent. Browser mode (`X-Latchkey-Client: browser`): no body needed, the refresh token is the cookie, and the rotated one is set as the cookie"),
              (status = 401, body = Problem, description = "invalid_token; a reused token also revokes its session. Browser mode: also for a missing cookie, and the cookie is cleared")))]
pub async fn refresh_token(deps: &Deps, req: &Request) -> Answer {
    match extract::delivery(deps, req)? {
        Delivery::Body => {
            let body: RefreshBody = json(req)?;
            Ok(Response::json(200, &sessions::refresh(deps, &body.refresh_token).await?))
        }
        // The body, if any, is ignored: the token is the cookie, and a failure clears it.
        Delivery::Cookie => {
            let jar = sessions::refresh_cookie(deps);
            let refreshed = match extract::cookie(req, &jar) {
                Some(presented) => sessions::refresh(deps, presented).await,
                None => Err(AppError::InvalidRefreshToken),
            };
            match refreshed {
                Ok(session) => Ok(session_response(deps, Delivery::Cookie, 200, session)),
                // A dead cookie goes; a failure of ours keeps it for the next try.
                Err(e @ AppError::InvalidRefreshToken) => {
                    Ok(super::error::problem(&e).with_header("set-cookie", jar.clear()))
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// `POST /v1/auth/logout`.
#[utoipa::path(post, path = "/v1/auth/logout", summary = "Sign out (end this session)", tag = "accounts",
    responses((status = 204, description = "The session's tokens stop working at once. Browser mode (`X-Latchkey-Client: browser`): the bearer token is optional (it may have expired); the session named by the refresh cookie and the bearer's session, if any, are revoked, and the cookie is cleared; 204 even when neither was presented")))]
pub async fn logout(deps: &Deps, req: &Request, cred: Option<&Credential>) -> Answer {
    match extract::delivery(deps, req)? {
        Delivery::Body => {
            // Without the cookie, the bearer is the session to end: it must verify.
            sessions::logout(deps, cred.ok_or(AppError::Unauthenticated)?).await?;
            Ok(Response::empty(204))
        }
        Delivery::Cookie => {
            // An expired access token must not stop a sign-out: the cookie suffices.
            let jar = sessions::refresh_cookie(deps);
            sessions::logout_browser(deps, cred, extract::cookie(req, &jar)).await?;
            Ok(Response::empty(204).with_header("set-cookie", jar.clear()))
        }
    }
}

/// `POST /v1/auth/password-reset`.
#[utoipa::path(post, path = "/v1/auth/password-reset", summary = "Request a password reset email", tag = "accounts", request_body = EmailBody,
    responses((status = 202, body = StatusBody, description = "Always (within the per-client-IP limit)"),
              (status = 429, body = Problem, description = "too_many_attempts from this client IP (coarse per-IP limit), with Retry-After")))]
pub async fn request_password_reset(deps: &Deps, req: &Request) -> Answer {
    let body: EmailBody = json(req)?;
    accounts::request_password_reset(deps, &body.email).await?;
    Ok(Response::json(202, &StatusBody { status: "accepted" }))
}

/// Reset confirmation body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmBody {
    /// The token from the link.
    pub token: String,
    /// The new password: 8 to 128 characters, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
    /// Providers linked in the 7 days before the reset that stay linked
    /// (`github`, `google`, `gitlab`); every other recent link ends.
    #[serde(default)]
    #[schema(value_type = Vec<crate::domain::oauth::Provider>)]
    pub keep_identities: Vec<String>,
}

/// `POST /v1/auth/password-reset/confirm`.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", summary = "Set a new password with a reset token", tag = "accounts", request_body = ResetConfirmBody,
    responses((status = 204, description = "Password set; every session revoked; providers linked in the 7 days before are unlinked unless listed in `keep_identities` (someone holding a stolen fresh session could have linked their own)"),
              (status = 400, body = Problem, description = "invalid_token"), (status = 422, body = Problem)))]
pub async fn confirm_password_reset(deps: &Deps, req: &Request) -> Answer {
    let body: ResetConfirmBody = json(req)?;
    accounts::confirm_password_reset(deps, &body.token, &body.new_password, &body.keep_identities).await?;
    Ok(Response::empty(204))
}

/// A reset link to look at.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPreviewBody {
    /// The token from the link.
    pub token: String,
}

/// `POST /v1/auth/password-reset/preview`.
#[utoipa::path(post, path = "/v1/auth/password-reset/preview", summary = "Check a password reset token", tag = "accounts", request_body = ResetPreviewBody,
    responses((status = 200, body = accounts::ResetPreview, description = "The providers linked in the last 7 days, which the reset unlinks unless kept; the link is not spent"),
              (status = 400, body = Problem, description = "invalid_token")))]
pub async fn preview_password_reset(deps: &Deps, req: &Request) -> Answer {
    let body: ResetPreviewBody = json(req)?;
    Ok(Response::json(200, &accounts::preview_password_reset(deps, &body.token).await?))
}

/// `GET /v1/me`.
#[utoipa::path(get, path = "/v1/me", summary = "Get my profile", tag = "me",
    responses((status = 200, body = UserView), (status = 401, body = Problem)))]
pub async fn get_me(Call { deps, cred, .. }: Call<'_>) -> Answer {
    Ok(Response::json(200, &accounts::get_me(deps, cred).await?))
}

/// Profile update body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeBody {
    /// New display name: 1 to 100 characters once trimmed, no control characters.
    #[schema(
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]{0,98}[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F])?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub name: String,
}

/// `PATCH /v1/me`.
#[utoipa::path(patch, path = "/v1/me", summary = "Update my profile", tag = "me", request_body = UpdateMeBody,
    responses((status = 200, body = UserView), (status = 422, body = Problem)))]
pub async fn update_me(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: UpdateMeBody = json(req)?;
    Ok(Response::json(200, &accounts::update_me(deps, cred, &body.name).await?))
}

/// Password change body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    /// The password in use.
    pub current_password: String,
    /// The new one: 8 to 128 characters, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// `POST /v1/me/password`.
#[utoipa::path(post, path = "/v1/me/password", summary = "Change my password", tag = "me", request_body = ChangePasswordBody,
    responses((status = 204, description = "Changed; other sessions revoked"),
              (status = 401, body = Problem, description = "invalid_credentials: wrong current password")))]
pub async fn change_password(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: ChangePasswordBody = json(req)?;
    accounts::change_password(deps, cred, &body.current_password, &body.new_password).await?;
    Ok(Response::empty(204))
}

/// A page of sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Live sessions, newest first.
    pub data: Vec<SessionView>,
    /// Pass as `?cursor=` for the next page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/me/sessions`.
#[utoipa::path(get, path = "/v1/me/sessions", summary = "List my sessions", tag = "me",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = SessionList)))]
pub async fn list_sessions(Call { deps, req, cred }: Call<'_>) -> Answer {
    let page = extract::page(req)?;
    let (data, next_cursor) = sessions::list_sessions(deps, cred, &page).await?;
    Ok(Response::json(200, &SessionList { data, next_cursor }))
}

/// `DELETE /v1/me/sessions/{id}`.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", summary = "Sign out one of my sessions", tag = "me",
    params(("id" = String, Path, description = "ses_…")),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
pub async fn revoke_session(Call { deps, cred, .. }: Call<'_>, id: &str) -> Answer {
    sessions::revoke_session(deps, cred, id).await?;
    Ok(Response::empty(204))
}

/// An email the development mail sink kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevEmail {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// RFC 3339.
    pub sent_at: String,
}

/// The emails sent to one address, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevEmailList {
    /// The emails.
    pub data: Vec<DevEmail>,
    /// Always null.
    pub next_cursor: Option<String>,
}

/// `GET /v1/dev/emails?to=`: the development mail sink; 404 outside development.
#[utoipa::path(get, path = "/v1/dev/emails", summary = "Read sent emails (development only)", description = "The development mail sink (`MAILER=dev`): the emails sent to `to`, newest last. 404 outside development.", tag = "development",
    params(("to" = String, Query, description = "Recipient address")),
    responses((status = 200, body = DevEmailList), (status = 404, body = Problem, description = "Outside ENVIRONMENT=development")))]
pub async fn dev_emails(deps: &Deps, req: &Request) -> Answer {
    if !deps.config.development {
        return Err(AppError::NotFound);
    }
    let to = req.query_param("to").unwrap_or_default().trim().to_lowercase();
    #[derive(Deserialize)]
    struct Row {
        recipient: String,
        subject: String,
        text_body: String,
        html_body: String,
        sent_at: i64,
    }
    let rows: Vec<Row> = deps.db.run(stmt!(sql::LIST_DEV_EMAILS, to)).await?.decode()?;
    let data = rows
        .into_iter()
        .map(|r| DevEmail {
            to: r.recipient,
            subject: r.subject,
            text: r.text_body,
            html: r.html_body,
            sent_at: crate::domain::time::rfc3339(r.sent_at),
        })
        .collect();
    Ok(Response::json(200, &DevEmailList { data, next_cursor: None }))
}
