//! A fake GitHub, Google and GitLab on one loopback port, speaking each
//! provider's real shapes, for the OAuth tests (native and in workerd):
//!
//! * authorization pages (`/github/login/oauth/authorize`,
//!   `/google/o/oauth2/v2/auth`, `/gitlab/oauth/authorize`) with an
//!   "Approve" link to `/approve`, which mints a code for the provider's
//!   current user and redirects to the `redirect_uri` with `code` and `state`;
//! * token endpoints that check the client, the code (once), the
//!   `redirect_uri` and the PKCE S256 verifier. GitHub answers errors with
//!   **HTTP 200** and an `error` field, and answers form-encoded unless asked
//!   for JSON; Google and GitLab answer `400 {"error":"invalid_grant"}` and
//!   return an ID token (`iss`, `aud`, `exp`, `nonce`, `sub`, `email`,
//!   `email_verified`; signature bytes are junk: the service must not need
//!   them, OIDC Core §3.1.3.7);
//! * GitHub's `/user` and `/user/emails` (403 without a `User-Agent`, like
//!   GitHub), the emails list always holding an unverified secondary address;
//!   GitLab's `/oauth/userinfo`.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{SystemTime, UNIX_EPOCH};

/// Who is signed in at the fake provider.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// GitHub's numeric id, or the OIDC `sub`.
    pub id: String,
    /// The primary address, if any.
    pub email: Option<String>,
    /// How `email_verified` is sent: `true`, `false`, `"false"`, …
    pub email_verified: Value,
    /// Display name.
    pub name: String,
}

impl FakeUser {
    /// A user with a verified address.
    pub fn verified(id: &str, email: &str) -> Self {
        Self { id: id.into(), email: Some(email.into()), email_verified: json!(true), name: format!("Fake {id}") }
    }

    /// A user whose address the provider has not verified.
    pub fn unverified(id: &str, email: &str) -> Self {
        Self { email_verified: json!(false), ..Self::verified(id, email) }
    }

