//! Sign-in with GitHub, Google and GitLab: the authorization-code flow with
//! PKCE, the browser-bound `state`, the provider calls (behind
//! [`HttpClient`]), resolving an identity to an account, the single-use login
//! code, and linking and unlinking from settings.
//!
//! Resolution rules (SECURITY.md, "OAuth"): a linked identity signs in as its
//! user; otherwise only a provider-*verified* address links, to the verified
//! account holding it, or claims the unverified one (its pending password,
//! links, second factor and sessions are wiped first: pre-account takeover);
//! a verified address nobody holds makes a new account. An unverified or
//! missing provider address never links and never makes an account. The
//! login code leads to a session or, with 2FA on, to the same second step as
//! a password login.
use super::access::Credential;
use super::accounts::LoginOutcome;
use super::audit::{Actor, AuditEventView, Event};
use super::auth::UserPrincipal;
use super::messages::Job;
use super::page::PageRequest;
use super::sessions::create_session_after;
use super::{log_error, random, AppError, Deps, ErrorCode};
use crate::domain::ids::IdKind;
use crate::domain::name::DisplayName;
use crate::domain::oauth::{self, FlowSecrets, Provider, ProviderError, ProviderIdentity, ProviderSettings};
use crate::domain::time::{rfc3339, MINUTE};
use crate::domain::token::{self, Secret};
use crate::stmt;
use crate::store::sql::{
    self, AuditRow, IdentityRow, LinkedProviderRow, LoginCodeRow, OAuthFlowRow, SessionSignedInRow, UserRow,
};
use crate::store::{Batch, DbError, Stmt};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An outgoing HTTP request to a provider.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(&'static str, String)>,
    /// Form body, for POST.
    pub body: Option<String>,
}

/// A provider's answer (redirects are answers too: they are never followed).
#[derive(Debug, Clone)]
pub struct OutgoingResponse {
    /// Status code.
    pub status: u16,
    /// Body, cut at [`MAX_RESPONSE_BYTES`].
    pub body: Vec<u8>,
}

/// Outgoing HTTP. Implementations never follow redirects and give up after
/// [`FETCH_TIMEOUT_MS`] (workerd's `fetch` with `redirect: "manual"` and an
/// abort signal in the Worker; a blocking client in native tests).
#[async_trait(?Send)]
pub trait HttpClient {
    /// Sends `req`; `Err` for transport failures and timeouts.
    async fn send(&self, req: OutgoingRequest) -> Result<OutgoingResponse, String>;
}

/// Refuses every call (for deployments and tests without OAuth).
pub struct NoHttp;

#[async_trait(?Send)]
impl HttpClient for NoHttp {
    async fn send(&self, _req: OutgoingRequest) -> Result<OutgoingResponse, String> {
        Err("outgoing HTTP is not available".into())
    }
}

/// How long a provider call may take.
pub const FETCH_TIMEOUT_MS: u32 = 10_000;
/// Larger provider answers are cut (and then fail to parse).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// GitHub's API refuses calls without a `User-Agent`.
pub const USER_AGENT: &str = "Latchkey (+https://github.com/latchkey)";
/// Linking from settings needs a sign-in this recent.
pub const RECENT_SIGN_IN_SECONDS: i64 = 10 * MINUTE;

fn provider_not_found() -> AppError {
    AppError::refused(ErrorCode::ProviderNotFound, "no such sign-in provider is configured")
}

fn invalid_state() -> AppError {
    AppError::refused(
        ErrorCode::InvalidState,
        "this sign-in attempt is unknown, was already used, expired, or was started in another browser; start again",
    )
}

fn identity_in_use() -> AppError {
    AppError::refused(ErrorCode::IdentityInUse, "this provider account is already linked to another Latchkey account")
}

/// The configured provider named by a path segment, or 404 `provider_not_found`.
pub fn provider_settings<'a>(deps: &'a Deps, raw: &str) -> Result<&'a ProviderSettings, AppError> {
    Provider::parse(raw).and_then(|p| deps.config.oauth.provider(p)).ok_or_else(provider_not_found)
}

/// Our callback for `provider`: one path per provider (RFC 9700 §4.4 mix-up defence).
pub fn callback_url(deps: &Deps, provider: Provider) -> String {
    format!("{}/v1/auth/oauth/{}/callback", deps.config.app_url, provider.as_str())
}

/// Whether the service is served over https (the cookie is then `__Host-` and Secure).
pub fn secure(deps: &Deps) -> bool {
    deps.config.https()
}

