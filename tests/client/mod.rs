//! The product as the tests speak it, for both harnesses: a typed client with
//! one method per endpoint ([`Api`]), a fixture builder ([`Fixture`]: an org
//! with an owner, admins and members, a workspace granted to it, a key with
//! scopes) and the answer they return ([`Reply`]: status, headers, parsed body).
//!
//! Both run over a [`Transport`]: the native harness (tests/testapp: the real
//! router over SQLite, in process) and the runtime harness (tests/support:
//! the built Worker under `wrangler dev`, over HTTP) implement it, and include
//! this file with `#[path = "../client/mod.rs"] mod client;`.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub mod browser;
mod totp;
pub use totp::totp_code;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

/// The password every fixture person signs up with.
pub const PASSWORD: &str = "correct horse battery staple";
/// The display name of a person signed up by [`Api::verified`].
pub const NAME: &str = "Test Person";

/// The notification event types that an org's own actions produce, in the
/// catalogue's order (the others: `invitation.expired`, `org.deleted`, `ping`).
pub const ACTION_EVENT_TYPES: [&str; 13] = [
    "member.added",
    "member.role_changed",
    "member.removed",
    "invitation.created",
    "invitation.accepted",
    "invitation.revoked",
    "api_key.created",
    "api_key.rotated",
    "api_key.revoked",
    "grant.created",
    "grant.revoked",
    "grant.relinquished",
    "org.updated",
];

/// Webhook URLs refused in development too: an IP in another notation,
/// another port, rebinding domains, a workers.dev host.
pub const WEBHOOK_URLS_NEVER_ALLOWED: [&str; 5] = [
    "https://0x7f.1/",
    "https://hooks.example.org:8443/in",
    "https://127.0.0.1.nip.io/in",
    "https://10-0-0-1.sslip.io/in",
    "https://someone.workers.dev/in",
];

// ---------------------------------------------------------------------------
// Answers and transports
// ---------------------------------------------------------------------------

/// An HTTP answer of any status (non-2xx are not errors here).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Header names are lower-case; a repeated header appears once per value.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, `Null` when it is not JSON (see `raw`).
    pub body: Value,
    pub raw: String,
}

impl Reply {
    pub fn new(status: u16, headers: Vec<(String, String)>, raw: String) -> Reply {
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Reply { status, headers, body, raw }
    }

    /// The body parsed as JSON; panics with the status and body if it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.raw)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}); status {}, body:\n{}", self.status, self.raw))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The problem+json `code`, or `""`.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.raw);
        self
    }

    #[track_caller]
    pub fn expect_problem(self, status: u16, code: &str) -> Self {
        assert_eq!((self.status, self.code()), (status, code), "body: {}", self.raw);
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        self
    }

    /// The `id` of what a 200 or 201 answer created or showed.
    #[track_caller]
    pub fn id(&self) -> String {
        assert!(self.status == 201 || self.status == 200, "{}", self.raw);
        self.body["id"].as_str().unwrap_or_else(|| panic!("no id in {}", self.raw)).to_owned()
    }
}

/// One request to the service, as a [`Transport`] carries it.
pub struct Call<'a> {
    pub method: &'a str,
    /// Path and query string.
    pub path: &'a str,
    /// Sent as `Authorization: Bearer …`.
    pub bearer: Option<&'a str>,
    /// Extra request headers (`Origin`, `Cookie`, `X-Latchkey-Client`, …).
    pub headers: &'a [(&'a str, &'a str)],
    /// Sent as JSON.
    pub body: Option<Value>,
}

