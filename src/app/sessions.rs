//! Sessions: issuing access and refresh tokens, rotation with reuse
//! detection, the per-request session check, logout and the session list.
use super::access::Credential;
use super::page::PageRequest;
use super::{random, AppError, Deps};
use crate::domain::browser::{self, HostCookie, SameSite};
use crate::domain::ids::IdKind;
use crate::domain::session::ACCESS_TOKEN_SECONDS;
use crate::domain::time::{rfc3339, DAY};
use crate::domain::token::{self, Secret};
use crate::stmt;
use crate::store::sql::{self, ConsumedRefresh, RefreshTokenState, SessionRow, UserRow};
use crate::store::Batch;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Refresh tokens, and so sessions, end 30 days after sign-in, rotation or not.
pub const SESSION_SECONDS: i64 = 30 * DAY;

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UserView {
    /// `usr_…`
    pub id: String,
    /// Lowercased address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// Whether two-factor authentication is on.
    pub totp_enabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// Present (true) when a platform administrator reset the person's 2FA
    /// and they have not turned it on again: the console sends them to enrol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub two_factor_reset: Option<bool>,
    /// Present (true) on `GET /v1/me` for a platform administrator (an
    /// address in `PLATFORM_ADMINS`; acting as one also needs 2FA on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_admin: Option<bool>,
}

impl UserRow {
    /// The public view.
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            email_verified: self.email_verified_at.is_some(),
            totp_enabled: self.totp_enabled != 0,
            created_at: rfc3339(self.created_at),
            two_factor_reset: (self.totp_reset_at.is_some() && self.totp_enabled == 0).then_some(true),
            platform_admin: None,
        }
    }
}

/// A new session handed to the client.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionIssued {
    /// EdDSA JWT, 15 minutes.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use; rotate with `POST /v1/auth/token`. Absent in browser mode
    /// (`X-Latchkey-Client: browser`): there it travels only in the HttpOnly
    /// refresh cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The signed-in user.
    pub user: UserView,
}

/// Opens a session for `user` and issues its first token pair.
pub async fn create_session(deps: &Deps, user: UserRow, user_agent: Option<&str>) -> Result<SessionIssued, AppError> {
    create_session_after(deps, Vec::new(), user, user_agent, METHOD_PASSWORD).await
}

/// How a session began when it was not through a provider.
pub const METHOD_PASSWORD: &str = "password";

/// [`create_session`], recording how the person signed in (`password`,
/// `oauth:github`, …) for the session list, with `before` (the sign-in's own
/// bookkeeping, such as clearing its failure counter) in the same batch:
/// one round trip.
pub async fn create_session_after(
    deps: &Deps,
    mut before: Vec<crate::store::Stmt>,
    user: UserRow,
    user_agent: Option<&str>,
    method: &str,
) -> Result<SessionIssued, AppError> {
    let (session, rows) = NewSession::rows(deps, &user.id, user_agent, method)?;
    before.extend(rows);
    deps.db.batch(before).await?;
    session.issue(deps, user)
}

/// A session about to be written by the caller's own batch (a sign-in step
/// whose guards decide whether it happens), and its tokens once it is.
#[derive(Debug)]
pub struct NewSession {
    session_id: String,
    refresh: Secret,
}

impl NewSession {
    /// The session and the rows that create it. Every sign-in (email
    /// verification, password, OAuth, the second factor) comes this way, so
    /// the verified-domain auto-join rides along here
    /// ([`super::domains::auto_join`]): it happens when, and only if, the
    /// session does, with no round trip of its own.
    pub fn rows(
        deps: &Deps,
        user_id: &str,
        user_agent: Option<&str>,
        method: &str,
    ) -> Result<(Self, Vec<crate::store::Stmt>), AppError> {
        Self::rows_for_client(deps, user_id, user_agent, method, None)
    }

    /// [`NewSession::rows`], naming the client that asked for the session
    /// (the device flow's `client_name`) for the session list.
    pub fn rows_for_client(
        deps: &Deps,
        user_id: &str,
        user_agent: Option<&str>,
        method: &str,
        client_name: Option<&str>,
    ) -> Result<(Self, Vec<crate::store::Stmt>), AppError> {
        let now = deps.now();
        let session_id = deps.new_id(IdKind::Session)?;
        let refresh = Secret::random(random(deps.rng.as_ref())?);
        let ua: Option<String> = user_agent.map(|u| u.chars().take(200).collect());
        let mut rows = vec![
            stmt!(sql::INSERT_SESSION, &session_id, user_id, now, now + SESSION_SECONDS, ua, method, client_name),
            stmt!(sql::INSERT_REFRESH_TOKEN, refresh.digest(), &session_id, now),
        ];
        rows.extend(super::domains::auto_join(deps, user_id)?);
        Ok((Self { session_id, refresh }, rows))
    }

