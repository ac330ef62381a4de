//! OAuth 2.0 / OpenID Connect sign-in, the pure parts: providers and their
//! settings, PKCE (RFC 7636, S256), the browser-binding cookie, the exact
//! redirect-URI allow-list, ID token claim checks and the shapes of each
//! provider's answers. No I/O here: `app::oauth` drives the flow.
use super::browser::{HostCookie, SameSite};
use super::token::{self, Secret};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A sign-in provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Provider {
    /// GitHub (OAuth App, no OIDC).
    GitHub,
    /// Google (OIDC).
    Google,
    /// GitLab, gitlab.com or self-managed (OIDC).
    GitLab,
}

impl Provider {
    /// Every provider, in the order pages show them.
    pub const ALL: [Provider; 3] = [Provider::GitHub, Provider::Google, Provider::GitLab];

    /// The path segment and stored label (`github`, `google`, `gitlab`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::Google => "google",
            Provider::GitLab => "gitlab",
        }
    }

    /// The name people know.
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::GitHub => "GitHub",
            Provider::Google => "Google",
            Provider::GitLab => "GitLab",
        }
    }

    /// A path segment as a provider (exact, lowercase).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// The scopes asked for: identity and email only.
    pub fn scopes(self) -> &'static str {
        match self {
            Provider::GitHub => "read:user user:email",
            Provider::Google | Provider::GitLab => "openid email profile",
        }
    }

    /// Whether the provider speaks OpenID Connect (ID token and `nonce`).
    pub fn is_oidc(self) -> bool {
        !matches!(self, Provider::GitHub)
    }

    fn env_prefix(self) -> &'static str {
        match self {
            Provider::GitHub => "OAUTH_GITHUB_",
            Provider::Google => "OAUTH_GOOGLE_",
            Provider::GitLab => "OAUTH_GITLAB_",
        }
    }
}

/// GitHub's fixed endpoints.
pub const GITHUB_AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
/// GitHub's token endpoint.
pub const GITHUB_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
/// GitHub's REST API.
pub const GITHUB_API_URL: &str = "https://api.github.com";
/// The issuer recorded for GitHub identities (GitHub has no OIDC issuer).
pub const GITHUB_ISSUER: &str = "https://github.com";
/// Google's authorization endpoint.
pub const GOOGLE_AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google's issuer; its ID tokens may also say `accounts.google.com`.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// gitlab.com, unless `OAUTH_GITLAB_BASE_URL` names a self-managed instance.
pub const GITLAB_BASE_URL: &str = "https://gitlab.com";

/// One configured provider.
#[derive(Clone)]
pub struct ProviderSettings {
    /// Which provider.
    pub provider: Provider,
    /// `OAUTH_<P>_CLIENT_ID`.
    pub client_id: String,
    /// `OAUTH_<P>_CLIENT_SECRET` (a Worker secret).
    pub client_secret: String,
    /// Where the browser is sent.
    pub authorize_url: String,
    /// Where the code is exchanged.
    pub token_url: String,
    /// GitHub: the REST API base; GitLab: the userinfo endpoint; Google: unused.
    pub api_url: String,
    /// The issuer recorded with identities (GitLab: its base URL).
    pub issuer: String,
    /// The `iss` values an ID token may carry (OIDC providers).
    pub accepted_issuers: Vec<String>,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("api_url", &self.api_url)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// Every OAuth setting.
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// Configured providers (both client id and secret set).
    pub providers: Vec<ProviderSettings>,
    /// `OAUTH_REDIRECT_URIS`: where the callback may send the browser (exact).
    pub redirect_uris: Vec<String>,
}

/// Console screens that may receive a login code (always allowed,
/// under `APP_URL`).
pub const CONSOLE_REDIRECT_PATHS: &[&str] = &["/signin", "/settings/security", "/invite", "/install"];