/// Carries requests to the service and reads the emails it sent.
pub trait Transport {
    /// Sends one request and returns the answer, whatever its status.
    fn exchange(&self, call: Call<'_>) -> Reply;

    /// Every email sent to `to` so far, oldest first, once at least
    /// `at_least` have arrived (each is `{to, subject, text, html, sent_at}`).
    fn emails(&self, to: &str, at_least: usize) -> Vec<Value>;

    /// Unix seconds on the service's clock (for TOTP codes).
    fn now(&self) -> i64;

    /// The service's own origin (its APP_URL's), as a browser sends it in `Origin`.
    fn origin(&self) -> String;

    /// Sends one request; `body` goes as JSON, `bearer` as `Authorization: Bearer …`.
    /// The raw helpers below (`get`, `post`, …) are for what the typed client
    /// does not say: malformed input, query strings, route matrices.
    fn call(&self, method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> Reply {
        self.exchange(Call { method, path, bearer, headers: &[], body })
    }

    /// [`Transport::call`] with extra request headers (`Origin`, `Cookie`,
    /// `X-Latchkey-Client`, …).
    fn call_with_headers(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        self.exchange(Call { method, path, bearer, headers, body })
    }

    fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.call("GET", path, bearer, None)
    }
    fn delete(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.call("DELETE", path, bearer, None)
    }
    fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Reply {
        self.call("POST", path, bearer, Some(body))
    }
    fn patch(&self, path: &str, bearer: Option<&str>, body: Value) -> Reply {
        self.call("PATCH", path, bearer, Some(body))
    }
    fn put(&self, path: &str, bearer: Option<&str>, body: Value) -> Reply {
        self.call("PUT", path, bearer, Some(body))
    }

    /// The typed client over this transport.
    fn api(&self) -> Api<'_>
    where
        Self: Sized,
    {
        Api(self)
    }
}

/// Percent-encodes a query-string component: everything but RFC 3986
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`).
/// The scopes of the member role plus `invitations:write`: a key holding
/// them may invite members.
pub const MEMBER_SCOPES: [&str; 8] = [
    "org:read",
    "members:read",
    "workspaces:read",
    "projects:read",
    "apps:read",
    "apps:deploy",
    "databases:read",
    "invitations:write",
];

pub fn url_encode(s: &str) -> String {
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Finds `"{path}#token="` in an email text and returns the token after it
/// (up to whitespace, a quote, `<`, `>` or `&`). Panics with the text if absent.
#[track_caller]
pub fn extract_token(text: &str, path: &str) -> String {
    let needle = format!("{path}#token=");
    let start = text.find(&needle).unwrap_or_else(|| panic!("no {needle:?} in email text:\n{text}")) + needle.len();
    let token: String = text[start..].chars().take_while(|c| !c.is_whitespace() && !"\"'<>&".contains(*c)).collect();
    assert!(!token.is_empty(), "empty token after {needle:?} in:\n{text}");
    token
}

/// The token of the newest link to `path` in `emails`.
#[track_caller]
pub fn newest_token(emails: &[Value], path: &str) -> String {
    let last = emails.last().expect("no email");
    extract_token(last["text"].as_str().expect("email text"), path)
}

// ---------------------------------------------------------------------------
// Who is calling
// ---------------------------------------------------------------------------

/// Anything that stands for a caller: a session body (`access_token`), a
/// [`Person`], or a bearer string (an access token or an API key).
pub trait Bearer {
    fn bearer(&self) -> String;
}

impl Bearer for str {
    fn bearer(&self) -> String {
        self.to_owned()
    }
}
impl Bearer for String {
    fn bearer(&self) -> String {
        self.clone()
    }
}
impl Bearer for Value {
    fn bearer(&self) -> String {
        self["access_token"].as_str().unwrap_or_else(|| panic!("no access_token in {self}")).to_owned()
    }
}
impl Bearer for Person {
    fn bearer(&self) -> String {
        self.session.bearer()
    }
}
impl<T: Bearer + ?Sized> Bearer for &T {
    fn bearer(&self) -> String {
        (**self).bearer()
    }
}

/// A signed-in person of a fixture.
#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    /// The session body: `access_token`, `refresh_token`, `user`.
    pub session: Value,
}

impl Person {
    pub fn from_session(email: &str, session: Value) -> Person {
        Person { email: email.to_owned(), session }
    }
    pub fn token(&self) -> String {
        self.bearer()
    }
    pub fn id(&self) -> String {
        self.session["user"]["id"].as_str().unwrap_or_else(|| panic!("no user id in {}", self.session)).to_owned()
    }
}

/// A session body, or what holds one.
pub trait Session {
    fn session(&self) -> &Value;
}
impl Session for Value {
    fn session(&self) -> &Value {
        self
    }
}
impl Session for Person {
    fn session(&self) -> &Value {
        &self.session
    }
}
impl<T: Session + ?Sized> Session for &T {
    fn session(&self) -> &Value {
        (**self).session()
    }
}

/// The access token of a session body or a [`Person`].
pub fn access(session: &(impl Session + ?Sized)) -> String {
    session.session().bearer()
}

/// The refresh token of a session body or a [`Person`].
pub fn refresh(session: &(impl Session + ?Sized)) -> String {
    session.session()["refresh_token"].as_str().expect("refresh_token").to_owned()
}

/// What a list shows of a created resource: its answer without the
/// one-time `secrets` (a key, a token and its URL), each of which it must carry.
pub fn as_listed(created: &Value, secrets: &[&str]) -> Value {
    let mut shown = created.clone();
    let fields = shown.as_object_mut().expect("an object");
    for secret in secrets {
        assert!(fields.remove(*secret).is_some(), "no {secret} in {created}");
    }
    shown
}

/// The user id of a session body or a [`Person`].
pub fn user_id(session: &(impl Session + ?Sized)) -> String {
    session.session()["user"]["id"].as_str().expect("user id").to_owned()
}

/// A person with 2FA on, from [`Api::verified_with_2fa`].
#[derive(Debug, Clone)]
pub struct TwoFactor {
    pub person: Person,
    /// The TOTP secret, base32.
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// Where members, invitations and audit logs live: an org or a workspace.
#[derive(Debug, Clone, Copy)]
pub enum Tenant<'a> {
    Org(&'a str),
    Workspace(&'a str),
}

impl Tenant<'_> {
    /// `/v1/orgs/{id}` or `/v1/workspaces/{id}`.
    pub fn path(&self) -> String {
        match self {
            Tenant::Org(id) => format!("/v1/orgs/{id}"),
            Tenant::Workspace(id) => format!("/v1/workspaces/{id}"),
        }
    }
}

// ---------------------------------------------------------------------------
// The typed client: one method per endpoint
// ---------------------------------------------------------------------------

/// One method per endpoint of the API (see `GET /openapi.json`), each
/// returning the [`Reply`] as it came; callers state what they expect.
#[derive(Clone, Copy)]
pub struct Api<'a>(pub &'a dyn Transport);

impl Api<'_> {
    fn get(&self, path: &str, who: Option<String>) -> Reply {
        self.0.call("GET", path, who.as_deref(), None)
    }
    fn delete(&self, path: &str, who: impl Bearer) -> Reply {
        self.0.call("DELETE", path, Some(&who.bearer()), None)
    }
    fn post(&self, path: &str, who: Option<String>, body: Value) -> Reply {
        self.0.call("POST", path, who.as_deref(), Some(body))
    }
    fn patch(&self, path: &str, who: impl Bearer, body: Value) -> Reply {
        self.0.call("PATCH", path, Some(&who.bearer()), Some(body))
    }

    // --- meta ---
    pub fn health(&self) -> Reply {
        self.get("/health", None)
    }
    pub fn openapi(&self) -> Reply {
        self.get("/openapi.json", None)
    }
    pub fn jwks(&self) -> Reply {
        self.get("/.well-known/jwks.json", None)
    }
    /// `GET /v1/dev/emails?to=` (development only).
    pub fn dev_emails(&self, to: &str) -> Reply {
        self.get(&format!("/v1/dev/emails?to={}", url_encode(to)), None)
    }

    // --- accounts ---
    pub fn signup(&self, email: &str, password: &str, name: &str) -> Reply {
        self.post("/v1/auth/signup", None, json!({"email": email, "password": password, "name": name}))
    }
    pub fn signup_invited(&self, email: &str, password: &str, name: &str, invitation_token: &str) -> Reply {
        self.post(
            "/v1/auth/signup",
            None,
            json!({"email": email, "password": password, "name": name, "invitation_token": invitation_token}),
        )
    }
    pub fn verify_email(&self, token: &str, password: &str) -> Reply {
        self.post("/v1/auth/verify-email", None, json!({"token": token, "password": password}))
    }
    pub fn resend_verification(&self, email: &str) -> Reply {
        self.post("/v1/auth/resend-verification", None, json!({"email": email}))
    }
    pub fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/v1/auth/login", None, json!({"email": email, "password": password}))
    }
    pub fn login_mfa(&self, mfa_token: &str, code: &str) -> Reply {
        self.post("/v1/auth/login/mfa", None, json!({"mfa_token": mfa_token, "code": code}))
    }
    pub fn login_recovery(&self, mfa_token: &str, recovery_code: &str) -> Reply {
        self.post("/v1/auth/login/mfa", None, json!({"mfa_token": mfa_token, "recovery_code": recovery_code}))
    }
    pub fn refresh(&self, refresh_token: &str) -> Reply {
        self.post("/v1/auth/token", None, json!({"refresh_token": refresh_token}))
    }
    pub fn logout(&self, who: impl Bearer) -> Reply {
        self.post("/v1/auth/logout", Some(who.bearer()), json!({}))
    }
    pub fn request_password_reset(&self, email: &str) -> Reply {
        self.post("/v1/auth/password-reset", None, json!({"email": email}))
    }
    pub fn confirm_password_reset(&self, token: &str, new_password: &str) -> Reply {
        self.post("/v1/auth/password-reset/confirm", None, json!({"token": token, "new_password": new_password}))
    }

    // --- device sign-in (RFC 8628) ---
    /// `POST /v1/auth/device`, with `client_name` when given.
    pub fn device_request(&self, client_name: Option<&str>) -> Reply {
        let body = match client_name {
            Some(name) => json!({"client_name": name}),
            None => json!({}),
        };
        self.post("/v1/auth/device", None, body)
    }
    /// `POST /v1/auth/device/token` with the device code grant type.
    pub fn device_token(&self, device_code: &str) -> Reply {
        self.post(
            "/v1/auth/device/token",
            None,
            json!({"device_code": device_code, "grant_type": "urn:ietf:params:oauth:grant-type:device_code"}),
        )
    }
    pub fn device_preview(&self, who: impl Bearer, user_code: &str) -> Reply {
        self.post("/v1/auth/device/preview", Some(who.bearer()), json!({"user_code": user_code}))
    }
    pub fn device_approve(&self, who: impl Bearer, user_code: &str) -> Reply {
        self.post("/v1/auth/device/approve", Some(who.bearer()), json!({"user_code": user_code}))
    }
    pub fn device_deny(&self, who: impl Bearer, user_code: &str) -> Reply {
        self.post("/v1/auth/device/deny", Some(who.bearer()), json!({"user_code": user_code}))
    }
    /// `GET /v1/me/audit-log`: the person's own security log.
    pub fn user_audit_log(&self, who: impl Bearer) -> Reply {
        self.get("/v1/me/audit-log", Some(who.bearer()))
    }

    // --- me ---
    pub fn me(&self, who: impl Bearer) -> Reply {
        self.get("/v1/me", Some(who.bearer()))
    }
    pub fn rename_me(&self, who: impl Bearer, name: &str) -> Reply {
        self.patch("/v1/me", who, json!({"name": name}))
    }
    pub fn change_password(&self, who: impl Bearer, current: &str, new: &str) -> Reply {
        self.post("/v1/me/password", Some(who.bearer()), json!({"current_password": current, "new_password": new}))
    }
    pub fn sessions(&self, who: impl Bearer) -> Reply {
        self.get("/v1/me/sessions", Some(who.bearer()))
    }
    pub fn revoke_session(&self, who: impl Bearer, id: &str) -> Reply {
        self.delete(&format!("/v1/me/sessions/{id}"), who)
    }

    // --- two-factor ---
    pub fn enrol_totp(&self, who: impl Bearer) -> Reply {
        self.post("/v1/me/totp", Some(who.bearer()), json!({}))
    }
    pub fn confirm_totp(&self, who: impl Bearer, code: &str) -> Reply {
        self.post("/v1/me/totp/confirm", Some(who.bearer()), json!({"code": code}))
    }
    pub fn disable_totp(&self, who: impl Bearer, code: &str) -> Reply {
        self.0.call("DELETE", "/v1/me/totp", Some(&who.bearer()), Some(json!({"code": code})))
    }
    pub fn regenerate_recovery_codes(&self, who: impl Bearer, code: &str) -> Reply {
        self.post("/v1/me/recovery-codes", Some(who.bearer()), json!({"code": code}))
    }

    // --- organizations ---
    pub fn create_org(&self, who: impl Bearer, name: &str) -> Reply {
        self.post("/v1/orgs", Some(who.bearer()), json!({"name": name}))
    }
    pub fn create_org_with_slug(&self, who: impl Bearer, name: &str, slug: &str) -> Reply {
        self.post("/v1/orgs", Some(who.bearer()), json!({"name": name, "slug": slug}))
    }
    pub fn orgs(&self, who: impl Bearer) -> Reply {
        self.get("/v1/orgs", Some(who.bearer()))
    }
    pub fn org(&self, who: impl Bearer, org: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}"), Some(who.bearer()))
    }
    /// `PATCH /v1/orgs/{org}` with any of `name`, `slug`, `require_2fa`.
    pub fn update_org(&self, who: impl Bearer, org: &str, changes: Value) -> Reply {
        self.patch(&format!("/v1/orgs/{org}"), who, changes)
    }
    pub fn delete_org(&self, who: impl Bearer, org: &str) -> Reply {
        self.delete(&format!("/v1/orgs/{org}"), who)
    }
    pub fn transfer_ownership(&self, who: impl Bearer, org: &str, user_id: &str) -> Reply {
        self.post(&format!("/v1/orgs/{org}/ownership-transfer"), Some(who.bearer()), json!({"user_id": user_id}))
    }

    // --- members, invitations and audit logs of an org or a workspace ---
    /// `GET /v1/orgs/{org}/members?inactive_for_days=…` (raw value, so bad ones can be sent).
    pub fn inactive_members(&self, who: impl Bearer, org: &str, days: &str) -> Reply {
        self.0.get(&format!("/v1/orgs/{org}/members?inactive_for_days={}", url_encode(days)), Some(&who.bearer()))
    }
    /// `GET /v1/orgs/{org}/access-review`, with `?format=` when given.
    pub fn access_review(&self, who: impl Bearer, org: &str, format: Option<&str>) -> Reply {
        let query = format.map(|f| format!("?format={}", url_encode(f))).unwrap_or_default();
        self.0.get(&format!("/v1/orgs/{org}/access-review{query}"), Some(&who.bearer()))
    }
    pub fn members(&self, who: impl Bearer, tenant: Tenant) -> Reply {
        self.get(&format!("{}/members", tenant.path()), Some(who.bearer()))
    }
    pub fn change_role(&self, who: impl Bearer, tenant: Tenant, user_id: &str, role: &str) -> Reply {
        self.patch(&format!("{}/members/{user_id}", tenant.path()), who, json!({"role": role}))
    }
    /// Removes `user_id` (`"me"`: leaves).
    pub fn remove_member(&self, who: impl Bearer, tenant: Tenant, user_id: &str) -> Reply {
        self.delete(&format!("{}/members/{user_id}", tenant.path()), who)
    }
    pub fn invite(&self, who: impl Bearer, tenant: Tenant, email: &str, role: &str) -> Reply {
        self.post(&format!("{}/invitations", tenant.path()), Some(who.bearer()), json!({"email": email, "role": role}))
    }
    pub fn invitations(&self, who: impl Bearer, tenant: Tenant) -> Reply {
        self.get(&format!("{}/invitations", tenant.path()), Some(who.bearer()))
    }
    pub fn revoke_invitation(&self, who: impl Bearer, tenant: Tenant, id: &str) -> Reply {
        self.delete(&format!("{}/invitations/{id}", tenant.path()), who)
    }
    pub fn resend_invitation(&self, who: impl Bearer, tenant: Tenant, id: &str) -> Reply {
        self.post(&format!("{}/invitations/{id}/resend", tenant.path()), Some(who.bearer()), json!({}))
    }
    pub fn audit_log(&self, who: impl Bearer, tenant: Tenant) -> Reply {
        self.get(&format!("{}/audit-log", tenant.path()), Some(who.bearer()))
    }
    pub fn preview_invitation(&self, token: &str) -> Reply {
        self.post("/v1/invitations/preview", None, json!({"token": token}))
    }
    pub fn accept_invitation(&self, who: impl Bearer, token: &str) -> Reply {
        self.post("/v1/invitations/accept", Some(who.bearer()), json!({"token": token}))
    }
    pub fn decline_invitation(&self, who: impl Bearer, token: &str) -> Reply {
        self.post("/v1/invitations/decline", Some(who.bearer()), json!({"token": token}))
    }

    // --- API keys ---
    pub fn create_key(&self, who: impl Bearer, org: &str, name: &str, scopes: &[&str]) -> Reply {
        self.post(&format!("/v1/orgs/{org}/api-keys"), Some(who.bearer()), json!({"name": name, "scopes": scopes}))
    }
    pub fn keys(&self, who: impl Bearer, org: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/api-keys"), Some(who.bearer()))
    }
    pub fn key(&self, who: impl Bearer, org: &str, id: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/api-keys/{id}"), Some(who.bearer()))
    }
    pub fn revoke_key(&self, who: impl Bearer, org: &str, id: &str) -> Reply {
        self.delete(&format!("/v1/orgs/{org}/api-keys/{id}"), who)
    }
    pub fn rotate_key(&self, who: impl Bearer, org: &str, id: &str, grace_period_seconds: i64) -> Reply {
        self.post(
            &format!("/v1/orgs/{org}/api-keys/{id}/rotate"),
            Some(who.bearer()),
            json!({"grace_period_seconds": grace_period_seconds}),
        )
    }
    pub fn current_key(&self, key: impl Bearer) -> Reply {
        self.get("/v1/api-keys/current", Some(key.bearer()))
    }
    /// `GET …/api-keys` with a query string (`?expiring_within_days=7`, …).
    pub fn keys_where(&self, who: impl Bearer, org: &str, query: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/api-keys?{query}"), Some(who.bearer()))
    }
    pub fn create_key_expiring(&self, who: impl Bearer, org: &str, name: &str, scopes: &[&str], days: i64) -> Reply {
        let body = json!({"name": name, "scopes": scopes, "expires_in_days": days});
        self.post(&format!("/v1/orgs/{org}/api-keys"), Some(who.bearer()), body)
    }
    pub fn key_policy(&self, who: impl Bearer, org: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/api-key-policy"), Some(who.bearer()))
    }
    pub fn set_key_policy(&self, who: impl Bearer, org: &str, policy: Value) -> Reply {
        self.0.call("PUT", &format!("/v1/orgs/{org}/api-key-policy"), Some(&who.bearer()), Some(policy))
    }

    // --- custom roles ---
    pub fn permissions(&self, who: impl Bearer) -> Reply {
        self.get("/v1/permissions", Some(who.bearer()))
    }
    pub fn roles(&self, who: impl Bearer, org: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/roles"), Some(who.bearer()))
    }
    pub fn role(&self, who: impl Bearer, org: &str, key: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/roles/{key}"), Some(who.bearer()))
    }
    pub fn create_role(&self, who: impl Bearer, org: &str, key: &str, permissions: &[&str]) -> Reply {
        let body = json!({"key": key, "name": format!("Role {key}"), "permissions": permissions});
        self.post(&format!("/v1/orgs/{org}/roles"), Some(who.bearer()), body)
    }
    pub fn create_role_with(&self, who: impl Bearer, org: &str, body: Value) -> Reply {
        self.post(&format!("/v1/orgs/{org}/roles"), Some(who.bearer()), body)
    }
    pub fn update_role(&self, who: impl Bearer, org: &str, key: &str, changes: Value) -> Reply {
        self.patch(&format!("/v1/orgs/{org}/roles/{key}"), who, changes)
    }
    pub fn delete_role(&self, who: impl Bearer, org: &str, key: &str) -> Reply {
        self.delete(&format!("/v1/orgs/{org}/roles/{key}"), who)
    }

    // --- decisions ---
    pub fn authorize(&self, who: impl Bearer, permission: &str, org: &str) -> Reply {
        self.post("/v1/authorize", Some(who.bearer()), json!({"permission": permission, "org_id": org}))
    }
    pub fn authorize_in_workspace(&self, who: impl Bearer, permission: &str, ws: &str) -> Reply {
        self.post("/v1/authorize", Some(who.bearer()), json!({"permission": permission, "workspace_id": ws}))
    }

    // --- workspaces ---
    pub fn create_workspace(&self, who: impl Bearer, name: &str) -> Reply {
        self.post("/v1/workspaces", Some(who.bearer()), json!({"name": name}))
    }
    pub fn workspaces(&self, who: impl Bearer) -> Reply {
        self.get("/v1/workspaces", Some(who.bearer()))
    }
    pub fn workspace(&self, who: impl Bearer, ws: &str) -> Reply {
        self.get(&format!("/v1/workspaces/{ws}"), Some(who.bearer()))
    }
    pub fn rename_workspace(&self, who: impl Bearer, ws: &str, name: &str) -> Reply {
        self.patch(&format!("/v1/workspaces/{ws}"), who, json!({"name": name}))
    }
    pub fn delete_workspace(&self, who: impl Bearer, ws: &str) -> Reply {
        self.delete(&format!("/v1/workspaces/{ws}"), who)
    }
    pub fn update_billing(&self, who: impl Bearer, ws: &str, plan: &str, billing_email: &str) -> Reply {
        self.0.call(
            "PUT",
            &format!("/v1/workspaces/{ws}/billing"),
            Some(&who.bearer()),
            Some(json!({"plan": plan, "billing_email": billing_email})),
        )
    }

    // --- grants and install links ---
    pub fn grant(&self, who: impl Bearer, ws: &str, org_slug: &str) -> Reply {
        self.post(&format!("/v1/workspaces/{ws}/grants"), Some(who.bearer()), json!({"org_slug": org_slug}))
    }
    pub fn grants(&self, who: impl Bearer, ws: &str) -> Reply {
        self.get(&format!("/v1/workspaces/{ws}/grants"), Some(who.bearer()))
    }
    pub fn revoke_grant(&self, who: impl Bearer, ws: &str, org: &str) -> Reply {
        self.delete(&format!("/v1/workspaces/{ws}/grants/{org}"), who)
    }
    pub fn create_install_link(&self, who: impl Bearer, org: &str) -> Reply {
        self.post(&format!("/v1/orgs/{org}/install-links"), Some(who.bearer()), json!({}))
    }
    pub fn install_links(&self, who: impl Bearer, org: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/install-links"), Some(who.bearer()))
    }
    pub fn revoke_install_link(&self, who: impl Bearer, org: &str, id: &str) -> Reply {
        self.delete(&format!("/v1/orgs/{org}/install-links/{id}"), who)
    }
    pub fn preview_install_link(&self, who: impl Bearer, token: &str) -> Reply {
        self.post("/v1/install-links/preview", Some(who.bearer()), json!({"token": token}))
    }
    pub fn accept_install_link(&self, who: impl Bearer, token: &str, ws: &str) -> Reply {
        self.post("/v1/install-links/accept", Some(who.bearer()), json!({"token": token, "workspace_id": ws}))
    }
    // --- platform administrators ---
    pub fn admin_lookup(&self, who: impl Bearer, email: &str, code: &str) -> Reply {
        self.post("/v1/admin/users/lookup", Some(who.bearer()), json!({"email": email, "code": code}))
    }
    /// `action`: `suspend`, `unsuspend` or `reset-2fa`.
    pub fn admin_act(&self, who: impl Bearer, user_id: &str, action: &str, code: &str) -> Reply {
        self.post(&format!("/v1/admin/users/{user_id}/{action}"), Some(who.bearer()), json!({"code": code}))
    }
    pub fn admin_audit_log(&self, who: impl Bearer) -> Reply {
        self.get("/v1/admin/audit-log", Some(who.bearer()))
    }

    // --- join links ---
    pub fn create_join_link(&self, who: impl Bearer, org: &str, body: Value) -> Reply {
        self.post(&format!("/v1/orgs/{org}/join-links"), Some(who.bearer()), body)
    }
    pub fn join_links(&self, who: impl Bearer, org: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/join-links"), Some(who.bearer()))
    }
    pub fn revoke_join_link(&self, who: impl Bearer, org: &str, id: &str) -> Reply {
        self.delete(&format!("/v1/orgs/{org}/join-links/{id}"), who)
    }
    /// Anonymous with `who` = None.
    pub fn preview_join_link(&self, who: Option<&dyn Bearer>, token: &str) -> Reply {
        self.post("/v1/join-links/preview", who.map(|w| w.bearer()), json!({"token": token}))
    }
    pub fn accept_join_link(&self, who: impl Bearer, token: &str) -> Reply {
        self.post("/v1/join-links/accept", Some(who.bearer()), json!({"token": token}))
    }
    pub fn ask_to_join(&self, who: impl Bearer, org: &str) -> Reply {
        self.post(&format!("/v1/orgs/{org}/membership-requests"), Some(who.bearer()), json!({}))
    }
    pub fn membership_requests(&self, who: impl Bearer, org: &str, status: Option<&str>) -> Reply {
        let q = status.map(|s| format!("?status={s}")).unwrap_or_default();
        self.get(&format!("/v1/orgs/{org}/membership-requests{q}"), Some(who.bearer()))
    }
    pub fn approve_membership_request(&self, who: impl Bearer, org: &str, id: &str, role: &str) -> Reply {
        self.post(
            &format!("/v1/orgs/{org}/membership-requests/{id}/approve"),
            Some(who.bearer()),
            json!({"role": role}),
        )
    }
    pub fn deny_membership_request(&self, who: impl Bearer, org: &str, id: &str) -> Reply {
        self.post(&format!("/v1/orgs/{org}/membership-requests/{id}/deny"), Some(who.bearer()), json!({}))
    }
    pub fn my_membership_requests(&self, who: impl Bearer) -> Reply {
        self.get("/v1/me/membership-requests", Some(who.bearer()))
    }
    pub fn withdraw_membership_request(&self, who: impl Bearer, id: &str) -> Reply {
        self.delete(&format!("/v1/me/membership-requests/{id}"), who)
    }
    pub fn signup_through_join_link(&self, email: &str, password: &str, join_token: &str) -> Reply {
        self.post(
            "/v1/auth/signup",
            None,
            json!({"email": email, "password": password, "name": "Joiner", "join_token": join_token}),
        )
    }

    pub fn managed_workspaces(&self, who: impl Bearer, org: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/managed-workspaces"), Some(who.bearer()))
    }
    pub fn relinquish(&self, who: impl Bearer, org: &str, ws: &str) -> Reply {
        self.delete(&format!("/v1/orgs/{org}/managed-workspaces/{ws}"), who)
    }

    // --- verified domains ---

    pub fn add_domain(&self, who: impl Bearer, org: &str, domain: &str) -> Reply {
        self.post(&format!("/v1/orgs/{org}/domains"), Some(who.bearer()), json!({"domain": domain}))
    }
    pub fn domains(&self, who: impl Bearer, org: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/domains"), Some(who.bearer()))
    }
    pub fn domain(&self, who: impl Bearer, org: &str, id: &str) -> Reply {
        self.get(&format!("/v1/orgs/{org}/domains/{id}"), Some(who.bearer()))
    }
    pub fn verify_domain(&self, who: impl Bearer, org: &str, id: &str) -> Reply {
        self.post(&format!("/v1/orgs/{org}/domains/{id}/verify"), Some(who.bearer()), json!({}))
    }
    pub fn update_domain(&self, who: impl Bearer, org: &str, id: &str, changes: Value) -> Reply {
        self.patch(&format!("/v1/orgs/{org}/domains/{id}"), who, changes)
    }
    pub fn delete_domain(&self, who: impl Bearer, org: &str, id: &str) -> Reply {
        self.delete(&format!("/v1/orgs/{org}/domains/{id}"), who)
    }
    pub fn suggested_orgs(&self, who: impl Bearer) -> Reply {
        self.get("/v1/me/suggested-orgs", Some(who.bearer()))
    }

    // --- flows made of several calls ---

    /// The token of the newest link to `path` emailed to `to`, once at least
    /// `at_least` emails have arrived.
    pub fn emailed_token(&self, to: &str, path: &str, at_least: usize) -> String {
        newest_token(&self.0.emails(to, at_least), path)
    }

    /// Signs `email` up (name [`NAME`], [`PASSWORD`]) and verifies through
    /// the emailed link. The person, signed in.
    pub fn verified(&self, email: &str) -> Person {
        self.verified_as(email, NAME)
    }

    /// [`Api::verified`] with a display name.
    pub fn verified_as(&self, email: &str, name: &str) -> Person {
        let before = self.0.emails(email, 0).len();
        self.signup(email, PASSWORD, name).expect(202);
        let token = self.emailed_token(email, "/verify-email", before + 1);
        Person::from_session(email, self.verify_email(&token, PASSWORD).expect(200).body)
    }

    /// [`Api::verified`], then 2FA: enrols (an `otpauth://` URI and a QR
    /// code), confirms with the current code, gets 10 recovery codes.
    pub fn verified_with_2fa(&self, email: &str) -> TwoFactor {
        let person = self.verified(email);
        let e = self.enrol_totp(&person).expect(200).body;
        let secret = e["secret"].as_str().expect("secret").to_owned();
        assert!(e["otpauth_uri"].as_str().unwrap_or("").starts_with("otpauth://totp/Latchkey:"), "{e}");
        assert!(e["qr_svg"].as_str().unwrap_or("").contains("<svg"), "{e}");
        let code = totp_code(&secret, self.0.now());
        let r = self.confirm_totp(&person, &code).expect(200).body;
        let recovery_codes: Vec<String> = r["recovery_codes"]
            .as_array()
            .expect("recovery codes")
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(recovery_codes.len(), 10);
        TwoFactor { person, secret, recovery_codes }
    }