    fn verified_bool(&self) -> bool {
        match &self.email_verified {
            Value::Bool(b) => *b,
            Value::String(s) => s == "true",
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
struct Grant {
    provider: String,
    user: FakeUser,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    used: bool,
}

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    users: Mutex<HashMap<String, FakeUser>>,
    grants: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, (String, FakeUser)>>,
    seen: Mutex<Vec<Seen>>,
    wrong_nonce: AtomicBool,
    redirect_token_endpoint: AtomicBool,
    counter: AtomicU64,
    stop: AtomicBool,
}

/// The fake, on `127.0.0.1:<free port>`; stopped on drop.
pub struct FakeProvider {
    server: Arc<tiny_http::Server>,
    state: Arc<State>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

pub const CLIENTS: [(&str, &str, &str); 3] = [
    ("github", "github-client-id", "github-client-secret"),
    ("google", "google-client-id.apps.example", "google-client-secret"),
    ("gitlab", "gitlab-application-id", "gitlab-secret"),
];

/// An org's own OpenID provider (single sign-on): discovery at
/// `/idp/.well-known/openid-configuration`, issuer `{base}/idp`.
pub const IDP_CLIENT: (&str, &str, &str) = ("idp", "idp-client-id", "idp-client-secret");

fn client(provider: &str) -> (&'static str, &'static str) {
    let (_, id, secret) = CLIENTS.iter().chain([&IDP_CLIENT]).find(|(p, _, _)| *p == provider).expect("known provider");
    (id, secret)
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

impl FakeProvider {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("start fake provider"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let state = Arc::new(State::default());
        let thread = {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            thread::Builder::new()
                .name("fake-provider".into())
                .spawn(move || serve(&server, &state, port))
                .expect("spawn fake provider")
        };
        let fake = Self { server, state, port, thread: Some(thread) };
        for (p, id) in [("github", "1001"), ("google", "g-1001"), ("gitlab", "2001"), ("idp", "idp-1001")] {
            fake.sign_in(p, FakeUser::verified(id, &format!("{p}-person@example.com")));
        }
        fake
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every `OAUTH_*` variable a Worker needs to use this fake for all three providers.
    pub fn worker_vars(&self) -> Vec<(String, String)> {
        let b = self.base();
        let mut vars = vec![
            ("OAUTH_GITHUB_AUTHORIZE_URL".to_string(), format!("{b}/github/login/oauth/authorize")),
            ("OAUTH_GITHUB_TOKEN_URL".into(), format!("{b}/github/login/oauth/access_token")),
            ("OAUTH_GITHUB_API_URL".into(), format!("{b}/github/api")),
            ("OAUTH_GOOGLE_AUTHORIZE_URL".into(), format!("{b}/google/o/oauth2/v2/auth")),
            ("OAUTH_GOOGLE_TOKEN_URL".into(), format!("{b}/google/token")),
            ("OAUTH_GOOGLE_ISSUER".into(), format!("{b}/google")),
            ("OAUTH_GITLAB_BASE_URL".into(), format!("{b}/gitlab")),
        ];
        for (p, id, secret) in CLIENTS {
            vars.push((format!("OAUTH_{}_CLIENT_ID", p.to_uppercase()), id.to_string()));
            vars.push((format!("OAUTH_{}_CLIENT_SECRET", p.to_uppercase()), secret.to_string()));
        }
        vars
    }

    /// The SSO issuer (`{base}/idp`).
    pub fn idp_issuer(&self) -> String {
        format!("{}/idp", self.base())
    }

    /// Makes `user` the one who approves at `provider` from now on.
    pub fn sign_in(&self, provider: &str, user: FakeUser) {
        self.state.users.lock().unwrap().insert(provider.to_string(), user);
    }

    /// Puts a nonce other than the one asked for into the next ID tokens.
    pub fn send_wrong_nonce(&self, on: bool) {
        self.state.wrong_nonce.store(on, Ordering::SeqCst);
    }

    /// Makes the token endpoints answer with a redirect (which must not be followed).
    pub fn redirect_token_endpoint(&self, on: bool) {
        self.state.redirect_token_endpoint.store(on, Ordering::SeqCst);
    }

    /// Requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// What the person's browser does at the provider: follows the
    /// authorization URL and approves. Returns the callback URL (ours, with
    /// `code` and `state`) that the provider redirects to.
    pub fn approve(&self, authorize_url: &str) -> String {
        let (path, query) = authorize_url.split_once('?').expect("authorize URL has a query");
        let provider = ["github", "google", "gitlab", "idp"]
            .into_iter()
            .find(|p| path.starts_with(&format!("{}/{p}/", self.base())))
            .unwrap_or_else(|| panic!("not this fake's authorize URL: {authorize_url}"));
        let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        approve(&self.state, provider, &params).expect("approve")
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn random_token(state: &State, prefix: &str) -> String {
    let n = state.counter.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{}", hex::encode(Sha256::digest(format!("{n}:{nanos}").as_bytes())))
}

/// Mints a code for the provider's current user; returns where to redirect.
fn approve(state: &State, provider: &str, params: &HashMap<String, String>) -> Result<String, String> {
    let get = |k: &str| params.get(k).cloned().ok_or_else(|| format!("missing {k}"));
    let (client_id, _) = client(provider);
    if get("client_id")? != client_id {
        return Err("unknown client_id".into());
    }
    if get("code_challenge_method")? != "S256" {
        return Err("PKCE S256 required".into());
    }
    if get("response_type")? != "code" {
        return Err("response_type must be code".into());
    }
    let redirect_uri = get("redirect_uri")?;
    let registered = if provider == "idp" {
        redirect_uri.contains("/v1/auth/sso/ssc_") && redirect_uri.ends_with("/callback")
    } else {
        redirect_uri.ends_with(&format!("/v1/auth/oauth/{provider}/callback"))
    };
    if !registered {
        return Err(format!("redirect_uri {redirect_uri} is not the registered callback"));
    }
    let user = state.users.lock().unwrap().get(provider).cloned().ok_or("nobody signed in")?;
    let code = random_token(state, "code_");
    state.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            provider: provider.into(),
            user,
            redirect_uri: redirect_uri.clone(),
            challenge: get("code_challenge")?,
            nonce: params.get("nonce").cloned(),
            used: false,
        },
    );
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &code)
        .append_pair("state", &get("state")?)
        .finish();
    Ok(format!("{redirect_uri}?{query}"))
}

fn jwt(claims: &Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{}", enc(&json!({"alg": "RS256", "kid": "fake", "typ": "JWT"})), enc(claims), "bm90LWEtc2lnbmF0dXJl")
}

type Answer = (u16, String, &'static str, Vec<(String, String)>);

fn json_answer(status: u16, v: Value) -> Answer {
    (status, v.to_string(), "application/json", Vec::new())
}

/// Redeems a code at a token endpoint: the grant, or the OAuth error code.
fn redeem(state: &State, provider: &str, form: &HashMap<String, String>) -> Result<Grant, &'static str> {
    let (client_id, secret) = client(provider);
    if form.get("client_id").map(String::as_str) != Some(client_id)
        || form.get("client_secret").map(String::as_str) != Some(secret)
    {
        return Err("invalid_client");
    }
    let code = form.get("code").ok_or("invalid_request")?;
    let mut grants = state.grants.lock().unwrap();
    let grant = grants.get_mut(code).ok_or("bad_verification_code")?;
    if grant.used || grant.provider != provider {
        return Err("bad_verification_code");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Err("redirect_uri_mismatch");
    }
    let verifier = form.get("code_verifier").ok_or("invalid_grant")?;
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return Err("invalid_grant");
    }
    grant.used = true;
    Ok(grant.clone())
}

fn bearer_user(state: &State, headers: &[(String, String)], provider: &str) -> Option<FakeUser> {
    let auth = headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str())?;
    let token = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("token "))?;
    let tokens = state.tokens.lock().unwrap();
    let (p, user) = tokens.get(token)?;
    (p == provider).then(|| user.clone())
}

fn route(state: &State, port: u16, method: &str, url: &str, headers: &[(String, String)], body: &str) -> Answer {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let base = format!("http://127.0.0.1:{port}");
    let issue = |provider: &str, grant: &Grant| -> String {
        let token = random_token(state, if provider == "github" { "gho_" } else { "ya29." });
        state.tokens.lock().unwrap().insert(token.clone(), (provider.to_string(), grant.user.clone()));
        token
    };
    match (method, path) {
        ("GET", "/idp/.well-known/openid-configuration") => json_answer(
            200,
            json!({"issuer": format!("{base}/idp"), "authorization_endpoint": format!("{base}/idp/authorize"),
                   "token_endpoint": format!("{base}/idp/token"), "jwks_uri": format!("{base}/idp/jwks"),
                   "response_types_supported": ["code"], "subject_types_supported": ["public"],
                   "id_token_signing_alg_values_supported": ["RS256"]}),
        ),
        (
            "GET",
            "/github/login/oauth/authorize" | "/google/o/oauth2/v2/auth" | "/gitlab/oauth/authorize" | "/idp/authorize",
        ) => {
            let provider = path.split('/').nth(1).unwrap_or_default();
            let html = format!(
                "<!doctype html><title>Fake {provider}</title><h1>Authorize Latchkey?</h1>\
                 <a id=\"approve\" href=\"/approve/{provider}?{query}\">Approve</a>"
            );
            (200, html, "text/html", Vec::new())
        }
        ("GET", p) if p.starts_with("/approve/") => match approve(state, &p["/approve/".len()..], &params) {
            Ok(location) => (302, String::new(), "text/plain", vec![("Location".into(), location)]),
            Err(why) => (400, why, "text/plain", Vec::new()),
        },
        ("POST", "/github/login/oauth/access_token") => {
            let answer = match redeem(state, "github", &form) {
                Ok(grant) => {
                    json!({"access_token": issue("github", &grant), "token_type": "bearer", "scope": "read:user,user:email"})
                }
                // GitHub: errors with HTTP 200.
                Err(e) => json!({"error": e, "error_description": "The code passed is incorrect or expired.",
                                 "error_uri": "https://docs.github.com/apps/troubleshooting"}),
            };
            if header("accept") == Some("application/json") {
                json_answer(200, answer)
            } else {
                let form: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(
                        answer
                            .as_object()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())),
                    )
                    .finish();
                (200, form, "application/x-www-form-urlencoded", Vec::new())
            }
        }
        ("GET", "/github/api/user" | "/github/api/user/emails") => {
            if header("user-agent").is_none_or(str::is_empty) {
                return (
                    403,
                    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"
                        .into(),
                    "text/plain",
                    Vec::new(),
                );
            }
            let Some(user) = bearer_user(state, headers, "github") else {
                return json_answer(401, json!({"message": "Bad credentials"}));
            };
            if path.ends_with("/emails") {
                let mut list = vec![
                    json!({"email": format!("unverified-spare-{}@example.com", user.id), "primary": false, "verified": false, "visibility": null}),
                ];
                if let Some(email) = &user.email {
                    list.push(json!({"email": email, "primary": true, "verified": user.verified_bool(), "visibility": "private"}));
                }
                json_answer(200, Value::Array(list))
            } else {
                let id: u64 = user.id.parse().expect("GitHub ids are numeric");
                json_answer(200, json!({"login": format!("octo{id}"), "id": id, "name": user.name, "email": null}))
            }
        }
        ("POST", "/google/token" | "/gitlab/oauth/token" | "/idp/token") => {
            let provider = path[1..].split('/').next().unwrap_or_default();
            if state.redirect_token_endpoint.load(Ordering::SeqCst) {
                return (302, String::new(), "text/plain", vec![("Location".into(), format!("{base}/elsewhere"))]);
            }
            if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
                return json_answer(400, json!({"error": "unsupported_grant_type"}));
            }
            match redeem(state, provider, &form) {
                Ok(grant) => {
                    let (client_id, _) = client(provider);
                    let nonce = if state.wrong_nonce.load(Ordering::SeqCst) {
                        Some("not-the-nonce-you-sent".to_string())
                    } else {
                        grant.nonce.clone()
                    };
                    let mut claims = json!({"iss": format!("{base}/{provider}"), "aud": client_id, "azp": client_id,
                        "sub": grant.user.id, "iat": now(), "exp": now() + 3600, "nonce": nonce,
                        "email_verified": grant.user.email_verified, "name": grant.user.name});
                    if let Some(email) = &grant.user.email {
                        claims["email"] = json!(email);
                    }
                    json_answer(
                        200,
                        json!({"access_token": issue(provider, &grant), "token_type": "Bearer",
                        "expires_in": 3599, "scope": "openid email profile", "id_token": jwt(&claims)}),
                    )
                }
                Err("invalid_client") => json_answer(401, json!({"error": "invalid_client"})),
                Err(_) => json_answer(400, json!({"error": "invalid_grant", "error_description": "Bad Request"})),
            }
        }
        ("GET", "/gitlab/oauth/userinfo") => match bearer_user(state, headers, "gitlab") {
            Some(user) => {
                let mut info = json!({"sub": user.id, "name": user.name, "nickname": format!("gl{}", user.id),
                    "email_verified": user.email_verified});
                if let Some(email) = &user.email {
                    info["email"] = json!(email);
                }
                json_answer(200, info)
            }
            None => json_answer(401, json!({"error": "invalid_token"})),
        },
        _ => json_answer(404, json!({"message": "Not Found"})),
    }
}

fn serve(server: &tiny_http::Server, state: &State, port: u16) {
    loop {
        let mut req = match server.recv() {
            Ok(req) => req,
            Err(_) if state.stop.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        };
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_string()))
            .collect();
        let mut body = String::new();
        let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
        let method = req.method().to_string();
        let url = req.url().to_string();
        state.seen.lock().unwrap().push(Seen {
            method: method.clone(),
            path: url.split('?').next().unwrap_or("").to_string(),
            headers: headers.clone(),
        });
        let (status, text, content_type, extra) = route(state, port, &method, &url, &headers, &body);
        let mut response = tiny_http::Response::from_string(text)
            .with_status_code(status)
            .with_header(tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()).unwrap());
        for (k, v) in extra {
            response = response.with_header(tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap());
        }
        let _ = req.respond(response);
    }
}