    /// The tokens, once the rows are written.
    pub fn issue(self, deps: &Deps, user: UserRow) -> Result<SessionIssued, AppError> {
        issue(deps, user, &self.session_id, self.refresh)
    }
}

fn issue(deps: &Deps, user: UserRow, session_id: &str, refresh: Secret) -> Result<SessionIssued, AppError> {
    let access_token = deps
        .config
        .keys
        .issue(&user.id, session_id, deps.now())
        .map_err(|e| AppError::internal_from("signing an access token", e))?;
    Ok(SessionIssued {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token: Some(refresh.expose().to_owned()),
        user: user.view(),
    })
}

/// Exchanges a refresh token for a new pair. The presented token is consumed
/// by one guarded statement; presenting a consumed one again is treated as
/// theft and revokes the whole session (RFC 9700 §4.14).
pub async fn refresh(deps: &Deps, presented: &str) -> Result<SessionIssued, AppError> {
    if !token::plausible(presented) {
        return Err(AppError::InvalidRefreshToken);
    }
    let now = deps.now();
    let digest = Secret::from_client(presented).digest();
    let consumed: Option<ConsumedRefresh> =
        deps.db.run(stmt!(sql::CONSUME_REFRESH_TOKEN, now, &digest)).await?.first()?;
    let Some(ConsumedRefresh { session_id }) = consumed else {
        let known: Option<RefreshTokenState> =
            deps.db.run(stmt!(sql::REFRESH_TOKEN_SESSION, &digest)).await?.first()?;
        match known {
            Some(RefreshTokenState { suspended_at: Some(_), used_at: None, .. }) => {
                return Err(super::access::suspended())
            }
            Some(RefreshTokenState { session_id, used_at: Some(_), .. }) => {
                deps.db.run(stmt!(sql::REVOKE_SESSION, &session_id, now)).await?;
            }
            _ => {}
        }
        return Err(AppError::InvalidRefreshToken);
    };
    let next = Secret::random(random(deps.rng.as_ref())?);
    let mut batch = Batch::new();
    batch.add(stmt!(sql::INSERT_REFRESH_TOKEN, next.digest(), &session_id, now));
    batch.add(stmt!(sql::TOUCH_SESSION, &session_id, now));
    let user = batch.read::<UserRow>(stmt!(sql::USER_OF_SESSION, &session_id));
    let user = batch.run(deps.db.as_ref()).await?.first(user)?.ok_or(AppError::InvalidRefreshToken)?;
    issue(deps, user, &session_id, next)
}

/// Ends the caller's session: its access and refresh tokens stop working at once.
pub async fn logout(deps: &Deps, who: &Credential) -> Result<(), AppError> {
    let now = deps.now();
    let sid = match who {
        Credential::Session(claims) => claims.sid.clone(),
        Credential::Key { .. } | Credential::Scim { .. } => return Err(AppError::UserRequired),
    };
    // One round trip: the live-session guard, then the revocation.
    let wrote = who
        .person_write(deps, false, |_, batch| {
            batch.add(stmt!(sql::REVOKE_SESSION, &sid, now));
            Ok(())
        })
        .await?;
    wrote.ran?;
    Ok(())
}

/// How a client holds its refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// In the JSON body (API clients, the CLI): as it always was.
    Body,
    /// In the HttpOnly refresh cookie (the console: `X-Latchkey-Client: browser`).
    Cookie,
}

/// The refresh cookie: `__Host-latchkey_refresh` over https (Secure,
/// HttpOnly, SameSite=Strict, Path=/), `latchkey_refresh` over plain-http
/// development. `__Host-` forces `Path=/`, so the browser sends it with every
/// request to us; only `POST /v1/auth/token` and `POST /v1/auth/logout` read it.
pub fn refresh_cookie(deps: &Deps) -> HostCookie {
    HostCookie { base: browser::REFRESH_COOKIE, secure: deps.config.https(), same_site: SameSite::Strict }
}

/// How long the refresh cookie is kept: a session's whole life (its absolute
/// end is enforced here, whatever the browser keeps).
pub const REFRESH_COOKIE_SECONDS: i64 = SESSION_SECONDS;