    /// Signs in with [`PASSWORD`] as someone with 2FA: the MFA token (and no session yet).
    pub fn mfa_token(&self, email: &str) -> String {
        let r = self.login(email, PASSWORD).expect(200).body;
        assert_eq!(r["mfa_required"], true, "{r}");
        assert!(r.get("access_token").is_none(), "{r}");
        r["mfa_token"].as_str().expect("mfa_token").to_owned()
    }

    /// Invites `email` to `tenant` as `role` and returns the emailed token.
    pub fn invitation_token(&self, who: impl Bearer, tenant: Tenant, email: &str, role: &str) -> String {
        let before = self.0.emails(email, 0).len();
        self.invite(who, tenant, email, role).expect(201);
        self.emailed_token(email, "/invite", before + 1)
    }

    /// Invites `email` as `role` and has them sign up through the invitation
    /// (name `"{role} person"`). The new member, signed in.
    pub fn join(&self, who: impl Bearer, tenant: Tenant, email: &str, role: &str) -> Person {
        let token = self.invitation_token(who, tenant, email, role);
        let session = self.signup_invited(email, PASSWORD, &format!("{role} person"), &token).expect(201).body;
        Person::from_session(email, session)
    }
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// The people, org, workspace and key a test starts from, built step by step:
///
/// ```ignore
/// let f = Fixture::new(TestApp::new())
///     .org_owned_by("vendor", "Vendor", Some("vendor"))   // vendor@example.com creates it
///     .join_org("admin", "admin")                           // admin@example.com, invited, signs up
///     .workspace_with_grant("vendor")                       // customer@example.com's "Shop", granted
///     .join_workspace("seat", "member")                     // a direct seat in the workspace
///     .key_with_scopes(&["org:read"])                       // the org's key, created by its owner
///     .with_stranger();                                     // stranger@example.com, in nothing
/// f.api().change_role(f.owner(), f.tenant(), &f.who("admin").id(), "member").expect(200);
/// ```
///
/// `org_with(name, roles)` is the common case: `owner@example.com` creates
/// the org and one `{role}@example.com` per role joins it.
pub struct Fixture<T: Transport> {
    pub app: T,
    /// The org's id (`""` before [`Fixture::org_with`]).
    pub org: String,
    /// The workspace's id (`""` before [`Fixture::workspace_with_grant`]).
    pub ws: String,
    /// The API key's secret (`""` before [`Fixture::key_with_scopes`]).
    pub key: String,
    /// The key as created (`id`, `key`, `scopes`, …).
    pub key_body: Value,
    people: Vec<(String, Person)>,
    /// The labels of the org's owner and of the workspace's (the customer).
    org_owner: String,
    ws_owner: String,
}

impl<T: Transport> Fixture<T> {
    pub fn new(app: T) -> Self {
        Fixture {
            app,
            org: String::new(),
            ws: String::new(),
            key: String::new(),
            key_body: Value::Null,
            people: Vec::new(),
            org_owner: String::new(),
            ws_owner: String::new(),
        }
    }

