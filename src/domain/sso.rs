//! Single sign-on through an org's own OpenID Connect provider: the rules of
//! a connection (its issuer, its discovery document, the domains it signs
//! in) and of the sign-in itself. No I/O: the app layer fetches and stores.
//!
//! The ID token comes from the provider's token endpoint, over TLS, in
//! answer to our authenticated request (client secret and PKCE verifier),
//! which OpenID Connect Core 1.0 §3.1.3.7 (6) accepts in place of checking
//! its signature (the same rule as sign-in with Google and GitLab). Hence
//! the issuer and both endpoints must be https, except in development,
//! where loopback http stands in for a test provider.
use super::browser::{HostCookie, SameSite};
use super::custom_role::RoleKey;
use super::oauth::{pkce_challenge, FlowSecrets};
use super::policy::Role;
use super::FieldError;
use serde_json::Value;

/// Connections per org.
pub const MAX_CONNECTIONS_PER_ORG: i64 = 10;
/// Domains per connection.
pub const MAX_DOMAINS: usize = 50;
/// What we ask the provider for.
pub const SCOPES: &str = "openid email profile";
/// `oauth_states.provider` and `oauth_login_codes.provider` of SSO flows.
pub const PROVIDER: &str = "sso";

/// The `provider` column of a flow through connection `id` (one callback
/// path per connection: a flow started for one never finishes at another).
pub fn flow_provider(connection_id: &str) -> String {
    format!("{PROVIDER}:{connection_id}")
}

/// The session method of a sign-in through connection `id`: sessions from
/// SSO carry their connection.
pub fn session_method(connection_id: &str) -> String {
    format!("{PROVIDER}:{connection_id}")
}

/// A single sign-on connection's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = SsoConnectionType, rename_all = "lowercase")]
pub enum ConnectionType {
    /// OpenID Connect (authorization code flow, PKCE, nonce).
    Oidc,
    /// SAML 2.0 (`domain::saml`: SP-initiated, one signed assertion).
    Saml,
}

impl ConnectionType {
    /// Parses `type`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "oidc" => Ok(Self::Oidc),
            "saml" => Ok(Self::Saml),
            _ => Err(FieldError::new("type", "invalid_type", "\"oidc\" or \"saml\"")),
        }
    }

    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::Saml => "saml",
        }
    }
}

/// The cookie that binds a SAML flow to the browser that started it, read
/// at the ACS. The IdP's answer is a cross-site POST, which carries only a
/// `SameSite=None` cookie; browsers take that only with `Secure`, so over
/// plain-http development (where the IdP is on loopback: the same site) it
/// is `Lax`. It holds the same value as the OAuth flow cookie, which
/// `POST /v1/auth/oauth/complete` reads (a same-site request).
pub fn saml_cookie_jar(secure: bool) -> HostCookie {
    let same_site = if secure { SameSite::None } else { SameSite::Lax };
    HostCookie { base: "latchkey_saml", secure, same_site }
}

/// Whether `url` may be an issuer or endpoint: https, or (development only)
/// http on loopback. No whitespace, no fragment, at most 2048 bytes.
pub fn fetchable(url: &str, development: bool) -> bool {
    let shaped = url.len() <= 2048 && !url.contains(char::is_whitespace) && !url.contains('#');
    let https = url.strip_prefix("https://").is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    let loopback = ["http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://[::1]:"]
        .iter()
        .any(|p| url.starts_with(p));
    shaped && (https || (development && loopback))
}

/// Checks an issuer URL as given: fetchable, no query, no trailing slash
/// (the `iss` claim is compared exactly).
pub fn issuer(raw: &str, development: bool) -> Result<String, FieldError> {
    let raw = raw.trim();
    if !fetchable(raw, development) || raw.contains('?') || raw.ends_with('/') {
        return Err(FieldError::new(
            "issuer",
            "invalid_issuer",
            "an https URL without a query or trailing slash, exactly as the provider's ID tokens name it",
        ));
    }
    Ok(raw.to_owned())
}

/// The discovery document's URL (OpenID Connect Discovery 1.0 §4).
pub fn discovery_url(issuer: &str) -> String {
    format!("{issuer}/.well-known/openid-configuration")
}