/// A configured provider, as the pages show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderView {
    /// `github`, `google` or `gitlab`.
    pub provider: &'static str,
    /// `GitHub`, `Google`, `GitLab`.
    pub name: &'static str,
}

/// The configured providers.
pub fn list_providers(deps: &Deps) -> Vec<ProviderView> {
    deps.config
        .oauth
        .providers
        .iter()
        .map(|p| ProviderView { provider: p.provider.as_str(), name: p.provider.display_name() })
        .collect()
}

/// A started flow: where to send the browser, and the cookie binding it.
#[derive(Debug, Clone)]
pub struct Started {
    /// The provider's authorization URL.
    pub authorize_url: String,
    /// `Set-Cookie` value.
    pub cookie: String,
    /// A second `Set-Cookie` value (a SAML flow's cross-site cookie).
    pub extra_cookie: Option<String>,
}

/// Starts a flow: checks `redirect_uri` against the allow-list (exactly),
/// stores the digests of a fresh `state` and of a fresh browser secret (the
/// cookie), and builds the provider URL with PKCE S256 (and `nonce` for OIDC).
pub async fn start(
    deps: &Deps,
    raw_provider: &str,
    redirect_uri: Option<&str>,
    link_user_id: Option<&str>,
) -> Result<Started, AppError> {
    let settings = provider_settings(deps, raw_provider)?;
    let redirect_uri = redirect_uri.unwrap_or_default();
    if !deps.config.oauth.allows_redirect(redirect_uri) {
        return Err(AppError::refused(ErrorCode::InvalidRedirectUri, "redirect_uri is not on the allow-list"));
    }
    let now = deps.now();
    let state = Secret::random(random(deps.rng.as_ref())?);
    let browser = Secret::random(random(deps.rng.as_ref())?);
    deps.db
        .batch(vec![
            stmt!(sql::FORGET_OAUTH_STATES, now),
            stmt!(sql::FORGET_LOGIN_CODES, now),
            stmt!(
                sql::INSERT_OAUTH_STATE,
                state.digest(),
                browser.digest(),
                settings.provider.as_str(),
                redirect_uri,
                link_user_id,
                now,
                now + oauth::FLOW_SECONDS
            ),
        ])
        .await?;
    let flow = FlowSecrets::derive(&deps.config.token_secret, state.expose(), browser.expose());
    Ok(Started {
        authorize_url: oauth::authorize_url(settings, &callback_url(deps, settings.provider), state.expose(), &flow),
        cookie: oauth::flow_cookie(browser.expose(), secure(deps)),
        extra_cookie: None,
    })
}

/// What the provider's redirect back carried.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `error` (e.g. `access_denied`).
    pub error: Option<String>,
}

/// Finishes the provider's side: consumes the flow (this browser's, this
/// provider's, once), exchanges the code with the PKCE verifier, learns who
/// signed in, and returns where to send the browser: the allowed
/// `redirect_uri` with `#login_code=…`, or with `#error=…` when the provider
/// refused. A bad, replayed or foreign `state`, or a missing cookie, is 400
/// `invalid_state` (no redirect: the redirect URI is unknown then).
pub async fn callback(
    deps: &Deps,
    raw_provider: &str,
    params: &CallbackParams,
    cookie: Option<&str>,
) -> Result<String, AppError> {
    let settings = provider_settings(deps, raw_provider)?;
    let (Some(state), Some(browser)) = (params.state.as_deref(), cookie) else {
        return Err(invalid_state());
    };
    if !token::plausible(state) || !token::plausible(browser) {
        return Err(invalid_state());
    }
    let now = deps.now();
    let flow: Option<OAuthFlowRow> = deps
        .db
        .run(stmt!(
            sql::CONSUME_OAUTH_STATE,
            Secret::from_client(state).digest(),
            Secret::from_client(browser).digest(),
            settings.provider.as_str(),
            now
        ))
        .await?
        .first()?;
    let flow = flow.ok_or_else(invalid_state)?;
    let fail = |code: &str| format!("{}#error={code}", flow.redirect_uri);
    if let Some(error) = &params.error {
        // The person declined, or the provider refused the request.
        let code = if error == "access_denied" { "access_denied" } else { "provider_error" };
        return Ok(fail(code));
    }
    let Some(code) = params.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Ok(fail("provider_error"));
    };
    let secrets = FlowSecrets::derive(&deps.config.token_secret, state, browser);
    let identity = match fetch_identity(deps, settings, code, &secrets).await {
        Ok(identity) => identity,
        Err(e) => {
            log_error(&format!("oauth {}: {e}", settings.provider.as_str()));
            return Ok(fail("provider_error"));
        }
    };
    let signed_in = SignedIn {
        provider: identity.provider.as_str(),
        issuer: &identity.issuer,
        subject: &identity.subject,
        email: identity.email.as_deref(),
        email_verified: identity.email_verified,
        name: identity.name.clone(),
        link_user_id: flow.link_user_id,
    };
    let (insert, to) = login_code(deps, &flow.redirect_uri, signed_in, browser, now)?;
    deps.db.run(insert).await?;
    Ok(to)
}