    pub fn api(&self) -> Api<'_> {
        Api(&self.app)
    }

    /// The org as a [`Tenant`].
    pub fn tenant(&self) -> Tenant<'_> {
        assert!(!self.org.is_empty(), "the fixture has no org: call org_with first");
        Tenant::Org(&self.org)
    }

    /// The workspace as a [`Tenant`].
    pub fn workspace(&self) -> Tenant<'_> {
        assert!(!self.ws.is_empty(), "the fixture has no workspace: call workspace_with_grant first");
        Tenant::Workspace(&self.ws)
    }

    /// An org called `name` created by `owner@example.com`, with one member
    /// `{role}@example.com` per entry of `roles`, joined by invitation.
    pub fn org_with(self, name: &str, roles: &[&str]) -> Self {
        let mut f = self.org_owned_by("owner", name, None);
        for role in roles {
            f = f.join_org(role, role);
        }
        f
    }

    /// An org called `name` (with `slug`, if given) created by
    /// `{owner}@example.com`, whom the fixture calls `owner`.
    pub fn org_owned_by(mut self, owner: &str, name: &str, slug: Option<&str>) -> Self {
        let api = Api(&self.app);
        let person = api.verified(&format!("{owner}@example.com"));
        let created = match slug {
            Some(slug) => api.create_org_with_slug(&person, name, slug),
            None => api.create_org(&person, name),
        };
        self.org = created.expect(201).id();
        self.org_owner = owner.to_owned();
        self.with_person(owner, person)
    }

    /// `{label}@example.com` joins the org as `role`: invited by its owner,
    /// signed up through the emailed invitation.
    pub fn join_org(self, label: &str, role: &str) -> Self {
        let owner = self.who(&self.org_owner).clone();
        let person = self.api().join(&owner, self.tenant(), &format!("{label}@example.com"), role);
        self.with_person(label, person)
    }

    /// A verified person with no org, `{label}@example.com`.
    pub fn person(self, label: &str) -> Self {
        let person = self.api().verified(&format!("{label}@example.com"));
        self.with_person(label, person)
    }

    /// Adds someone made outside the builder under `label`.
    pub fn with_person(mut self, label: &str, person: Person) -> Self {
        self.people.push((label.to_owned(), person));
        self
    }

    /// `stranger@example.com`: verified, in nothing of the fixture's.
    pub fn with_stranger(self) -> Self {
        self.person("stranger")
    }

    /// A workspace called `name` of `{customer}@example.com`, the fixture's
    /// [`Fixture::customer`].
    pub fn workspace_of(mut self, customer: &str, name: &str) -> Self {
        let person = self.api().verified(&format!("{customer}@example.com"));
        self.ws = self.api().create_workspace(&person, name).expect(201).id();
        self.ws_owner = customer.to_owned();
        self.with_person(customer, person)
    }

    /// The customer grants the workspace to the org with `org_slug`.
    pub fn grant_to_org(self, org_slug: &str) -> Self {
        self.api().grant(self.customer(), &self.ws, org_slug).expect(201);
        self
    }

    /// A workspace "Shop" of `customer@example.com`, granted to the org
    /// (which needs a slug: see [`Fixture::org_owned_by`]).
    pub fn workspace_with_grant(self, org_slug: &str) -> Self {
        self.workspace_of("customer", "Shop").grant_to_org(org_slug)
    }

    /// `customer@example.com`'s workspace "Shop" with both kinds of seat:
    /// granted to the org "Vendor" (slug `vendor`, owned by `vendor@`, whose
    /// member `vm@` is an admin there through the grant), and direct seats
    /// `wsadmin@` (admin) and `wsmember@` (member).
    pub fn shop_shared_with_vendor(self) -> Self {
        self.workspace_of("customer", "Shop")
            .org_owned_by("vendor", "Vendor", Some("vendor"))
            .join_org("vm", "member")
            .grant_to_org("vendor")
            .join_workspace("wsadmin", "admin")
            .join_workspace("wsmember", "member")
    }

    /// `{label}@example.com` takes a direct seat in the workspace as `role`:
    /// invited by the customer, signed up through the emailed invitation.
    pub fn join_workspace(self, label: &str, role: &str) -> Self {
        let person = self.api().join(self.customer(), self.workspace(), &format!("{label}@example.com"), role);
        self.with_person(label, person)
    }

    /// An API key of the org named "CI/CD pipeline", created by the org's owner.
    pub fn key_with_scopes(mut self, scopes: &[&str]) -> Self {
        let owner = self.owner().clone();
        let body = self.api().create_key(&owner, &self.org, "CI/CD pipeline", scopes).expect(201).body;
        self.key = body["key"].as_str().expect("key shown once").to_owned();
        self.key_body = body;
        self
    }

    /// The person the fixture calls `label` ("owner", a role, "stranger", "customer", …).
    #[track_caller]
    pub fn who(&self, label: &str) -> &Person {
        self.people
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("the fixture has no {label:?}"))
    }
    /// The org's owner.
    #[track_caller]
    pub fn owner(&self) -> &Person {
        self.who(&self.org_owner)
    }
    #[track_caller]
    pub fn admin(&self) -> &Person {
        self.who("admin")
    }
    #[track_caller]
    pub fn member(&self) -> &Person {
        self.who("member")
    }
    #[track_caller]
    pub fn stranger(&self) -> &Person {
        self.who("stranger")
    }
    /// The workspace's owner.
    #[track_caller]
    pub fn customer(&self) -> &Person {
        self.who(&self.ws_owner)
    }
}