impl OAuthSettings {
    /// Reads `OAUTH_*` through `get`. Endpoint overrides are honoured only in
    /// development (`development`), so a production Worker can never be
    /// pointed at another token endpoint by a stray variable. `app_url` is
    /// the service's own base URL: its pages are always allowed redirects.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>, development: bool, app_url: &str) -> Result<Self, String> {
        let value = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let dev_override = |name: &str, default: &str| -> Result<String, String> {
            match value(name).filter(|_| development) {
                Some(url) => checked_url(name, &url),
                None => Ok(default.to_owned()),
            }
        };
        let mut providers = Vec::new();
        for provider in Provider::ALL {
            let prefix = provider.env_prefix();
            let id = value(&format!("{prefix}CLIENT_ID"));
            let secret = value(&format!("{prefix}CLIENT_SECRET"));
            let (client_id, client_secret) = match (id, secret) {
                (Some(id), Some(secret)) => (id, secret),
                (None, None) => continue,
                _ => return Err(format!("{prefix}CLIENT_ID and {prefix}CLIENT_SECRET must be set together")),
            };
            let settings = match provider {
                Provider::GitHub => ProviderSettings {
                    provider,
                    client_id,
                    client_secret,
                    authorize_url: dev_override("OAUTH_GITHUB_AUTHORIZE_URL", GITHUB_AUTHORIZE_URL)?,
                    token_url: dev_override("OAUTH_GITHUB_TOKEN_URL", GITHUB_TOKEN_URL)?,
                    api_url: dev_override("OAUTH_GITHUB_API_URL", GITHUB_API_URL)?.trim_end_matches('/').to_owned(),
                    issuer: GITHUB_ISSUER.to_owned(),
                    accepted_issuers: Vec::new(),
                },
                Provider::Google => {
                    let issuer = dev_override("OAUTH_GOOGLE_ISSUER", GOOGLE_ISSUER)?;
                    let mut accepted = vec![issuer.clone()];
                    if issuer == GOOGLE_ISSUER {
                        // Google documents both spellings of its issuer.
                        accepted.push("accounts.google.com".to_owned());
                    }
                    ProviderSettings {
                        provider,
                        client_id,
                        client_secret,
                        authorize_url: dev_override("OAUTH_GOOGLE_AUTHORIZE_URL", GOOGLE_AUTHORIZE_URL)?,
                        token_url: dev_override("OAUTH_GOOGLE_TOKEN_URL", GOOGLE_TOKEN_URL)?,
                        api_url: String::new(),
                        // Both spellings name one issuer: identities record one.
                        issuer: issuer.clone(),
                        accepted_issuers: accepted,
                    }
                }
                Provider::GitLab => {
                    let base = match value("OAUTH_GITLAB_BASE_URL") {
                        Some(url) => gitlab_base_url(&url, development)?,
                        None => GITLAB_BASE_URL.to_owned(),
                    };
                    let base = base.trim_end_matches('/').to_owned();
                    ProviderSettings {
                        provider,
                        client_id,
                        client_secret,
                        authorize_url: format!("{base}/oauth/authorize"),
                        token_url: format!("{base}/oauth/token"),
                        api_url: format!("{base}/oauth/userinfo"),
                        issuer: base.clone(),
                        accepted_issuers: vec![base],
                    }
                }
            };
            providers.push(settings);
        }
        let mut redirect_uris: Vec<String> =
            CONSOLE_REDIRECT_PATHS.iter().map(|p| format!("{}{p}", app_url.trim_end_matches('/'))).collect();
        for uri in value("OAUTH_REDIRECT_URIS").unwrap_or_default().split(',').map(str::trim).filter(|u| !u.is_empty())
        {
            let uri = checked_url("OAUTH_REDIRECT_URIS", uri)?;
            if uri.contains('#') {
                return Err(format!("OAUTH_REDIRECT_URIS: {uri} has a fragment; the login code goes there"));
            }
            redirect_uris.push(uri);
        }
        Ok(Self { providers, redirect_uris })
    }

    /// A configured provider's settings.
    pub fn provider(&self, provider: Provider) -> Option<&ProviderSettings> {
        self.providers.iter().find(|p| p.provider == provider)
    }

    /// Whether `uri` is on the allow-list: exact string comparison, no
    /// prefix, case or trailing-slash leniency (RFC 9700 §4.1.3).
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|allowed| token::ct_eq(allowed, uri))
    }
}

/// `url` if it is an absolute http(s) URL without spaces (`name` says whose in the error).
pub fn checked_url(name: &str, url: &str) -> Result<String, String> {
    if (url.starts_with("https://") || url.starts_with("http://")) && !url.contains(char::is_whitespace) {
        Ok(url.to_owned())
    } else {
        Err(format!("{name}: {url} is not an http(s) URL"))
    }
}