/// Who signed in, as a login code records it: a provider's identity, or an
/// SSO connection's (`app::sso`).
pub(super) struct SignedIn<'a> {
    /// `github`, `google`, `gitlab`, or SSO's provider name.
    pub provider: &'a str,
    /// The provider's issuer, or the SSO connection's id.
    pub issuer: &'a str,
    /// The provider's stable user id.
    pub subject: &'a str,
    /// The address it gave.
    pub email: Option<&'a str>,
    /// Whether that address is verified by the provider.
    pub email_verified: bool,
    /// A display name, if any.
    pub name: Option<String>,
    /// The account to link to (linking from settings).
    pub link_user_id: Option<String>,
}

/// A single-use login code for `who`, good for 60 seconds in the browser
/// that ran the flow: the statement that stores it (for the caller to run,
/// alone or in its batch) and the `redirect_uri` that carries it.
pub(super) fn login_code(
    deps: &Deps,
    redirect_uri: &str,
    who: SignedIn<'_>,
    browser: &str,
    now: i64,
) -> Result<(Stmt, String), AppError> {
    let code = Secret::random(random(deps.rng.as_ref())?);
    let insert = stmt!(
        sql::INSERT_LOGIN_CODE,
        code.digest(),
        who.provider,
        who.issuer,
        who.subject,
        who.email,
        who.email_verified,
        who.name,
        who.link_user_id,
        now,
        now + oauth::LOGIN_CODE_SECONDS,
        Secret::from_client(browser).digest()
    );
    Ok((insert, format!("{redirect_uri}#login_code={}", code.expose())))
}

async fn call(deps: &Deps, req: OutgoingRequest) -> Result<OutgoingResponse, ProviderError> {
    let url = req.url.clone();
    let response = deps.http.send(req).await.map_err(ProviderError::Unreachable)?;
    if (300..400).contains(&response.status) {
        return Err(ProviderError::Unreachable(format!(
            "{url} answered a redirect ({}); not followed",
            response.status
        )));
    }
    Ok(response)
}

/// The verified holder of an address (by a provider, an SSO connection or
/// an org's SCIM directory) claims the unverified account on it: whatever a
/// stranger's pending sign-up left (password, links, sessions, second
/// factor) goes, and the claim is in the account's own audit log
/// (`account.claimed`, with `why`). Guarded: the batch fails if the account
/// got verified meanwhile.
pub(super) fn claim_unverified_account(
    deps: &Deps,
    user_id: &str,
    name: Option<String>,
    now: i64,
    why: serde_json::Value,
) -> Result<Vec<Stmt>, AppError> {
    Ok(vec![
        stmt!(sql::CLAIM_UNVERIFIED_ACCOUNT, user_id, now, name),
        stmt!(sql::GUARD_CHANGED),
        stmt!(sql::END_EMAIL_TOKENS, user_id, now),
        stmt!(sql::REVOKE_ALL_SESSIONS, user_id, now),
        stmt!(sql::END_MFA_TOKENS_OF_USER, user_id, now),
        stmt!(sql::DELETE_RECOVERY_CODES, user_id),
        stmt!(sql::DELETE_TOTP, user_id),
        user_event(user_id, "account.claimed", why).stmt(deps)?,
    ])
}

/// The code exchange at a token endpoint (a provider's, or an SSO
/// connection's): a form POST that wants JSON back.
pub(super) fn token_exchange(url: String, form: String) -> OutgoingRequest {
    OutgoingRequest {
        method: "POST",
        url,
        headers: vec![
            ("accept", "application/json".into()),
            ("content-type", "application/x-www-form-urlencoded".into()),
            ("user-agent", USER_AGENT.into()),
        ],
        body: Some(form),
    }
}

