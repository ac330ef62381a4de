//! Sessions: issuing access and refresh tokens, rotation with reuse
//! detection, the per-request session check, logout and the session list.
use super::page::PageRequest;
use super::{random, AppError, Deps};
use crate::domain::ids::IdKind;
use crate::domain::session::ACCESS_TOKEN_SECONDS;
use crate::domain::time::{rfc3339, DAY};
use crate::domain::token::{self, Secret};
use crate::stmt;
use crate::store::sql;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Refresh tokens, and so sessions, end 30 days after sign-in, rotation or not.
pub const SESSION_SECONDS: i64 = 30 * DAY;

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
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
}

/// A user row.
#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// argon2id PHC string, if the account has a password.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// When the email was verified.
    pub email_verified_at: Option<i64>,
    /// Consecutive failed logins.
    #[serde(default)]
    pub failed_logins: i64,
    /// Back-off end.
    #[serde(default)]
    pub locked_until: Option<i64>,
    /// 2FA flag (0/1).
    pub totp_enabled: i64,
    /// Creation time.
    pub created_at: i64,
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
        }
    }
}

/// A new session handed to the client.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionIssued {
    /// EdDSA JWT, 15 minutes.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use; rotate with `POST /v1/auth/token`.
    pub refresh_token: String,
    /// The signed-in user.
    pub user: UserView,
}

/// Who is calling, resolved from the `Authorization` header.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person with a live session.
    User(UserPrincipal),
    /// An API key, acting in its org with its scopes.
    ApiKey(super::api_keys::KeyPrincipal),
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct UserPrincipal {
    /// The user.
    pub user: UserRow,
    /// The session the access token names.
    pub session_id: String,
}

impl Principal {
    /// The signed-in person; API keys get 403 on routes for people.
    pub fn user(&self) -> Result<&UserPrincipal, AppError> {
        match self {
            Principal::User(u) => Ok(u),
            Principal::ApiKey(_) => Err(AppError::UserRequired),
        }
    }

    /// Who to record in the audit log.
    pub fn actor(&self) -> super::audit::Actor {
        match self {
            Principal::User(u) => super::audit::Actor::user(&u.user.id),
            Principal::ApiKey(k) => k.actor(),
        }
    }
}

/// Opens a session for `user` and issues its first token pair.
pub async fn create_session(deps: &Deps, user: UserRow, user_agent: Option<&str>) -> Result<SessionIssued, AppError> {
    let now = deps.now();
    let session_id = deps.new_id(IdKind::Session)?;
    let refresh = Secret::random(random(deps.rng.as_ref())?);
    let ua: Option<String> = user_agent.map(|u| u.chars().take(200).collect());
    deps.db
        .batch(vec![
            stmt!(sql::INSERT_SESSION, &session_id, &user.id, now, now + SESSION_SECONDS, ua),
            stmt!(sql::INSERT_REFRESH_TOKEN, refresh.digest(), &session_id, now),
        ])
        .await?;
    issue(deps, user, &session_id, refresh)
}