/// `OAUTH_GITLAB_BASE_URL`: https outside development. GitLab's id token is
/// taken from its token endpoint without a signature check (the userinfo
/// call must name the same subject), so the transport is the guarantee: over
/// plain http anyone on the path could answer with someone else's identity.
fn gitlab_base_url(url: &str, development: bool) -> Result<String, String> {
    let url = checked_url("OAUTH_GITLAB_BASE_URL", url)?;
    if !development && !url.starts_with("https://") {
        return Err(format!(
            "OAUTH_GITLAB_BASE_URL: {url} must be https (plain http is accepted only with ENVIRONMENT=development)"
        ));
    }
    Ok(url)
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2):
/// `BASE64URL(SHA256(ASCII(code_verifier)))`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The per-flow secrets, derived rather than stored: the PKCE verifier and
/// the OIDC nonce come from the server key, the `state` and the browser's
/// cookie value, so the database (which keeps only SHA-256 digests of
/// `state` and of the cookie) rebuilds neither, and only the browser that
/// started the flow can finish it.
pub struct FlowSecrets {
    /// PKCE `code_verifier`: 43 base64url characters (256 bits).
    pub verifier: Secret,
    /// OIDC `nonce`.
    pub nonce: Secret,
}

impl FlowSecrets {
    /// Derives both from `key` (`TOKEN_SECRET`), `state` and the cookie value.
    pub fn derive(key: &[u8], state: &str, browser: &str) -> Self {
        let bound = format!("{state}.{browser}");
        Self { verifier: token::derive(key, "oauth_pkce", &bound), nonce: token::derive(key, "oauth_nonce", &bound) }
    }
}

/// The flow cookie: host-only (`__Host-latchkey_oauth` over https, see
/// [`HostCookie`]), SameSite=Lax because the provider's redirect back is a
/// top-level GET from another site.
pub fn flow_cookie_jar(secure: bool) -> HostCookie {
    HostCookie { base: "latchkey_oauth", secure, same_site: SameSite::Lax }
}

/// How long a flow (state, cookie) lives.
pub const FLOW_SECONDS: i64 = 10 * 60;
/// How long a login code lives.
pub const LOGIN_CODE_SECONDS: i64 = 60;

/// The `Set-Cookie` value binding a flow to this browser for 10 minutes.
pub fn flow_cookie(value: &str, secure: bool) -> String {
    flow_cookie_jar(secure).set(value, FLOW_SECONDS)
}

/// The provider URL the browser is sent to.
pub fn authorize_url(settings: &ProviderSettings, callback: &str, state: &str, flow: &FlowSecrets) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", callback)
        .append_pair("scope", settings.provider.scopes())
        .append_pair("state", state)
        .append_pair("code_challenge", &pkce_challenge(flow.verifier.expose()))
        .append_pair("code_challenge_method", "S256");
    if settings.provider.is_oidc() {
        query.append_pair("nonce", flow.nonce.expose());
    }
    let separator = if settings.authorize_url.contains('?') { '&' } else { '?' };
    format!("{}{separator}{}", settings.authorize_url, query.finish())
}

/// The form body of the code exchange (RFC 6749 §4.1.3 with RFC 7636's verifier).
pub fn token_request_body(settings: &ProviderSettings, code: &str, callback: &str, verifier: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", callback)
        .append_pair("client_id", &settings.client_id)
        .append_pair("client_secret", &settings.client_secret)
        .append_pair("code_verifier", verifier)
        .finish()
}

/// Why a provider's answer was not accepted. Logged, never shown in detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider said no (`error` field, even with HTTP 200 as GitHub does).
    #[error("provider refused: {0}")]
    Refused(String),
    /// The answer was not the documented shape.
    #[error("unexpected answer: {0}")]
    Malformed(String),
    /// An ID token claim failed its check.
    #[error("ID token rejected: {0}")]
    IdToken(&'static str),
    /// Transport failure, redirect or timeout.
    #[error("unreachable: {0}")]
    Unreachable(String),
}