fn get_json(url: String, access_token: &Secret) -> OutgoingRequest {
    OutgoingRequest {
        method: "GET",
        url,
        headers: vec![
            ("accept", "application/json".into()),
            ("authorization", format!("Bearer {}", access_token.expose())),
            ("user-agent", USER_AGENT.into()),
        ],
        body: None,
    }
}

fn ok_body(response: OutgoingResponse, what: &str) -> Result<Vec<u8>, ProviderError> {
    if (200..300).contains(&response.status) {
        Ok(response.body)
    } else {
        Err(ProviderError::Refused(format!("{what} answered HTTP {}", response.status)))
    }
}

/// The provider calls: the code exchange, then GitHub's `/user` and
/// `/user/emails`, Google's ID token, or GitLab's ID token and userinfo.
/// The access token is used here and dropped: nothing stores it.
async fn fetch_identity(
    deps: &Deps,
    settings: &ProviderSettings,
    code: &str,
    secrets: &FlowSecrets,
) -> Result<ProviderIdentity, ProviderError> {
    let callback = callback_url(deps, settings.provider);
    let body = oauth::token_request_body(settings, code, &callback, secrets.verifier.expose());
    let exchange = token_exchange(settings.token_url.clone(), body);
    let answer = call(deps, exchange).await?;
    let tokens = oauth::parse_token_answer(answer.status, &answer.body)?;
    match settings.provider {
        Provider::GitHub => {
            let user = call(deps, get_json(format!("{}/user", settings.api_url), &tokens.access_token)).await?;
            let user = ok_body(user, "GitHub /user")?;
            let emails =
                call(deps, get_json(format!("{}/user/emails", settings.api_url), &tokens.access_token)).await?;
            let emails = ok_body(emails, "GitHub /user/emails")?;
            oauth::github_identity(settings, &user, &emails)
        }
        Provider::Google => {
            let raw = tokens.id_token.ok_or_else(|| ProviderError::Malformed("no id_token".into()))?;
            let claims = oauth::check_id_token(&raw, settings, secrets.nonce.expose(), deps.now())?;
            Ok(oauth::oidc_identity(settings, claims))
        }
        Provider::GitLab => {
            let raw = tokens.id_token.ok_or_else(|| ProviderError::Malformed("no id_token".into()))?;
            let claims = oauth::check_id_token(&raw, settings, secrets.nonce.expose(), deps.now())?;
            let info = call(deps, get_json(settings.api_url.clone(), &tokens.access_token)).await?;
            oauth::gitlab_identity(settings, claims, &ok_body(info, "GitLab userinfo")?)
        }
    }
}

/// A linked provider, as `GET /v1/me/identities` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentityView {
    /// `github`, `google` or `gitlab`.
    pub provider: String,
    /// The provider's issuer (the GitLab instance, for GitLab).
    pub issuer: String,
    /// The address the provider last gave, if any.
    pub email: Option<String>,
    /// RFC 3339.
    pub linked_at: String,
    /// RFC 3339, last sign-in through it.
    pub last_used_at: Option<String>,
}

/// What a login code leads to.
#[derive(Debug)]
pub enum Completed {
    /// A sign-in: a session, or the second step.
    Login(LoginOutcome),
    /// A link from settings.
    Linked(IdentityView),
}

fn code_identity(row: &LoginCodeRow) -> Result<ProviderIdentity, AppError> {
    Ok(ProviderIdentity {
        provider: Provider::parse(&row.provider)
            .ok_or_else(|| AppError::internal(format!("login code for provider {}", row.provider)))?,
        issuer: row.issuer.clone(),
        subject: row.subject.clone(),
        email: row.email.clone(),
        email_verified: row.email_verified != 0,
        name: row.name.clone(),
    })
}

/// The digests that find a login code: the code's and its browser's (the
/// flow cookie). No cookie, or an implausible value, finds nothing.
fn code_keys(raw_code: &str, browser: Option<&str>) -> Result<(String, String), AppError> {
    match browser {
        Some(browser) if token::plausible(raw_code) && token::plausible(browser) => {
            Ok((Secret::from_client(raw_code).digest(), Secret::from_client(browser).digest()))
        }
        _ => Err(AppError::InvalidToken),
    }
}

/// What a login code would do, as a page asks before redeeming it while
/// someone is signed in (login CSRF): sign in (to which account) or link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginCodeView {
    /// `sign_in` or `link`.
    pub kind: &'static str,
    /// `github`, `google`, `gitlab` or `sso`.
    pub provider: &'static str,
    /// The account it signs in to: the linked account's address, else the
    /// address the provider gave (the account it would make or link), if any.
    pub account_email: Option<String>,
}

