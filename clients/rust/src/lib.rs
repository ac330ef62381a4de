//! A blocking client of the Latchkey API.
//!
//! The request bodies and the answers are the server's own types (the
//! `latchkey` crate's views and handler bodies), so a shape changes in one
//! place and the OpenAPI document, the server and this client move together.
//!
//! ```no_run
//! use latchkey_client::{Auth, Client};
//! let client = Client::new("http://127.0.0.1:8787", Auth::ApiKey("lk_…".into()));
//! let decision = client.authorize("apps:deploy", Some("org_…"), None)?;
//! println!("allowed: {}", decision.allowed);
//! # Ok::<(), latchkey_client::Error>(())
//! ```
//!
//! Errors are [`Error`]: an [`ApiError`] carries the problem document's
//! stable `code`, the `status` and the `detail`. A client that holds a
//! session ([`Auth::Session`]) refreshes its access token once on a 401 and
//! retries; [`Client::session`] then answers the rotated pair, for the caller
//! to keep.
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use latchkey::app::api_keys::{ApiKeyView, CreatedApiKey, CurrentKey};
pub use latchkey::app::authorize::{Decision, Requirement, Via};
pub use latchkey::app::invitations::{InvitationView, Inviter};
pub use latchkey::app::members::MemberView;
pub use latchkey::app::orgs::OrgView;
pub use latchkey::app::sessions::{SessionIssued, UserView};
pub use latchkey::app::workload::ExchangedKey;
pub use latchkey::domain::policy::{Permission, Role};
pub use latchkey::http::handlers::api_keys::{ApiKeyList, CreateApiKeyBody, RotateBody};
pub use latchkey::http::handlers::authorize::AuthorizeBody;
pub use latchkey::http::handlers::invitations::CreateInvitationBody;
pub use latchkey::http::handlers::orgs::{MemberList, OrgList};
pub use latchkey::http::handlers::workload::ExchangeBody;
pub use latchkey::http::handlers::RefreshBody;

mod device;
pub use device::{DeviceAuthorization, DevicePoll, DeviceRequestBody, DeviceTokenBody, DEVICE_GRANT_TYPE};

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest page the API serves.
const PAGE: u32 = 100;

/// Path segments and query values: everything but unreserved characters escaped.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn escape(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A session's token pair as the client holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// The short-lived access token (a JWT).
    pub access_token: String,
    /// The single-use refresh token; rotated on every refresh.
    pub refresh_token: Option<String>,
}

impl From<&SessionIssued> for Tokens {
    fn from(s: &SessionIssued) -> Self {
        Tokens { access_token: s.access_token.clone(), refresh_token: s.refresh_token.clone() }
    }
}

/// What the client authenticates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Nothing (the public routes: the device grant, the OIDC exchange).
    None,
    /// An API key (`lk_…`), sent as the bearer.
    ApiKey(String),
    /// A person's session: the access token is the bearer, the refresh token
    /// renews it once on a 401.
    Session(Tokens),
}

/// A problem the API answered (RFC 9457).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The stable snake_case code (`invalid_api_key`, `forbidden`, …); for an
    /// answer that was not a problem document, `http_<status>`.
    pub code: String,
    /// The human-readable explanation.
    pub detail: String,
    /// The whole body (some problems carry more, e.g. `slow_down`'s `interval`).
    pub body: serde_json::Value,
}

/// Whatever went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with a problem.
    #[error("{} ({}): {}", .0.code, .0.status, .0.detail)]
    Api(ApiError),
    /// The API could not be reached (DNS, connection, TLS, timeout).
    #[error("cannot reach {url}: {message}")]
    Network {
        /// What was called.
        url: String,
        /// Why it failed.
        message: String,
    },
    /// The answer did not have the expected shape.
    #[error("unexpected answer from {url}: {message}")]
    Decode {
        /// What was called.
        url: String,
        /// What did not parse.
        message: String,
    },
}

impl Error {
    /// The API error, if the API answered one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    fn not_found(detail: impl Into<String>) -> Error {
        let detail = detail.into();
        Error::Api(ApiError {
            status: 404,
            code: "not_found".into(),
            body: serde_json::json!({"status": 404, "code": "not_found", "detail": detail}),
            detail,
        })
    }
}

/// The problem document, read leniently: codes this client does not know
/// (a newer server's) are kept as strings.
#[derive(Deserialize)]
struct ProblemBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