/// The endpoints a connection uses, from the discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Where the browser is sent.
    pub authorization: String,
    /// Where the code is exchanged.
    pub token: String,
}

/// Reads the discovery document: its `issuer` must be exactly the one
/// configured (§4.3), and both endpoints fetchable.
pub fn endpoints(doc: &Value, issuer: &str, development: bool) -> Result<Endpoints, String> {
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err("the discovery document names another issuer".into());
    }
    let url = |name: &str| -> Result<String, String> {
        match doc.get(name).and_then(Value::as_str) {
            Some(u) if fetchable(u, development) => Ok(u.to_owned()),
            Some(_) => Err(format!("{name} is not an https URL")),
            None => Err(format!("the discovery document has no {name}")),
        }
    };
    Ok(Endpoints { authorization: url("authorization_endpoint")?, token: url("token_endpoint")? })
}

/// The role people join with: admin, member or (its shape checked here,
/// its existence by the store) one of the org's custom roles; an owner is
/// made, never provisioned.
pub fn default_role(raw: Option<&str>) -> Result<String, FieldError> {
    let raw = raw.unwrap_or("member");
    match Role::parse(raw) {
        Some(Role::Member | Role::Admin) => Ok(raw.to_owned()),
        None if RoleKey::looks_like(raw) => Ok(raw.to_owned()),
        _ => Err(FieldError::new(
            "default_role",
            "invalid_role",
            "\"member\", \"admin\" or the key of one of the org's custom roles",
        )),
    }
}

/// A connection's domains: 1 to [`MAX_DOMAINS`], lower-cased, each once.
/// Whether each is a verified domain of the org is the store's to say.
pub fn domains(raw: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = raw.iter().map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase()).collect();
    out.sort();
    out.dedup();
    let shaped = |d: &String| {
        !d.is_empty()
            && d.len() <= 253
            && d.contains('.')
            && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    if out.is_empty() || out.len() > MAX_DOMAINS || !out.iter().all(shaped) {
        return Err(FieldError::new(
            "domains",
            "invalid_domains",
            format!("1 to {MAX_DOMAINS} of the org's verified domains"),
        ));
    }
    Ok(out)
}

/// The domain of an address (after its last `@`), lower-cased.
pub fn email_domain(email: &str) -> Option<String> {
    email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).filter(|d| !d.is_empty())
}

/// The provider URL the browser is sent to: the authorization code flow
/// with PKCE S256 and a nonce.
pub fn authorize_url(endpoint: &str, client_id: &str, callback: &str, state: &str, flow: &FlowSecrets) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", callback)
        .append_pair("scope", SCOPES)
        .append_pair("state", state)
        .append_pair("code_challenge", &pkce_challenge(flow.verifier.expose()))
        .append_pair("code_challenge_method", "S256")
        .append_pair("nonce", flow.nonce.expose());
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{separator}{}", query.finish())
}

/// The code exchange's form body (client_secret_post, with the verifier).
pub fn token_request_body(client_id: &str, client_secret: &str, code: &str, callback: &str, verifier: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", callback)
        .append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret)
        .append_pair("code_verifier", verifier)
        .finish()
}

/// Whether an address the provider gave may sign in through a connection:
/// it must be on one of the connection's (verified) domains. The org that
/// verified the domain vouches for its provider's addresses, so the
/// provider's `email_verified` is not required (as WorkOS and Auth0 treat
/// enterprise connections).
pub fn may_sign_in(email: &str, connection_domains: &[String]) -> bool {
    email_domain(email).is_some_and(|d| connection_domains.contains(&d))
}