/// Reads a live login code of this browser without spending it.
pub async fn inspect(deps: &Deps, raw_code: &str, browser: Option<&str>) -> Result<LoginCodeView, AppError> {
    let (code, browser) = code_keys(raw_code, browser)?;
    let row: Option<LoginCodeRow> =
        deps.db.run(stmt!(sql::PEEK_LOGIN_CODE, code, deps.now(), browser)).await?.first()?;
    let row = row.ok_or(AppError::InvalidToken)?;
    if super::sso::is_sso_code(&row) {
        return Ok(LoginCodeView { kind: "sign_in", provider: "sso", account_email: row.email });
    }
    let identity = code_identity(&row)?;
    let known: Option<UserRow> = deps
        .db
        .run(stmt!(sql::USER_BY_IDENTITY, identity.provider.as_str(), &identity.issuer, &identity.subject))
        .await?
        .first()?;
    Ok(LoginCodeView {
        kind: if row.link_user_id.is_some() { "link" } else { "sign_in" },
        provider: identity.provider.as_str(),
        account_email: known.map(|u| u.email).or(identity.email),
    })
}

/// Exchanges a login code (single use, 60 seconds) in the browser that ran
/// its flow (`browser`, the flow cookie: a code planted in another browser is
/// refused and spends nothing). A sign-in code gives a session or, with 2FA
/// on, `mfa_required`; a link code (from `POST /v1/me/identities/{provider}`)
/// links the identity to the signed-in person who started it and needs that
/// person's session (`who`).
pub async fn complete(
    deps: &Deps,
    raw_code: &str,
    browser: Option<&str>,
    who: Option<&Credential>,
    user_agent: Option<&str>,
) -> Result<Completed, AppError> {
    let (code, browser) = code_keys(raw_code, browser)?;
    let now = deps.now();
    // The code is spent, and the accounts its identity and address name are
    // read, in one batch.
    let mut batch = Batch::new();
    let row = batch.read::<LoginCodeRow>(stmt!(sql::CONSUME_LOGIN_CODE, &code, now, browser));
    let known = batch.read::<UserRow>(stmt!(sql::USER_BY_LOGIN_CODE, &code));
    let holder = batch.read::<UserRow>(stmt!(sql::HOLDER_OF_LOGIN_CODE_EMAIL, &code));
    let sso = batch.read::<sql::SsoConnectionRow>(stmt!(sql::LIVE_SSO_CONNECTION, None::<String>, &code));
    let sso_required = batch.read::<sql::SsoRequirementRow>(stmt!(sql::SSO_REQUIREMENT_OF_LOGIN_CODE, &code));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let row = results.first(row)?.ok_or(AppError::InvalidToken)?;
    if super::sso::is_sso_code(&row) {
        let (holder, conn) = (results.first(holder)?, results.first(sso)?);
        return Ok(Completed::Login(super::sso::finish(deps, &row, conn, holder, user_agent).await?));
    }
    let identity = code_identity(&row)?;
    if let Some(link_user) = &row.link_user_id {
        // A link code only finishes in the session of the person who asked
        // for it (a stale or absent session: refused, the code spent).
        let who = match who {
            Some(c) => c.person(deps).await.ok(),
            None => None,
        };
        let who = who.filter(|w| &w.user.id == link_user).ok_or(AppError::InvalidToken)?;
        return Ok(Completed::Linked(link(deps, &who, &identity).await?));
    }
    // An org that signs in this address through SSO refuses a provider's
    // sign-in (an owner with 2FA keeps a way in).
    super::sso::refusal(results.first(sso_required)?)?;
    let read = Prefetched { known: results.first(known)?, holder: results.first(holder)? };
    let (user, event) = resolve(deps, &identity, Some(read)).await?;
    if user.suspended_at.is_some() {
        return Err(super::access::suspended());
    }
    if matches!(event, "linked" | "claimed") {
        // An existing account gained a way in: tell its owner.
        notify_linked(deps, &user.id, identity.provider).await?;
    }
    let method = format!("oauth:{}", identity.provider.as_str());
    let mut writes = vec![stmt!(
        sql::TOUCH_IDENTITY,
        identity.provider.as_str(),
        &identity.issuer,
        &identity.subject,
        now,
        identity.email.clone()
    )];
    let mfa_required = user.totp_enabled != 0;
    writes.push(
        user_event(&user.id,
            "oauth.signed_in",
            serde_json::json!({ "provider": identity.provider.as_str(), "mfa_required": mfa_required, "account": event }),
        )
        .stmt(deps)?,
    );
    // OAuth never bypasses the second factor: the same step as a password
    // login. The identity's touch and the event travel with it.
    if mfa_required {
        let mfa_token = super::totp::issue_mfa_token_after(deps, writes, &user, user_agent, &method).await?;
        return Ok(Completed::Login(LoginOutcome::MfaRequired { mfa_token }));
    }
    let session = create_session_after(deps, writes, user, user_agent, &method).await?;
    Ok(Completed::Login(LoginOutcome::Session(Box::new(session))))
}

