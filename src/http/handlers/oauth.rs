//! Sign-in with GitHub, Google and GitLab, and linked identities.
use super::Problem;
use crate::app::access::Credential;
use crate::app::audit::AuditEventView;
use crate::app::oauth::{self, CallbackParams, Completed, IdentityView, LoginCodeView, ProviderView};
use crate::app::sessions::SessionIssued;
use crate::app::Deps;
use crate::domain::oauth::flow_cookie_jar;
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The configured providers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    /// Providers with a client id and secret, in display order.
    pub data: Vec<ProviderView>,
}

/// `GET /v1/auth/oauth/providers`.
#[utoipa::path(get, path = "/v1/auth/oauth/providers", summary = "List the sign-in providers", operation_id = "oauth_providers", tag = "oauth",
    responses((status = 200, body = ProviderList, description = "The providers this deployment is configured for (pages show a button for each)")))]
pub async fn list_providers(deps: &Deps, _: &Request) -> Answer {
    Ok(Response::json(200, &ProviderList { data: oauth::list_providers(deps) }))
}

fn redirect(location: &str) -> Response {
    Response::empty(302).with_header("location", location).with_header("referrer-policy", "no-referrer")
}

/// `GET /v1/auth/oauth/{provider}/authorize?redirect_uri=`.
#[utoipa::path(get, path = "/v1/auth/oauth/{provider}/authorize", summary = "Start a sign-in with a provider", operation_id = "oauth_authorize", tag = "oauth",
    params(("provider" = crate::domain::oauth::Provider, Path, description = "`github`, `google` or `gitlab`"),
           ("redirect_uri" = String, Query, description = "Where the browser returns with `#login_code=`: exactly one of OAUTH_REDIRECT_URIS or the console's own screens `{APP_URL}/signin`, `{APP_URL}/settings/security`, `{APP_URL}/invite`, `{APP_URL}/install`")),
    responses((status = 302, description = "To the provider, with `state`, PKCE S256 and (OIDC) `nonce`; sets the HttpOnly, SameSite=Lax flow cookie (`__Host-latchkey_oauth`, Secure, over https) that binds `state` to this browser for 10 minutes"),
              (status = 400, body = Problem, description = "invalid_redirect_uri: not on the allow-list (exact match)"),
              (status = 404, body = Problem, description = "provider_not_found: unknown or unconfigured provider")))]
pub async fn authorize(deps: &Deps, req: &Request, provider: &str) -> Answer {
    let redirect_uri = req.query_param("redirect_uri");
    let started = oauth::start(deps, provider, redirect_uri.as_deref(), None).await?;
    Ok(redirect(&started.authorize_url).with_header("set-cookie", started.cookie))
}

/// `GET /v1/auth/oauth/{provider}/callback?code=&state=`.
#[utoipa::path(get, path = "/v1/auth/oauth/{provider}/callback", summary = "Receive a provider's sign-in callback", operation_id = "oauth_callback", tag = "oauth",
    params(("provider" = crate::domain::oauth::Provider, Path, description = "`github`, `google` or `gitlab`: one callback path per provider"),
           ("code" = Option<String>, Query), ("state" = String, Query), ("error" = Option<String>, Query)),
    responses((status = 302, description = "To the flow's redirect_uri with `#login_code=…` (single use, 60 s), or `#error=access_denied|provider_error`. The flow cookie stays until POST /v1/auth/oauth/complete, which redeems the code only with it. Provider calls never follow redirects and time out after 10 s; no provider token is stored"),
              (status = 400, body = Problem, description = "invalid_state: unknown, replayed, expired or foreign state, or no flow cookie from this browser"),
              (status = 404, body = Problem, description = "provider_not_found")))]
pub async fn callback(deps: &Deps, req: &Request, provider: &str) -> Answer {
    let params = CallbackParams {
        code: req.query_param("code"),
        state: req.query_param("state"),
        error: req.query_param("error"),
    };
    let jar = flow_cookie_jar(oauth::secure(deps));
    let location = oauth::callback(deps, provider, &params, extract::cookie(req, &jar)).await?;
    // The flow cookie stays: the login code is redeemed only with it (complete clears it).
    Ok(redirect(&location))
}

/// The login code from the callback's fragment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// From `#login_code=…`.
    pub login_code: String,
}

/// What a link code finished.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedBody {
    /// The identity now linked.
    pub linked: IdentityView,
}

/// `POST /v1/auth/oauth/complete`.
#[utoipa::path(post, path = "/v1/auth/oauth/complete", summary = "Complete a sign-in with a provider or SSO", operation_id = "oauth_complete", tag = "oauth", request_body = CompleteBody,
    responses((status = 200, body = SessionIssued, description = "A session, or `{mfa_required: true, mfa_token}` when 2FA is on (finish with POST /v1/auth/login/mfa). For a code from POST /v1/me/identities/{provider} (sent with that person's bearer token): `{linked}`. Only the browser that ran the flow can redeem its code: the flow cookie must come along, and this answer clears it"),
              (status = 400, body = Problem, description = "invalid_token: unknown, used or expired (60 s) login code, a code sent without the flow cookie of the browser that ran its flow (a code planted in another browser is refused and stays unspent), or a link code without its person's session"),
              (status = 403, body = Problem, description = "provider_email_unverified: the provider gave no address it has verified, so no account is made or linked; sso_required: the address's org signs it in through single sign-on"),
              (status = 409, body = Problem, description = "email_taken: an account holds the (provider-unverified) address; identity_in_use: (linking) the identity belongs to another account; provider_already_linked: another account of this provider is linked already")))]