/// A token endpoint's answer: the access token and, for OIDC, the ID token.
#[derive(Debug, Clone)]
pub struct TokenAnswer {
    /// Used once, for the user endpoints, and never stored.
    pub access_token: Secret,
    /// The raw ID token (OIDC).
    pub id_token: Option<String>,
}

/// Parses a token endpoint's JSON answer. GitHub answers errors with HTTP
/// 200 and an `error` field, so the field is checked whatever the status.
pub fn parse_token_answer(status: u16, body: &[u8]) -> Result<TokenAnswer, ProviderError> {
    #[derive(Deserialize)]
    struct Raw {
        access_token: Option<String>,
        id_token: Option<String>,
        error: Option<String>,
        error_description: Option<String>,
    }
    let raw: Raw = serde_json::from_slice(body)
        .map_err(|e| ProviderError::Malformed(format!("token answer (HTTP {status}) is not JSON: {e}")))?;
    if let Some(error) = raw.error {
        return Err(ProviderError::Refused(format!("{error}: {}", raw.error_description.unwrap_or_default())));
    }
    if !(200..300).contains(&status) {
        return Err(ProviderError::Refused(format!("token endpoint answered HTTP {status}")));
    }
    let access_token = raw
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ProviderError::Malformed("token answer has no access_token".into()))?;
    Ok(TokenAnswer { access_token: Secret::from_client(&access_token), id_token: raw.id_token })
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIdentity {
    /// Which provider.
    pub provider: Provider,
    /// The issuer (GitLab instance, Google, GitHub).
    pub issuer: String,
    /// The provider's stable user id (GitHub's numeric `id`, OIDC `sub`).
    pub subject: String,
    /// The address the provider gave, trimmed and lowercased.
    pub email: Option<String>,
    /// Whether the provider marks that address verified.
    pub email_verified: bool,
    /// A display name, if any.
    pub name: Option<String>,
}

/// `email_verified` as providers send it: a boolean, or (Google, some
/// GitLab versions) the strings `"true"` / `"false"`. Anything else is false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verified(pub bool);

impl<'de> Deserialize<'de> for Verified {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Verified(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => b,
            serde_json::Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }))
    }
}

/// An ID token's claims that we check or use.
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Audience: a string or an array.
    pub aud: Audience,
    /// Authorized party (required to be us when `aud` has several entries).
    #[serde(default)]
    pub azp: Option<String>,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// The nonce we sent.
    #[serde(default)]
    pub nonce: Option<String>,
    /// The provider's stable user id.
    pub sub: String,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the provider verified it.
    #[serde(default)]
    pub email_verified: Verified,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `aud`: one audience or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// How long past `exp` an ID token is still accepted (clock skew).
pub const ID_TOKEN_LEEWAY_SECONDS: i64 = 60;

/// Checks an ID token received straight from the token endpoint.
///
/// The signature is not verified: the token came to us over TLS from the
/// provider's token endpoint in answer to our authenticated request (client
/// secret and PKCE verifier), which OpenID Connect Core 1.0 §3.1.3.7 (6)
/// accepts in place of checking the signature. The claims are checked:
/// `iss` among the provider's issuers, `aud` naming our client id (and
/// `azp` us when there are several), `exp` not past, `nonce` exactly ours.
pub fn check_id_token(
    raw: &str,
    settings: &ProviderSettings,
    nonce: &str,
    now: i64,
) -> Result<IdTokenClaims, ProviderError> {
    check_id_token_of(raw, &settings.accepted_issuers, &settings.client_id, nonce, now)
}