/// An event of a person's own security log (an audit row about the user,
/// outside any org or workspace).
fn user_event<'a>(user_id: &'a str, action: &'static str, data: serde_json::Value) -> UserEvent<'a> {
    UserEvent { user_id, action, data }
}

struct UserEvent<'a> {
    user_id: &'a str,
    action: &'static str,
    data: serde_json::Value,
}

impl UserEvent<'_> {
    /// Builds the audit event (about the user, outside any tenant) and hands it to `write`.
    fn with_event<R>(&self, write: impl FnOnce(&Event<'_>) -> R) -> R {
        let actor = Actor::user(self.user_id);
        write(&Event {
            org_id: None,
            workspace_id: None,
            actor: &actor,
            action: self.action,
            target_kind: "user",
            target_id: self.user_id,
            data: self.data.clone(),
        })
    }

    fn stmt(&self, deps: &Deps) -> Result<Stmt, AppError> {
        self.with_event(|e| e.stmt(deps))
    }

    fn stmt_if_changed(&self, deps: &Deps) -> Result<Stmt, AppError> {
        self.with_event(|e| e.stmt_if_changed(deps))
    }
}

fn provider_email_unverified() -> AppError {
    AppError::refused(
        ErrorCode::ProviderEmailUnverified,
        "the provider did not give an address it has verified: verify it there, or sign in (or sign up) with email and link the provider from settings",
    )
}