/// The CSRF defence of the cookie mode. A request that asks for it
/// (`client` is the `X-Latchkey-Client` header) must carry our own origin:
/// the custom header cannot be sent cross-site without a CORS preflight
/// (never granted), and `Origin` names the page that sent it (in
/// development, `localhost` and `127.0.0.1` are one; see
/// [`browser::allowed_origin`]). Anything else
/// is refused before anything happens. Without the header the request is an
/// ordinary JSON client's, and no cookie is read or set.
pub fn delivery(deps: &Deps, client: Option<&str>, origin: Option<&str>) -> Result<Delivery, AppError> {
    let Some(client) = client else {
        return Ok(Delivery::Body);
    };
    if !client.trim().eq_ignore_ascii_case(browser::CLIENT_BROWSER) {
        return Err(AppError::Validation(vec![crate::domain::FieldError::new(
            "X-Latchkey-Client",
            "invalid_client",
            "must be `browser` (or absent)",
        )]));
    }
    if !browser::allowed_origin(&deps.config.app_url, deps.config.development, origin) {
        return Err(AppError::refused(
            crate::app::ErrorCode::CsrfRejected,
            "a browser-mode request must come from this service's own origin (Origin header)",
        ));
    }
    Ok(Delivery::Cookie)
}

/// Browser-mode logout: ends the session the refresh cookie belongs to (the
/// access token may have expired long ago: a reload after a while) and the
/// bearer's session, if any. Neither present is not an error: the browser is
/// signed out either way, and the cookie is cleared.
pub async fn logout_browser(deps: &Deps, who: Option<&Credential>, cookie: Option<&str>) -> Result<(), AppError> {
    let now = deps.now();
    // Both in one batch: the session a verified access token names (ending
    // one that already ended changes nothing), and the refresh cookie's.
    let mut batch = Batch::new();
    if let Some(Credential::Session(claims)) = who {
        batch.add(stmt!(sql::REVOKE_SESSION, &claims.sid, now));
    }
    if let Some(presented) = cookie.filter(|t| token::plausible(t)) {
        let digest = Secret::from_client(presented).digest();
        batch.add(stmt!(sql::REVOKE_SESSION_OF_REFRESH_TOKEN, &digest, now));
    }
    batch.run(deps.db.as_ref()).await?;
    Ok(())
}

/// One of my sessions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    /// `ses_…`
    pub id: String,
    /// Sign-in time.
    pub created_at: String,
    /// Last refresh.
    pub last_used_at: String,
    /// Absolute end.
    pub expires_at: String,
    /// Client that signed in, if it said.
    pub user_agent: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
    /// How it signed in: `password` (including emailed links),
    /// `oauth:<provider>`, or `device` (a CLI's device sign-in, RFC 8628,
    /// approved in the console).
    pub method: String,
    /// The client a device sign-in named (`client_name` of
    /// `POST /v1/auth/device`); absent for other sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

/// Lists my live sessions, newest first.
pub async fn list_sessions(
    deps: &Deps,
    who: &Credential,
    page: &PageRequest,
) -> Result<(Vec<SessionView>, Option<String>), AppError> {
    let (k, id, limit) = page.sql_params();
    // The page rides along with the session check (one round trip).
    let mut batch = Batch::new();
    let rows = who.user_id().map(|u| batch.read::<SessionRow>(stmt!(sql::LIST_SESSIONS, u, deps.now(), k, id, limit)));
    let (who, mut results) = who.person_with(deps, batch).await?;
    let rows = results.all_if(rows)?;
    let (rows, next) = page.finish(rows, |r| (r.created_at, r.id.clone()));
    let views = rows
        .into_iter()
        .map(|r| SessionView {
            current: r.id == who.session_id,
            id: r.id,
            created_at: rfc3339(r.created_at),
            last_used_at: rfc3339(r.last_used_at),
            expires_at: rfc3339(r.expires_at),
            user_agent: r.user_agent,
            method: r.method,
            client_name: r.client_name,
        })
        .collect();
    Ok((views, next))
}

/// Revokes one of my sessions; someone else's, or an ended one, is 404.
pub async fn revoke_session(deps: &Deps, who: &Credential, session_id: &str) -> Result<(), AppError> {
    let now = deps.now();
    let wrote = who
        .person_write(deps, false, |user_id, batch| {
            Ok(batch.write(stmt!(sql::REVOKE_OWN_SESSION, session_id, user_id, now)))
        })
        .await?;
    if wrote.ran?.changed(wrote.handles) == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