fn api_error(status: u16, text: &str) -> ApiError {
    let body: serde_json::Value = serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.to_owned()));
    let problem: Option<ProblemBody> = serde_json::from_value(body.clone()).ok();
    let code = problem.as_ref().and_then(|p| p.code.clone()).unwrap_or_else(|| format!("http_{status}"));
    let detail =
        problem.and_then(|p| p.detail.or(p.title)).unwrap_or_else(|| text.chars().take(200).collect::<String>());
    ApiError { status, code, detail, body }
}

/// The Latchkey API at one base URL, with one credential.
#[derive(Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
    auth: Mutex<Auth>,
}

impl Client {
    /// A client of the API at `base_url` (e.g. `https://auth.example.com`).
    pub fn new(base_url: &str, auth: Auth) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout(TIMEOUT)
            .user_agent(concat!("latchkey-client/", env!("CARGO_PKG_VERSION")))
            .redirects(0)
            // A fresh connection per request: a pooled one that the server
            // (or wrangler's local proxy) closed while idle fails the next
            // call with an early EOF. A CLI makes a few calls per run.
            .max_idle_connections(0)
            .build();
        Client { base: base_url.trim_end_matches('/').to_owned(), agent, auth: Mutex::new(auth) }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn auth(&self) -> MutexGuard<'_, Auth> {
        self.auth.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The credential now (after any refresh).
    pub fn credential(&self) -> Auth {
        self.auth().clone()
    }

    /// The session's tokens now, if the client holds a session: after a
    /// refresh, the rotated pair (the old refresh token is spent).
    pub fn session(&self) -> Option<Tokens> {
        match &*self.auth() {
            Auth::Session(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// Replaces the credential (e.g. with the session a sign-in issued).
    pub fn set_auth(&self, auth: Auth) {
        *self.auth() = auth;
    }

    fn bearer(&self) -> Option<String> {
        match &*self.auth() {
            Auth::None => None,
            Auth::ApiKey(k) => Some(k.clone()),
            Auth::Session(t) => Some(t.access_token.clone()),
        }
    }

    /// One request, no retry: the status and body text of any HTTP answer.
    fn send(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<(u16, String), Error> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.agent.request(method, &url).set("Accept", "application/json");
        if let Some(bearer) = self.bearer() {
            req = req.set("Authorization", &format!("Bearer {bearer}"));
        }
        let answer = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let response = match answer {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(Error::Network { url, message: t.to_string() }),
        };
        let status = response.status();
        // No body to read (wrangler's local proxy frames a 204 so that reading one fails).
        if status == 204 {
            return Ok((status, String::new()));
        }
        let text = response.into_string().map_err(|e| Error::Network { url: url.clone(), message: e.to_string() })?;
        Ok((status, text))
    }

    /// A request whose 2xx body is returned as text; a 401 with a session
    /// renews the access token once and tries again.
    fn request(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<String, Error> {
        let (mut status, mut text) = self.send(method, path, body)?;
        if status == 401 && self.refresh_token().is_some() {
            self.refresh()?;
            (status, text) = self.send(method, path, body)?;
        }
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(Error::Api(api_error(status, &text)))
        }
    }

    fn decode<T: DeserializeOwned>(&self, path: &str, text: &str) -> Result<T, Error> {
        serde_json::from_str(text)
            .map_err(|e| Error::Decode { url: format!("{}{}", self.base, path), message: e.to_string() })
    }

    fn json<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<&impl Serialize>) -> Result<T, Error> {
        let body = body
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| Error::Decode { url: path.to_owned(), message: e.to_string() })?;
        let text = self.request(method, path, body.as_ref())?;
        self.decode(path, &text)
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.json(method::GET, path, None::<&()>)
    }

    fn empty(&self, method: &str, path: &str) -> Result<(), Error> {
        self.request(method, path, None).map(drop)
    }

    /// Every page of a collection (`?limit=100`, following `next_cursor`).
    fn all<L: DeserializeOwned, T>(
        &self,
        path: &str,
        split: impl Fn(L) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut page = format!("{path}{sep}limit={PAGE}");
            if let Some(c) = &cursor {
                page.push_str(&format!("&cursor={}", escape(c)));
            }
            let (data, next) = split(self.get(&page)?);
            out.extend(data);
            match next {
                Some(n) if cursor.as_deref() != Some(n.as_str()) => cursor = Some(n),
                _ => return Ok(out),
            }
        }
    }

    fn refresh_token(&self) -> Option<String> {
        match &*self.auth() {
            Auth::Session(t) => t.refresh_token.clone(),
            _ => None,
        }
    }