/// Finds or makes the account an identity signs in to (see the module
/// comment). Returns the user and what happened (`existing`, `linked`,
/// `claimed`, `created`).
async fn resolve(
    deps: &Deps,
    id: &ProviderIdentity,
    mut read: Option<Prefetched>,
) -> Result<(UserRow, &'static str), AppError> {
    // A claim can lose a race with a verification; the second pass links instead.
    for _ in 0..2 {
        let first = read.take();
        let known: Option<UserRow> = match &first {
            Some(r) => r.known.clone(),
            None => deps
                .db
                .run(stmt!(sql::USER_BY_IDENTITY, id.provider.as_str(), &id.issuer, &id.subject))
                .await?
                .first()?,
        };
        if let Some(user) = known {
            return Ok((user, "existing"));
        }
        // One answer whether or not an account holds the address: a refusal
        // must not tell a provider-account holder who has an account here.
        let email = match (&id.email, id.email_verified) {
            (Some(email), true) => email,
            _ => return Err(provider_email_unverified()),
        };
        let holder: Option<UserRow> = match first {
            Some(r) => r.holder,
            None => deps.db.run(stmt!(sql::USER_BY_EMAIL, email)).await?.first()?,
        };
        let now = deps.now();
        let insert_identity = |user_id: &str, sql: &'static str| {
            stmt!(sql, id.provider.as_str(), &id.issuer, &id.subject, user_id, email, now)
        };
        let linked = |user_id: &str, how: &str| -> Result<Stmt, AppError> {
            let data = serde_json::json!({ "provider": id.provider.as_str(), "issuer": id.issuer, "via": how });
            user_event(user_id, "identity.linked", data).stmt(deps)
        };
        let (stmts, user_id, outcome) = match holder {
            Some(user) if user.email_verified_at.is_some() => (
                vec![
                    insert_identity(&user.id, sql::INSERT_IDENTITY_FOR_VERIFIED),
                    stmt!(sql::GUARD_CHANGED),
                    linked(&user.id, "verified_email")?,
                ],
                user.id,
                "linked",
            ),
            Some(user) => {
                // The provider-verified owner of the address claims the account:
                // whatever a stranger's pending sign-up left (password, links,
                // sessions, second factor) goes before the identity is linked.
                let why = serde_json::json!({ "provider": id.provider.as_str(), "reason": "provider_verified_email" });
                let mut stmts = claim_unverified_account(deps, &user.id, valid_name(id), now, why)?;
                stmts.extend([
                    insert_identity(&user.id, sql::INSERT_IDENTITY),
                    linked(&user.id, "claimed_unverified_account")?,
                ]);
                (stmts, user.id, "claimed")
            }
            None => {
                let user_id = deps.new_id(IdKind::User)?;
                let name = valid_name(id).unwrap_or_else(|| email.split('@').next().unwrap_or("").to_owned());
                (
                    vec![
                        stmt!(sql::INSERT_OAUTH_USER, &user_id, email, name, now),
                        insert_identity(&user_id, sql::INSERT_IDENTITY),
                        linked(&user_id, "new_account")?,
                    ],
                    user_id,
                    "created",
                )
            }
        };
        let mut batch = Batch::new();
        for stmt in stmts {
            batch.add(stmt);
        }
        let user = batch.read::<UserRow>(stmt!(sql::USER_BY_ID, &user_id));
        match batch.run(deps.db.as_ref()).await {
            Ok(mut results) => {
                let user = results.first(user)?.ok_or(AppError::InvalidToken)?;
                return Ok((user, outcome));
            }
            // Lost a race (the account got verified, or the same identity or
            // address was just taken): look again.
            Err(DbError::Guard(_)) | Err(DbError::Unique(_)) => {
                let again: Option<UserRow> = deps
                    .db
                    .run(stmt!(sql::USER_BY_IDENTITY, id.provider.as_str(), &id.issuer, &id.subject))
                    .await?
                    .first()?;
                if again.is_none() && outcome == "linked" {
                    // The verified account already has another account of this provider.
                    return Err(AppError::refused(
                        ErrorCode::ProviderAlreadyLinked,
                        "the account with this address already has another account of this provider linked",
                    ));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::refused(ErrorCode::Conflict, "the account changed while signing in; try again"))
}

/// What the batch that spent the login code read: the account its identity
/// signs in as, and the one holding its address.
struct Prefetched {
    known: Option<UserRow>,
    holder: Option<UserRow>,
}

fn valid_name(id: &ProviderIdentity) -> Option<String> {
    id.name.as_deref().and_then(|n| DisplayName::parse("name", n).ok()).map(|n| n.as_str().to_owned())
}

/// Emails the person that `provider` now signs in to their account (the row
/// is written first; a lost email is logged, the link stands).
async fn notify_linked(deps: &Deps, user_id: &str, provider: Provider) -> Result<(), AppError> {
    let job = Job::IdentityLinked {
        job_id: deps.new_id(IdKind::Job)?,
        user_id: user_id.to_owned(),
        provider: provider.as_str().to_owned(),
    };
    deps.enqueue_logged(&job).await;
    Ok(())
}

async fn link(deps: &Deps, who: &UserPrincipal, id: &ProviderIdentity) -> Result<IdentityView, AppError> {
    let known: Option<UserRow> =
        deps.db.run(stmt!(sql::USER_BY_IDENTITY, id.provider.as_str(), &id.issuer, &id.subject)).await?.first()?;
    match known {
        Some(user) if user.id == who.user.id => {}
        Some(_) => return Err(identity_in_use()),
        None => {
            let now = deps.now();
            let event = user_event(
                &who.user.id,
                "identity.linked",
                serde_json::json!({ "provider": id.provider.as_str(), "issuer": id.issuer, "via": "settings" }),
            );
            let result = deps
                .db
                .batch(vec![
                    stmt!(
                        sql::INSERT_IDENTITY,
                        id.provider.as_str(),
                        &id.issuer,
                        &id.subject,
                        &who.user.id,
                        id.email.clone(),
                        now
                    ),
                    event.stmt(deps)?,
                ])
                .await;
            match result {
                Ok(_) => notify_linked(deps, &who.user.id, id.provider).await?,
                Err(DbError::Unique(_)) => {
                    let known: Option<UserRow> = deps
                        .db
                        .run(stmt!(sql::USER_BY_IDENTITY, id.provider.as_str(), &id.issuer, &id.subject))
                        .await?
                        .first()?;
                    return Err(match known {
                        Some(user) if user.id != who.user.id => identity_in_use(),
                        _ => AppError::refused(
                            ErrorCode::ProviderAlreadyLinked,
                            "another account of this provider is linked already; unlink it first",
                        ),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let rows: Vec<IdentityRow> = deps.db.run(stmt!(sql::LIST_IDENTITIES, &who.user.id)).await?.decode()?;
    identity_views(rows)
        .into_iter()
        .find(|v| v.provider == id.provider.as_str())
        .ok_or_else(|| AppError::internal("linked identity not found"))
}

/// Starts linking a provider from settings: needs a session that signed in
/// within the last 10 minutes (403 `reauthentication_required`).
pub async fn begin_link(
    deps: &Deps,
    who: &Credential,
    raw_provider: &str,
    redirect_uri: &str,
) -> Result<Started, AppError> {
    // The sign-in age rides along with the session check.
    let mut batch = Batch::new();
    let age = match who {
        Credential::Session(c) => {
            Some(batch.read::<SessionSignedInRow>(stmt!(sql::SESSION_SIGNED_IN_AT, &c.sid, &c.sub)))
        }
        Credential::Key { .. } | Credential::Scim { .. } => None,
    };
    let (who, mut results) = who.person_with(deps, batch).await?;
    provider_settings(deps, raw_provider)?;
    let signed_in = results.first_if(age)?;
    let recent = signed_in.is_some_and(|s| deps.now() - s.created_at <= RECENT_SIGN_IN_SECONDS);
    if !recent {
        return Err(AppError::refused(
            ErrorCode::ReauthenticationRequired,
            "linking a provider needs a sign-in within the last 10 minutes: sign in again",
        ));
    }
    start(deps, raw_provider, Some(redirect_uri), Some(&who.user.id)).await
}

/// My linked providers.
pub async fn list_identities(deps: &Deps, who: &Credential) -> Result<Vec<IdentityView>, AppError> {
    let mut batch = Batch::new();
    let rows = who.user_id().map(|u| batch.read::<IdentityRow>(stmt!(sql::LIST_IDENTITIES, u)));
    let (_, mut results) = who.person_with(deps, batch).await?;
    let rows = results.all_if(rows)?;
    Ok(identity_views(rows))
}

fn identity_views(rows: Vec<IdentityRow>) -> Vec<IdentityView> {
    rows.into_iter()
        .map(|r| IdentityView {
            provider: r.provider,
            issuer: r.issuer,
            email: r.email,
            linked_at: rfc3339(r.created_at),
            last_used_at: r.last_used_at.map(rfc3339),
        })
        .collect()
}

/// Unlinks a provider, unless it is my last way to sign in (409
/// `last_login_method`: set a password through the reset flow first).
pub async fn unlink(deps: &Deps, who: &Credential, raw_provider: &str) -> Result<(), AppError> {
    let Some(provider) = Provider::parse(raw_provider) else {
        // Credentials first: a stranger learns nothing from a 404.
        who.person(deps).await?;
        return Err(AppError::NotFound);
    };
    let wrote = who
        .person_write(deps, false, |user_id, batch| {
            let audit = user_event(user_id, "identity.unlinked", serde_json::json!({ "provider": provider.as_str() }));
            let deleted = batch.write(stmt!(sql::DELETE_IDENTITY_UNLESS_LAST, user_id, provider.as_str()));
            batch.add(audit.stmt_if_changed(deps)?);
            Ok(deleted)
        })
        .await?;
    let who = wrote.who;
    if wrote.ran?.changed(wrote.handles) == 1 {
        return Ok(());
    }
    let linked: Option<LinkedProviderRow> =
        deps.db.run(stmt!(sql::IDENTITY_OF_USER, &who.user.id, provider.as_str())).await?.first()?;
    if linked.is_none() {
        return Err(AppError::NotFound);
    }
    Err(AppError::refused(
        ErrorCode::LastLoginMethod,
        "this is your only way to sign in: set a password (through a password reset) or link another provider first",
    ))
}

/// My security log: provider sign-ins, links, unlinks and claims, newest first.
pub async fn list_user_events(
    deps: &Deps,
    who: &Credential,
    page: &PageRequest,
) -> Result<(Vec<AuditEventView>, Option<String>), AppError> {
    let after = page.after.as_ref().map(|(k, _)| *k);
    let mut batch = Batch::new();
    let rows = who.user_id().map(|u| batch.read::<AuditRow>(stmt!(sql::LIST_USER_AUDIT, u, after, page.limit + 1)));
    let (_, mut results) = who.person_with(deps, batch).await?;
    let rows = results.all_if(rows)?;
    let (rows, next) = page.finish(rows, |r| (r.seq, String::new()));
    Ok((rows.into_iter().map(super::audit::event_view).collect(), next))
}