/// [`check_id_token`] for any OpenID provider: `iss` among `issuers`, `aud`
/// naming `client_id` (single sign-on connections come this way too).
pub fn check_id_token_of(
    raw: &str,
    issuers: &[String],
    client_id: &str,
    nonce: &str,
    now: i64,
) -> Result<IdTokenClaims, ProviderError> {
    let mut parts = raw.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProviderError::IdToken("not a JWS compact serialization"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ProviderError::IdToken("payload is not base64url"))?;
    let claims: IdTokenClaims =
        serde_json::from_slice(&bytes).map_err(|_| ProviderError::IdToken("claims missing or malformed"))?;
    if !issuers.contains(&claims.iss) {
        return Err(ProviderError::IdToken("iss is not the provider"));
    }
    let ours = |aud: &str| aud == client_id;
    let aud_ok = match &claims.aud {
        Audience::One(a) => ours(a),
        Audience::Many(list) => {
            list.iter().any(|a| ours(a)) && (list.len() == 1 || claims.azp.as_deref().is_some_and(ours))
        }
    };
    if !aud_ok {
        return Err(ProviderError::IdToken("aud is not our client id"));
    }
    if claims.exp + ID_TOKEN_LEEWAY_SECONDS <= now {
        return Err(ProviderError::IdToken("expired"));
    }
    if !claims.nonce.as_deref().is_some_and(|n| token::ct_eq(n, nonce)) {
        return Err(ProviderError::IdToken("nonce is not ours"));
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(ProviderError::IdToken("sub missing or too long"));
    }
    Ok(claims)
}

pub fn normalise_email(raw: Option<String>) -> Option<String> {
    raw.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty() && e.len() <= 320)
}

pub fn bounded_name(raw: Option<String>) -> Option<String> {
    raw.map(|n| n.trim().chars().take(100).collect::<String>()).filter(|n| !n.is_empty())
}

/// An OIDC provider's identity from its checked ID token.
pub fn oidc_identity(settings: &ProviderSettings, claims: IdTokenClaims) -> ProviderIdentity {
    ProviderIdentity {
        provider: settings.provider,
        issuer: settings.issuer.clone(),
        subject: claims.sub,
        email: normalise_email(claims.email),
        email_verified: claims.email_verified.0,
        name: bounded_name(claims.name),
    }
}

/// GitLab's userinfo answer (OIDC Core §5.3.2): its `sub` must equal the ID
/// token's; the email and its verification come from here.
pub fn gitlab_identity(
    settings: &ProviderSettings,
    claims: IdTokenClaims,
    userinfo: &[u8],
) -> Result<ProviderIdentity, ProviderError> {
    #[derive(Deserialize)]
    struct UserInfo {
        sub: String,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        email_verified: Verified,
        #[serde(default)]
        name: Option<String>,
    }
    let info: UserInfo =
        serde_json::from_slice(userinfo).map_err(|e| ProviderError::Malformed(format!("userinfo: {e}")))?;
    if info.sub != claims.sub {
        return Err(ProviderError::IdToken("userinfo sub differs from the ID token's"));
    }
    Ok(ProviderIdentity {
        provider: settings.provider,
        issuer: settings.issuer.clone(),
        subject: claims.sub,
        email: normalise_email(info.email),
        email_verified: info.email_verified.0,
        name: bounded_name(info.name.or(claims.name)),
    })
}

