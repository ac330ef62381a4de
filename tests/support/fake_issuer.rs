//! A fake OIDC issuer (GitHub Actions or GitLab CI, as far as workload
//! identity cares) on a loopback port: its own P-256 key pair, the discovery
//! document at `/.well-known/openid-configuration`, the JWKS at `/jwks`, and
//! `mint` to sign tokens (ES256) with the claims a test chooses. Its URL is
//! the issuer; tests name it in `OIDC_EXTRA_ISSUERS`.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use jwt_compact::alg::Es256;
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, Header};
use p256::ecdsa::{SigningKey, VerifyingKey};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

const KID: &str = "fake-1";

struct State {
    jwks: Value,
    fetches: AtomicUsize,
    stop: AtomicBool,
}

/// The fake, on `127.0.0.1:<free port>`; stopped on drop.
pub struct FakeIssuer {
    server: Arc<tiny_http::Server>,
    state: Arc<State>,
    port: u16,
    key: SigningKey,
    jtis: AtomicUsize,
    thread: Option<JoinHandle<()>>,
}

impl FakeIssuer {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("start fake issuer"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        // A fresh key per issuer: the seed only needs to differ between fakes.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let seed = Sha256::digest(format!("fake-issuer {port} {nanos} {}", std::process::id()));
        let key = SigningKey::from_slice(&seed).expect("a P-256 scalar");
        let public = VerifyingKey::from(&key);
        let mut jwk = serde_json::to_value(JsonWebKey::from(&public)).unwrap();
        jwk["kid"] = json!(KID);
        jwk["alg"] = json!("ES256");
        jwk["use"] = json!("sig");
        let state = Arc::new(State {
            jwks: json!({"keys": [jwk]}),
            fetches: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            thread::Builder::new()
                .name("fake-issuer".into())
                .spawn(move || serve(&server, &state, port))
                .expect("spawn")
        };
        Self { server, state, port, key, jtis: AtomicUsize::new(0), thread: Some(thread) }
    }

    /// The issuer (`iss`), e.g. `http://127.0.0.1:9100`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The variable that makes a Worker (development) trust this issuer.
    pub fn worker_vars(&self) -> Vec<(String, String)> {
        vec![("OIDC_EXTRA_ISSUERS".to_string(), self.url())]
    }

    /// How many discovery and JWKS requests it answered.
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// Signs `claims` (ES256, this issuer's `kid`) as they are.
    pub fn mint(&self, claims: Value) -> String {
        let custom: Map<String, Value> = claims.as_object().cloned().expect("claims are an object");
        let header = Header::empty().with_key_id(KID);
        Es256.token(&header, &Claims::new(custom), &self.key).expect("sign")
    }

    /// GitHub Actions-like claims of a push to main in repository
    /// `repository_id`, for `aud`, issued at `now` for 5 minutes, with a fresh `jti`.
    pub fn github_claims(&self, repository_id: &str, aud: &str, now: i64) -> Value {
        let n = self.jtis.fetch_add(1, Ordering::SeqCst);
        json!({
            "iss": self.url(),
            "aud": aud,
            "sub": "repo:acme/deploy:ref:refs/heads/main",
            "jti": format!("jti-{}-{n}", self.port),
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "repository": "acme/deploy",
            "repository_id": repository_id,
            "repository_owner_id": "1001",
            "ref": "refs/heads/main",
            "event_name": "push",
            "workflow_ref": "acme/deploy/.github/workflows/deploy.yml@refs/heads/main",
        })
    }
}

impl Drop for FakeIssuer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(server: &tiny_http::Server, state: &State, port: u16) {
    loop {
        let req = match server.recv() {
            Ok(req) => req,
            Err(_) if state.stop.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        };
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let issuer = format!("http://127.0.0.1:{port}");
        let (status, body) = match req.url() {
            "/.well-known/openid-configuration" => (
                200,
                json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks"), "id_token_signing_alg_values_supported": ["ES256"]}),
            ),
            "/jwks" => (200, state.jwks.clone()),
            _ => (404, json!({"error": "not found"})),
        };
        if status == 200 {
            state.fetches.fetch_add(1, Ordering::SeqCst);
        }
        let response = tiny_http::Response::from_string(body.to_string())
            .with_status_code(status)
            .with_header(tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).unwrap());
        let _ = req.respond(response);
    }
}