pub async fn complete(deps: &Deps, req: &Request, cred: Option<&Credential>) -> Answer {
    let delivery = extract::delivery(deps, req)?;
    let body: CompleteBody = json(req)?;
    // Only a link code needs the caller (resolved then); a stale token must
    // not spoil a sign-in.
    let jar = flow_cookie_jar(oauth::secure(deps));
    let browser = extract::cookie(req, &jar);
    let done = match oauth::complete(deps, &body.login_code, browser, cred, extract::user_agent(req)).await? {
        Completed::Login(outcome) => super::login_response(deps, delivery, outcome),
        Completed::Linked(linked) => Response::json(200, &LinkedBody { linked }),
    };
    Ok(done.with_header("set-cookie", jar.clear()))
}

/// `POST /v1/auth/oauth/inspect`.
#[utoipa::path(post, path = "/v1/auth/oauth/inspect", summary = "Inspect a pending sign-in with a provider", operation_id = "oauth_inspect", tag = "oauth", request_body = CompleteBody,
    responses((status = 200, body = LoginCodeView, description = "What the code would do (sign in to which account, or link), read without spending it. A page asks this before redeeming a sign-in code while someone is already signed in, and asks the person. Needs the flow cookie of the browser that ran the flow"),
              (status = 400, body = Problem, description = "invalid_token: unknown, used or expired login code, or not this browser's (no flow cookie, or another flow's)")))]
pub async fn inspect(deps: &Deps, req: &Request) -> Answer {
    let body: CompleteBody = json(req)?;
    let jar = flow_cookie_jar(oauth::secure(deps));
    Ok(Response::json(200, &oauth::inspect(deps, &body.login_code, extract::cookie(req, &jar)).await?))
}

/// Linked providers.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityList {
    /// One per linked provider.
    pub data: Vec<IdentityView>,
    /// Always null (a person has at most one identity per provider).
    pub next_cursor: Option<String>,
}

/// `GET /v1/me/identities`.
#[utoipa::path(get, path = "/v1/me/identities", summary = "List my linked sign-in providers", tag = "me",
    responses((status = 200, body = IdentityList), (status = 401, body = Problem)))]
pub async fn list_identities(Call { deps, cred, .. }: Call<'_>) -> Answer {
    Ok(Response::json(200, &IdentityList { data: oauth::list_identities(deps, cred).await?, next_cursor: None }))
}

/// Where to return after linking.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// An allowed redirect URI (as for authorize).
    pub redirect_uri: String,
}

/// The provider URL to send the browser to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeUrl {
    /// Navigate here; the answer also set the flow cookie.
    pub authorize_url: String,
}

/// `POST /v1/me/identities/{provider}`.
#[utoipa::path(post, path = "/v1/me/identities/{provider}", summary = "Link a sign-in provider", tag = "me", request_body = LinkBody,
    params(("provider" = crate::domain::oauth::Provider, Path, description = "`github`, `google` or `gitlab`")),
    responses((status = 200, body = AuthorizeUrl, description = "Also sets the flow cookie. The callback returns `#login_code=…`; POST it to /v1/auth/oauth/complete with this person's bearer token to link. The identity is known only after the provider round trip, so an identity linked to someone else is refused there: 409 identity_in_use"),
              (status = 400, body = Problem, description = "invalid_redirect_uri"),
              (status = 403, body = Problem, description = "reauthentication_required: the session signed in more than 10 minutes ago"),
              (status = 404, body = Problem, description = "provider_not_found")))]
pub async fn link_identity(Call { deps, req, cred }: Call<'_>, provider: &str) -> Answer {
    let body: LinkBody = json(req)?;
    let started = oauth::begin_link(deps, cred, provider, &body.redirect_uri).await?;
    Ok(Response::json(200, &AuthorizeUrl { authorize_url: started.authorize_url })
        .with_header("set-cookie", started.cookie))
}

/// `DELETE /v1/me/identities/{provider}`.
#[utoipa::path(delete, path = "/v1/me/identities/{provider}", summary = "Unlink a sign-in provider", tag = "me",
    params(("provider" = crate::domain::oauth::Provider, Path, description = "`github`, `google` or `gitlab`")),
    responses((status = 204, description = "Unlinked"), (status = 404, body = Problem, description = "Not linked"),
              (status = 409, body = Problem, description = "last_login_method: no password and no other provider; set a password through the reset flow first")))]
pub async fn unlink_identity(Call { deps, cred, .. }: Call<'_>, provider: &str) -> Answer {
    oauth::unlink(deps, cred, provider).await?;
    Ok(Response::empty(204))
}

/// A page of my security events.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserEventList {
    /// Newest first.
    pub data: Vec<AuditEventView>,
    /// Pass as `?cursor=` for the next page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/me/audit-log`.
#[utoipa::path(get, path = "/v1/me/audit-log", summary = "List my account's audit log", tag = "me",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = UserEventList, description = "My own security events: `oauth.signed_in`, `identity.linked`, `identity.unlinked`, `account.claimed`")))]
pub async fn user_audit_log(Call { deps, req, cred }: Call<'_>) -> Answer {
    let page = extract::page(req)?;
    let (data, next_cursor) = oauth::list_user_events(deps, cred, &page).await?;
    Ok(Response::json(200, &UserEventList { data, next_cursor }))
}