    /// `POST /v1/auth/token`: trades the session's refresh token for a new
    /// pair and keeps it. The spent refresh token is forgotten even when the
    /// refresh is refused (it can never work again).
    pub fn refresh(&self) -> Result<SessionIssued, Error> {
        let Some(refresh_token) = self.refresh_token() else {
            return Err(Error::Api(api_error(401, r#"{"code":"invalid_token","detail":"no refresh token"}"#)));
        };
        let body = serde_json::to_value(RefreshBody { refresh_token })
            .map_err(|e| Error::Decode { url: "/v1/auth/token".into(), message: e.to_string() })?;
        // Sent without the stale bearer.
        let held = std::mem::replace(&mut *self.auth(), Auth::None);
        let answer = self.send(method::POST, "/v1/auth/token", Some(&body));
        let (status, text) = match answer {
            Ok(a) => a,
            Err(e) => {
                *self.auth() = held;
                return Err(e);
            }
        };
        if status != 200 {
            if let Auth::Session(t) = held {
                *self.auth() = Auth::Session(Tokens { refresh_token: None, ..t });
            }
            return Err(Error::Api(api_error(status, &text)));
        }
        let session: SessionIssued = self.decode("/v1/auth/token", &text)?;
        *self.auth() = Auth::Session(Tokens::from(&session));
        Ok(session)
    }

    /// `POST /v1/auth/logout`: ends the session (its access token stops working).
    pub fn logout(&self) -> Result<(), Error> {
        self.empty(method::POST, "/v1/auth/logout")
    }

    /// `GET /v1/me`: the signed-in person.
    pub fn me(&self) -> Result<UserView, Error> {
        self.get("/v1/me")
    }

    /// `GET /v1/api-keys/current`: the API key in use.
    pub fn current_key(&self) -> Result<CurrentKey, Error> {
        self.get("/v1/api-keys/current")
    }

    /// `GET /v1/orgs`, every page: the orgs I belong to, with my role.
    pub fn orgs(&self) -> Result<Vec<OrgView>, Error> {
        self.all("/v1/orgs", |l: OrgList| (l.data, l.next_cursor))
    }

    /// `GET /v1/orgs/{org_id}`.
    pub fn org(&self, org_id: &str) -> Result<OrgView, Error> {
        self.get(&format!("/v1/orgs/{}", escape(org_id)))
    }

    /// The id of an org named by id (`org_…`, taken as it is: no call) or by
    /// slug. With an API key, the key's own org is the only one a slug can
    /// name (reading its slug needs `org:read`); otherwise my orgs are
    /// searched. None matching: a 404 `not_found`.
    pub fn org_id(&self, id_or_slug: &str) -> Result<String, Error> {
        if id_or_slug.starts_with("org_") {
            return Ok(id_or_slug.to_owned());
        }
        let found = match self.credential() {
            Auth::ApiKey(_) => Some(self.org(&self.current_key()?.org_id)?).filter(|o| o.slug == id_or_slug),
            _ => self.orgs()?.into_iter().find(|o| o.slug == id_or_slug),
        };
        found.map(|o| o.id).ok_or_else(|| Error::not_found(format!("no organization {id_or_slug:?} that you can see")))
    }

    /// `GET /v1/orgs/{org_id}/members`, every page.
    pub fn members(&self, org_id: &str) -> Result<Vec<MemberView>, Error> {
        self.all(&format!("/v1/orgs/{}/members", escape(org_id)), |l: MemberList| (l.data, l.next_cursor))
    }

    /// `POST /v1/orgs/{org_id}/invitations`.
    pub fn invite(&self, org_id: &str, email: &str, role: &str) -> Result<InvitationView, Error> {
        let body = CreateInvitationBody { email: email.to_owned(), role: role.to_owned() };
        self.json(method::POST, &format!("/v1/orgs/{}/invitations", escape(org_id)), Some(&body))
    }

    /// `POST /v1/orgs/{org_id}/api-keys`: the answer is the only one that carries `key`.
    pub fn create_key(&self, org_id: &str, body: &CreateApiKeyBody) -> Result<CreatedApiKey, Error> {
        self.json(method::POST, &format!("/v1/orgs/{}/api-keys", escape(org_id)), Some(body))
    }

    /// `GET /v1/orgs/{org_id}/api-keys`, every page.
    pub fn keys(&self, org_id: &str) -> Result<Vec<ApiKeyView>, Error> {
        self.all(&format!("/v1/orgs/{}/api-keys", escape(org_id)), |l: ApiKeyList| (l.data, l.next_cursor))
    }

    /// `DELETE /v1/orgs/{org_id}/api-keys/{id}`.
    pub fn revoke_key(&self, org_id: &str, key_id: &str) -> Result<(), Error> {
        self.empty(method::DELETE, &format!("/v1/orgs/{}/api-keys/{}", escape(org_id), escape(key_id)))
    }

    /// `POST /v1/orgs/{org_id}/api-keys/{id}/rotate`.
    pub fn rotate_key(&self, org_id: &str, key_id: &str, body: &RotateBody) -> Result<CreatedApiKey, Error> {
        let path = format!("/v1/orgs/{}/api-keys/{}/rotate", escape(org_id), escape(key_id));
        self.json(method::POST, &path, Some(body))
    }

    /// `POST /v1/authorize`: may the caller do `permission` in the org or the workspace?
    pub fn authorize(
        &self,
        permission: &str,
        org_id: Option<&str>,
        workspace_id: Option<&str>,
    ) -> Result<Decision, Error> {
        let body = AuthorizeBody {
            permission: permission.to_owned(),
            org_id: org_id.map(str::to_owned),
            workspace_id: workspace_id.map(str::to_owned),
        };
        self.json(method::POST, "/v1/authorize", Some(&body))
    }

    /// `POST /v1/oidc/exchange`: a CI job's OIDC token for a temporary key
    /// (sent without any credential).
    pub fn exchange(&self, token: &str) -> Result<ExchangedKey, Error> {
        let body = serde_json::to_value(ExchangeBody { token: token.to_owned() })
            .map_err(|e| Error::Decode { url: "/v1/oidc/exchange".into(), message: e.to_string() })?;
        let held = std::mem::replace(&mut *self.auth(), Auth::None);
        let answer = self.request(method::POST, "/v1/oidc/exchange", Some(&body));
        *self.auth() = held;
        self.decode("/v1/oidc/exchange", &answer?)
    }
}

/// HTTP method names.
mod method {
    pub const GET: &str = "GET";
    pub const POST: &str = "POST";
    pub const DELETE: &str = "DELETE";
}

/// Requests a GitHub Actions OIDC token for `audience`: GET
/// `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with
/// `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the answer is
/// `{"value": "<jwt>"}`.
pub fn github_id_token(request_url: &str, request_token: &str, audience: &str) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Answer {
        value: String,
    }
    let sep = if request_url.contains('?') { '&' } else { '?' };
    let url = format!("{request_url}{sep}audience={}", escape(audience));
    let agent = ureq::AgentBuilder::new().timeout(TIMEOUT).build();
    let answer = agent.get(&url).set("Authorization", &format!("bearer {request_token}")).call();
    // The request URL carries no secret, but keep it short in messages.
    let shown = request_url.split('?').next().unwrap_or_default().to_owned();
    let response = match answer {
        Ok(r) => r,
        Err(ureq::Error::Status(status, r)) => {
            return Err(Error::Api(api_error(status, &r.into_string().unwrap_or_default())));
        }
        Err(ureq::Error::Transport(t)) => return Err(Error::Network { url: shown, message: t.to_string() }),
    };
    let answer: Answer = response.into_json().map_err(|e| Error::Decode { url: shown, message: e.to_string() })?;
    Ok(answer.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_documents_give_their_code_and_detail() {
        let e = api_error(
            403,
            r#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"no","code":"forbidden"}"#,
        );
        assert_eq!((e.status, e.code.as_str(), e.detail.as_str()), (403, "forbidden", "no"));
        // A code this client has never heard of stays a string.
        let e = api_error(400, r#"{"code":"slow_down","detail":"wait","interval":10}"#);
        assert_eq!(e.code, "slow_down");
        assert_eq!(e.body["interval"], 10);
        // Not a problem document: the status names it, the text explains.
        let e = api_error(502, "Bad gateway");
        assert_eq!((e.code.as_str(), e.detail.as_str()), ("http_502", "Bad gateway"));
    }

    #[test]
    fn path_segments_and_cursors_are_escaped() {
        assert_eq!(escape("org_abc-1.2~x"), "org_abc-1.2~x");
        assert_eq!(escape("a/b?c=d&e f"), "a%2Fb%3Fc%3Dd%26e%20f");
    }

    #[test]
    fn request_bodies_serialize_to_the_documented_shapes() {
        let body = CreateApiKeyBody { name: "ci".into(), scopes: vec!["org:read".into()], expires_in_days: Some(30) };
        assert_eq!(
            serde_json::to_value(&body).unwrap_or_default(),
            serde_json::json!({"name": "ci", "scopes": ["org:read"], "expires_in_days": 30})
        );
    }

    #[test]
    fn an_unreachable_api_is_a_network_error() {
        // A port nothing listens on (bound, then released).
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
        let client = Client::new(&format!("http://127.0.0.1:{}", port.unwrap_or(9)), Auth::None);
        assert!(matches!(client.me(), Err(Error::Network { .. })));
    }
}