fn issue(deps: &Deps, user: UserRow, session_id: &str, refresh: Secret) -> Result<SessionIssued, AppError> {
    let access_token =
        deps.config.keys.issue(&user.id, session_id, deps.now()).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(SessionIssued {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token: refresh.expose().to_owned(),
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
    #[derive(Deserialize)]
    struct Consumed {
        session_id: String,
    }
    let consumed: Option<Consumed> = deps.db.run(stmt!(sql::CONSUME_REFRESH_TOKEN, now, &digest)).await?.first()?;
    let Some(Consumed { session_id }) = consumed else {
        #[derive(Deserialize)]
        struct Known {
            session_id: String,
            used_at: Option<i64>,
        }
        let known: Option<Known> = deps.db.run(stmt!(sql::REFRESH_TOKEN_SESSION, &digest)).await?.first()?;
        if let Some(Known { session_id, used_at: Some(_) }) = known {
            deps.db.run(stmt!(sql::REVOKE_SESSION, &session_id, now)).await?;
        }
        return Err(AppError::InvalidRefreshToken);
    };
    let next = Secret::random(random(deps.rng.as_ref())?);
    let mut outs = deps
        .db
        .batch(vec![
            stmt!(sql::INSERT_REFRESH_TOKEN, next.digest(), &session_id, now),
            stmt!(sql::TOUCH_SESSION, &session_id, now),
            stmt!(sql::USER_OF_SESSION, &session_id),
        ])
        .await?;
    let user: UserRow = outs.pop().unwrap_or_default().first()?.ok_or(AppError::InvalidRefreshToken)?;
    issue(deps, user, &session_id, next)
}

/// Resolves a bearer credential: an `lk_` API key, or an access token whose
/// signature and claims verify and whose session is live (one query either way).
pub async fn authenticate(deps: &Deps, bearer: &str) -> Result<Principal, AppError> {
    Ok(authenticate_with(deps, bearer, None).await?.0)
}

/// Who a statement riding along with authentication is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The user id from a verified access token.
    User(&'a str),
    /// The SHA-256 of a well-formed API key.
    KeyDigest(&'a str),
}

/// Builds a statement to run in the same batch as the credential check.
pub type RideAlong<'a> = &'a dyn Fn(Subject<'_>) -> Option<crate::store::Stmt>;

/// [`authenticate`], with one more statement in the same round trip (a D1
/// batch), built from the verified subject; returns its outcome too. This is
/// how `POST /v1/authorize` answers in one round trip.
pub async fn authenticate_with(
    deps: &Deps,
    bearer: &str,
    extra: Option<RideAlong<'_>>,
) -> Result<(Principal, Option<crate::store::Outcome>), AppError> {
    if bearer.starts_with(crate::domain::api_key::PREFIX) {
        let key_extra = extra.map(|f| move |digest: &str| f(Subject::KeyDigest(digest)));
        let (key, out) = super::api_keys::authenticate_with(
            deps,
            bearer,
            key_extra.as_ref().map(|f| f as super::api_keys::RideAlong<'_>),
        )
        .await?;
        return Ok((Principal::ApiKey(key), out));
    }
    let now = deps.now();
    let claims = deps.config.keys.verify(bearer, now).map_err(|_| AppError::Unauthenticated)?;
    let check = stmt!(sql::LIVE_SESSION_USER, &claims.sid, &claims.sub, now);
    let (user, out): (Option<UserRow>, _) = match extra.and_then(|f| f(Subject::User(&claims.sub))) {
        None => (deps.db.run(check).await?.first()?, None),
        Some(more) => {
            let mut outs = deps.db.batch(vec![check, more]).await?.into_iter();
            (outs.next().unwrap_or_default().first()?, outs.next())
        }
    };
    let user = user.ok_or(AppError::Unauthenticated)?;
    Ok((Principal::User(UserPrincipal { user, session_id: claims.sid }), out))
}

/// Ends the caller's session: its access and refresh tokens stop working at once.
pub async fn logout(deps: &Deps, who: &UserPrincipal) -> Result<(), AppError> {
    deps.db.run(stmt!(sql::REVOKE_SESSION, &who.session_id, deps.now())).await?;
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
}

/// Lists my live sessions, newest first.
pub async fn list_sessions(
    deps: &Deps,
    who: &UserPrincipal,
    page: &PageRequest,
) -> Result<(Vec<SessionView>, Option<String>), AppError> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        created_at: i64,
        last_used_at: i64,
        expires_at: i64,
        user_agent: Option<String>,
    }
    let (k, id, limit) = page.sql_params();
    let rows: Vec<Row> =
        deps.db.run(stmt!(sql::LIST_SESSIONS, &who.user.id, deps.now(), k, id, limit)).await?.decode()?;
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
        })
        .collect();
    Ok((views, next))
}

/// Revokes one of my sessions; someone else's, or an ended one, is 404.
pub async fn revoke_session(deps: &Deps, who: &UserPrincipal, session_id: &str) -> Result<(), AppError> {
    let out = deps.db.run(stmt!(sql::REVOKE_OWN_SESSION, session_id, &who.user.id, deps.now())).await?;
    if out.changes == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