/// GitHub's `/user` and `/user/emails` answers. The stable id is the
/// numeric `id` (the login can change). Only the primary address counts,
/// and only if GitHub marks it verified: an unverified or secondary address
/// never links anything.
pub fn github_identity(
    settings: &ProviderSettings,
    user: &[u8],
    emails: &[u8],
) -> Result<ProviderIdentity, ProviderError> {
    #[derive(Deserialize)]
    struct User {
        id: u64,
        #[serde(default)]
        login: Option<String>,
        #[serde(default)]
        name: Option<String>,
    }
    #[derive(Deserialize)]
    struct EmailEntry {
        email: String,
        #[serde(default)]
        primary: bool,
        #[serde(default)]
        verified: bool,
    }
    let user: User = serde_json::from_slice(user).map_err(|e| ProviderError::Malformed(format!("/user: {e}")))?;
    let emails: Vec<EmailEntry> =
        serde_json::from_slice(emails).map_err(|e| ProviderError::Malformed(format!("/user/emails: {e}")))?;
    let primary = emails.into_iter().find(|e| e.primary);
    let (email, email_verified) = match primary {
        Some(e) => (normalise_email(Some(e.email)), e.verified),
        None => (None, false),
    };
    Ok(ProviderIdentity {
        provider: Provider::GitHub,
        issuer: settings.issuer.clone(),
        subject: user.id.to_string(),
        email,
        email_verified,
        name: bounded_name(user.name.or(user.login)),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn settings(development: bool, vars: &[(&str, &str)]) -> Result<OAuthSettings, String> {
        let get = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        OAuthSettings::from_env(&get, development, "https://app.example")
    }

    fn google() -> ProviderSettings {
        settings(false, &[("OAUTH_GOOGLE_CLIENT_ID", "cid"), ("OAUTH_GOOGLE_CLIENT_SECRET", "s")])
            .unwrap()
            .provider(Provider::Google)
            .unwrap()
            .clone()
    }

    fn jwt(claims: serde_json::Value) -> String {
        let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", enc(&serde_json::json!({"alg": "RS256", "kid": "k"})), enc(&claims))
    }

    fn claims(nonce: &str) -> serde_json::Value {
        serde_json::json!({"iss": "https://accounts.google.com", "aud": "cid", "exp": 2000, "nonce": nonce,
                           "sub": "1234", "email": "Ada@Example.com", "email_verified": true})
    }

    #[test]
    fn pkce_s256_matches_the_rfc_7636_appendix_b_vector() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn flow_secrets_depend_on_key_state_and_browser_and_are_valid_verifiers() {
        let a = FlowSecrets::derive(b"key", "state", "browser");
        let v = a.verifier.expose();
        // RFC 7636 §4.1: 43..128 unreserved characters.
        assert!((43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
        assert_ne!(a.verifier, a.nonce);
        assert_ne!(a.verifier, FlowSecrets::derive(b"key", "state", "other-browser").verifier);
        assert_ne!(a.verifier, FlowSecrets::derive(b"key", "other-state", "browser").verifier);
        assert_ne!(a.nonce, FlowSecrets::derive(b"key2", "state", "browser").nonce);
    }

    #[test]
    fn unconfigured_providers_are_absent_and_half_configured_ones_refused() {
        let s = settings(false, &[("OAUTH_GITHUB_CLIENT_ID", "id"), ("OAUTH_GITHUB_CLIENT_SECRET", "sec")]).unwrap();
        assert!(s.provider(Provider::GitHub).is_some());
        assert!(s.provider(Provider::Google).is_none() && s.provider(Provider::GitLab).is_none());
        assert!(settings(false, &[("OAUTH_GOOGLE_CLIENT_ID", "id")]).is_err());
        assert!(format!("{:?}", s.provider(Provider::GitHub).unwrap()).contains("<redacted>"));
    }

    #[test]
    fn endpoint_overrides_are_honoured_only_in_development() {
        let vars = [
            ("OAUTH_GITHUB_CLIENT_ID", "id"),
            ("OAUTH_GITHUB_CLIENT_SECRET", "sec"),
            ("OAUTH_GITHUB_TOKEN_URL", "http://127.0.0.1:9/token"),
            ("OAUTH_GOOGLE_CLIENT_ID", "id"),
            ("OAUTH_GOOGLE_CLIENT_SECRET", "sec"),
            ("OAUTH_GOOGLE_ISSUER", "http://127.0.0.1:9"),
        ];
        let prod = settings(false, &vars).unwrap();
        assert_eq!(prod.provider(Provider::GitHub).unwrap().token_url, GITHUB_TOKEN_URL);
        assert_eq!(prod.provider(Provider::Google).unwrap().accepted_issuers, [GOOGLE_ISSUER, "accounts.google.com"]);
        let dev = settings(true, &vars).unwrap();
        assert_eq!(dev.provider(Provider::GitHub).unwrap().token_url, "http://127.0.0.1:9/token");
        assert_eq!(dev.provider(Provider::Google).unwrap().accepted_issuers, ["http://127.0.0.1:9"]);
    }

    #[test]
    fn gitlab_endpoints_and_issuer_follow_the_base_url() {
        let vars = [
            ("OAUTH_GITLAB_CLIENT_ID", "id"),
            ("OAUTH_GITLAB_CLIENT_SECRET", "sec"),
            ("OAUTH_GITLAB_BASE_URL", "https://git.corp.example/"),
        ];
        let s = settings(false, &vars).unwrap();
        let g = s.provider(Provider::GitLab).unwrap();
        assert_eq!(g.authorize_url, "https://git.corp.example/oauth/authorize");
        assert_eq!(g.token_url, "https://git.corp.example/oauth/token");
        assert_eq!(g.api_url, "https://git.corp.example/oauth/userinfo");
        assert_eq!(g.issuer, "https://git.corp.example");
        let default = settings(false, &vars[..2]).unwrap();
        assert_eq!(default.provider(Provider::GitLab).unwrap().issuer, GITLAB_BASE_URL);
    }

    #[test]
    fn a_gitlab_base_url_must_be_https_outside_development() {
        let vars = |base: &'static str| {
            [("OAUTH_GITLAB_CLIENT_ID", "id"), ("OAUTH_GITLAB_CLIENT_SECRET", "sec"), ("OAUTH_GITLAB_BASE_URL", base)]
        };
        for plain in ["http://git.corp.example", "http://127.0.0.1:9000/gitlab"] {
            let refused = settings(false, &vars(plain)).unwrap_err();
            assert!(refused.contains("OAUTH_GITLAB_BASE_URL") && refused.contains("https"), "{refused}");
            // A local provider in development may be plain http.
            assert_eq!(settings(true, &vars(plain)).unwrap().provider(Provider::GitLab).unwrap().issuer, plain);
        }
        assert!(settings(false, &vars("https://git.corp.example")).is_ok());
        // Not a URL at all stays refused everywhere.
        assert!(settings(true, &vars("git.corp.example")).is_err());
    }

    #[test]
    fn redirect_uris_match_exactly_and_include_the_console() {
        let s = settings(false, &[("OAUTH_REDIRECT_URIS", "https://a.example/cb, https://b.example/x")]).unwrap();
        for ok in ["https://a.example/cb", "https://b.example/x", "https://app.example/settings/security"] {
            assert!(s.allows_redirect(ok), "{ok}");
        }
        for bad in [
            "https://a.example/cb/",
            "https://a.example/cb?x=1",
            "https://A.example/cb",
            "https://a.example/c",
            "https://a.example/cb#f",
            "https://evil.example/cb",
            "",
        ] {
            assert!(!s.allows_redirect(bad), "{bad}");
        }
        assert!(settings(false, &[("OAUTH_REDIRECT_URIS", "https://a.example/cb#x")]).is_err());
        assert!(settings(false, &[("OAUTH_REDIRECT_URIS", "javascript:alert(1)")]).is_err());
    }

    #[test]
    fn the_flow_cookie_is_host_only_httponly_lax_and_secure_over_https() {
        let c = flow_cookie("v", true);
        assert!(c.starts_with("__Host-latchkey_oauth=v;"));
        for part in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=600"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Domain"));
        assert!(!flow_cookie("v", false).contains("Secure"));
        assert_eq!(flow_cookie_jar(false).read("a=1; latchkey_oauth=xyz; b=2"), Some("xyz"));
        assert_eq!(flow_cookie_jar(true).read("a=1; latchkey_oauth=xyz"), None);
    }

    #[test]
    fn id_token_claims_are_checked() {
        let g = google();
        assert!(check_id_token(&jwt(claims("n1")), &g, "n1", 1000).is_ok());
        let string_issuer = {
            let mut c = claims("n1");
            c["iss"] = "accounts.google.com".into();
            c
        };
        assert!(check_id_token(&jwt(string_issuer), &g, "n1", 1000).is_ok());
        let cases: Vec<(&str, serde_json::Value, i64)> = vec![
            ("wrong nonce", claims("other"), 1000),
            ("expired", claims("n1"), 2061),
            (
                "foreign issuer",
                {
                    let mut c = claims("n1");
                    c["iss"] = "https://evil.example".into();
                    c
                },
                1000,
            ),
            (
                "foreign audience",
                {
                    let mut c = claims("n1");
                    c["aud"] = "someone-else".into();
                    c
                },
                1000,
            ),
            (
                "several audiences, azp not us",
                {
                    let mut c = claims("n1");
                    c["aud"] = serde_json::json!(["cid", "x"]);
                    c["azp"] = "x".into();
                    c
                },
                1000,
            ),
            (
                "no nonce",
                {
                    let mut c = claims("n1");
                    c.as_object_mut().unwrap().remove("nonce");
                    c
                },
                1000,
            ),
            (
                "no sub",
                {
                    let mut c = claims("n1");
                    c.as_object_mut().unwrap().remove("sub");
                    c
                },
                1000,
            ),
        ];
        for (why, c, now) in cases {
            assert!(check_id_token(&jwt(c), &g, "n1", now).is_err(), "{why}");
        }
        assert!(check_id_token("not-a-jwt", &g, "n1", 1000).is_err());
        assert!(check_id_token("a.b.c.d", &g, "n1", 1000).is_err());
    }

    #[test]
    fn email_verified_may_be_a_string() {
        let g = google();
        for (value, expected) in [
            (serde_json::json!(true), true),
            (serde_json::json!("true"), true),
            (serde_json::json!("false"), false),
            (serde_json::json!(false), false),
            (serde_json::json!(null), false),
        ] {
            let mut c = claims("n");
            c["email_verified"] = value.clone();
            let claims = check_id_token(&jwt(c), &g, "n", 1000).unwrap();
            let id = oidc_identity(&g, claims);
            assert_eq!(id.email_verified, expected, "{value}");
            assert_eq!(id.email.as_deref(), Some("ada@example.com"));
        }
    }

    #[test]
    fn github_errors_arrive_with_http_200() {
        let body =
            br#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#;
        assert!(matches!(parse_token_answer(200, body), Err(ProviderError::Refused(_))));
        assert!(parse_token_answer(200, br#"{"access_token":"gho_x","token_type":"bearer"}"#).is_ok());
        assert!(parse_token_answer(500, br#"{"access_token":"x"}"#).is_err());
        assert!(parse_token_answer(200, b"<html>").is_err());
    }

    #[test]
    fn github_uses_the_numeric_id_and_only_a_verified_primary_email() {
        let s = settings(false, &[("OAUTH_GITHUB_CLIENT_ID", "i"), ("OAUTH_GITHUB_CLIENT_SECRET", "s")]).unwrap();
        let g = s.provider(Provider::GitHub).unwrap();
        let user = br#"{"id": 42, "login": "octo", "name": null}"#;
        let emails = br#"[{"email":"spare@example.com","primary":false,"verified":false},
                          {"email":"Octo@Example.com","primary":true,"verified":true}]"#;
        let id = github_identity(g, user, emails).unwrap();
        assert_eq!(
            (id.subject.as_str(), id.email.as_deref(), id.email_verified),
            ("42", Some("octo@example.com"), true)
        );
        assert_eq!(id.name.as_deref(), Some("octo"));
        let unverified_primary = br#"[{"email":"a@example.com","primary":true,"verified":false},
                                      {"email":"b@example.com","primary":false,"verified":true}]"#;
        let id = github_identity(g, user, unverified_primary).unwrap();
        assert_eq!((id.email.as_deref(), id.email_verified), (Some("a@example.com"), false));
    }

    #[test]
    fn gitlab_userinfo_must_name_the_id_token_subject() {
        let vars = [("OAUTH_GITLAB_CLIENT_ID", "cid"), ("OAUTH_GITLAB_CLIENT_SECRET", "s")];
        let s = settings(false, &vars).unwrap();
        let g = s.provider(Provider::GitLab).unwrap();
        let mut c = claims("n");
        c["iss"] = GITLAB_BASE_URL.into();
        let checked = check_id_token(&jwt(c), g, "n", 1000).unwrap();
        let ok =
            gitlab_identity(g, checked.clone(), br#"{"sub":"1234","email":"x@example.com","email_verified":true}"#);
        assert_eq!(ok.unwrap().issuer, GITLAB_BASE_URL);
        assert!(gitlab_identity(g, checked, br#"{"sub":"999","email":"x@example.com","email_verified":true}"#).is_err());
    }

    #[test]
    fn authorize_urls_carry_state_pkce_and_for_oidc_a_nonce() {
        let g = google();
        let flow = FlowSecrets::derive(b"k", "st", "br");
        let url = authorize_url(&g, "https://app.example/v1/auth/oauth/google/callback", "st", &flow);
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, GOOGLE_AUTHORIZE_URL);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("state").as_deref(), Some("st"));
        assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(get("code_challenge"), Some(pkce_challenge(flow.verifier.expose())));
        assert_eq!(get("nonce").as_deref(), Some(flow.nonce.expose()));
        assert_eq!(get("scope").as_deref(), Some("openid email profile"));
        assert_eq!(get("redirect_uri").as_deref(), Some("https://app.example/v1/auth/oauth/google/callback"));
    }
}