/// Whether a sign-in that is not through SSO is refused because the org
/// requires SSO for the address's domain. An owner of that org with 2FA on
/// keeps a way in (break glass): their sign-in still takes the second
/// factor.
pub fn refused_without_sso(required: bool, owner_with_two_factor: bool) -> bool {
    required && !owner_with_two_factor
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn issuers_are_https_outside_development() {
        assert!(issuer("https://idp.example.com", false).is_ok());
        assert!(issuer("https://idp.example.com/oauth2/default", false).is_ok());
        assert!(issuer("http://127.0.0.1:9000/okta", false).is_err());
        assert!(issuer("http://127.0.0.1:9000/okta", true).is_ok());
        assert!(issuer("http://idp.example.com", true).is_err(), "plain http off loopback, even in development");
        assert!(issuer("https://idp.example.com/", false).is_err(), "a trailing slash never equals iss");
        assert!(issuer("https://idp.example.com?x=1", false).is_err());
        assert!(issuer("https:///path", false).is_err());
        assert!(issuer("https://idp.example.com#frag", false).is_err());
    }

    #[test]
    fn the_discovery_document_must_name_the_configured_issuer() {
        let doc = json!({"issuer": "https://idp.example.com", "authorization_endpoint": "https://idp.example.com/a",
                         "token_endpoint": "https://idp.example.com/t"});
        let e = endpoints(&doc, "https://idp.example.com", false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.authorization, "https://idp.example.com/a");
        assert_eq!(e.token, "https://idp.example.com/t");
        assert!(endpoints(&doc, "https://other.example.com", false).is_err());
        let plain = json!({"issuer": "https://idp.example.com", "authorization_endpoint": "http://idp.example.com/a",
                           "token_endpoint": "https://idp.example.com/t"});
        assert!(endpoints(&plain, "https://idp.example.com", false).is_err());
        let missing =
            json!({"issuer": "https://idp.example.com", "authorization_endpoint": "https://idp.example.com/a"});
        assert!(endpoints(&missing, "https://idp.example.com", false).is_err());
    }

    #[test]
    fn domains_are_normalised_and_bounded() {
        let got = domains(&["Acme.COM.".into(), "acme.com".into(), " eu.acme.com ".into()]);
        assert_eq!(got, Ok(vec!["acme.com".to_owned(), "eu.acme.com".to_owned()]));
        assert!(domains(&[]).is_err());
        assert!(domains(&["localhost".into()]).is_err());
        assert!(domains(&["acme.com/x".into()]).is_err());
        let many: Vec<String> = (0..=MAX_DOMAINS).map(|i| format!("d{i}.example.com")).collect();
        assert!(domains(&many).is_err());
    }

    #[test]
    fn only_addresses_on_the_connection_domains_sign_in() {
        let ds = vec!["acme.com".to_owned()];
        assert!(may_sign_in("ann@acme.com", &ds));
        assert!(may_sign_in("Ann@ACME.com", &ds));
        assert!(!may_sign_in("ann@eu.acme.com", &ds), "exact domains only");
        assert!(!may_sign_in("ann@acme.com.evil.test", &ds));
        assert!(!may_sign_in("acme.com@evil.test", &ds), "the domain is after the last @");
        assert!(!may_sign_in("no-at-sign", &ds));
    }

    #[test]
    fn connection_types_parse_and_roles_stay_below_owner() {
        assert_eq!(ConnectionType::parse("oidc"), Ok(ConnectionType::Oidc));
        assert_eq!(ConnectionType::parse("saml"), Ok(ConnectionType::Saml));
        assert!(ConnectionType::parse("ldap").is_err());
        assert_eq!(default_role(None).as_deref(), Ok("member"));
        assert_eq!(default_role(Some("admin")).as_deref(), Ok("admin"));
        assert_eq!(default_role(Some("billing-viewer")).as_deref(), Ok("billing-viewer"));
        assert!(default_role(Some("owner")).is_err());
        assert!(default_role(Some("Not A Key")).is_err());
    }

    #[test]
    fn break_glass_is_an_owner_with_two_factor() {
        assert!(!refused_without_sso(false, false));
        assert!(refused_without_sso(true, false));
        assert!(!refused_without_sso(true, true));
    }

    #[test]
    fn the_authorize_url_carries_pkce_and_a_nonce() {
        let flow = FlowSecrets::derive(b"k", "state", "browser");
        let url = authorize_url("https://idp.example.com/a?tenant=x", "cid", "https://app/cb", "st", &flow);
        assert!(url.starts_with("https://idp.example.com/a?tenant=x&response_type=code"));
        assert!(url.contains("code_challenge_method=S256"));
        assert!(url.contains(&format!("nonce={}", flow.nonce.expose())));
        assert!(url.contains("scope=openid+email+profile"));
    }
}
