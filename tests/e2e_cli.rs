//! The `latchkey` CLI (cli/) as a user runs it, against the built Worker:
//! the real binary (`LATCHKEY_CLI_BIN`, which scripts/test.sh sets; else
//! built once with `cargo build -p latchkey-cli`) in a config directory of
//! its own (`LATCHKEY_CONFIG_DIR`), every other LATCHKEY_/CI variable of
//! the test's environment removed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_issuer::FakeIssuer;
use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

/// The binary under test.
fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("LATCHKEY_CLI_BIN").filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
        // Not from scripts/test.sh: build it (a no-op when it is up to date),
        // and ask cargo where it put it.
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        // Without the variables cargo sets for this test binary: build
        // scripts (ring's) rerun when one changes, and the next ordinary
        // build would compile them all over again.
        for (k, _) in std::env::vars() {
            let set_for_us = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_PRIMARY_",
                "CARGO_BIN_",
                "CARGO_TARGET_TMPDIR",
            ]
            .iter()
            .any(|p| k.starts_with(p));
            if set_for_us || k == "OUT_DIR" {
                cargo.env_remove(k);
            }
        }
        let out = cargo
            .args(["build", "-p", "latchkey-cli", "--bin", "latchkey", "--message-format=json-render-diagnostics"])
            .current_dir(repo_root())
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build");
        assert!(out.status.success(), "cargo build -p latchkey-cli failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|m| m["executable"].as_str().filter(|e| e.ends_with("/latchkey")).map(PathBuf::from))
            .expect("cargo named the latchkey executable")
    })
    .clone()
}

/// What one run printed and how it exited.
#[derive(Debug)]
struct Ran {
    code: i32,
    out: String,
    err: String,
}

impl Ran {
    fn ok(self) -> Ran {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// A user of the CLI: their own config directory, talking to one Worker.
struct User {
    api: String,
    config: tempfile::TempDir,
}

impl User {
    fn new(w: &Worker) -> User {
        User { api: w.url(""), config: tempfile::tempdir().unwrap() }
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(bin());
        for (k, _) in std::env::vars() {
            let ci = ["GITHUB_", "ACTIONS_", "CI_JOB_JWT"].iter().any(|p| k.starts_with(p));
            if k.starts_with("LATCHKEY_") || ci {
                c.env_remove(k);
            }
        }
        c.args(args)
            .env("LATCHKEY_CONFIG_DIR", self.config.path())
            .env("LATCHKEY_API_URL", self.api.trim_end_matches('/'))
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        c
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let out = self.command(args, env).output().expect("run latchkey");
        Ran {
            code: out.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Ran {
        self.run_with(args, &[])
    }

    fn credentials(&self) -> PathBuf {
        self.config.path().join("credentials.json")
    }

    fn stored(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.credentials()).unwrap()).unwrap()
    }

    /// Keeps `session` as `latchkey login` would.
    fn store_session(&self, session: &Value) {
        let creds = json!({"api_url": self.api.trim_end_matches('/'), "access_token": session["access_token"],
                           "refresh_token": session["refresh_token"], "email": session["user"]["email"]});
        std::fs::write(self.credentials(), creds.to_string()).unwrap();
        std::fs::set_permissions(self.credentials(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `latchkey login`: the device grant approved in Chromium at the link the
/// CLI printed; the session is kept 0600 and works (`whoami`, `orgs`);
/// `keys create` then `authorize` with the new key; `--json` parses.
#[test]
fn login_is_approved_in_the_console_then_a_new_key_authorizes() {
    use std::io::{BufRead, BufReader};
    let w = Worker::shared();
    let api = w.api();
    let owner = api.verified("ada.cli1@example.com");
    let org = api.create_org(&owner, "Analytical Engines").expect(201).id();
    let user = User::new(w);

    let mut login = user
        .command(&["login", "--client-name", "Ada's laptop"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start latchkey login");
    let mut said = BufReader::new(login.stderr.take().unwrap()).lines();
    let mut next = || said.next().expect("latchkey login said more").unwrap();
    let link = next().strip_prefix("To sign in, open ").expect("the link first").to_owned();
    let code = next().rsplit(' ').next().unwrap().to_owned();
    assert!(link.starts_with(&w.url("/device#user_code=")), "{link}");
    assert!(link.ends_with(&code) && code.len() == 9, "{link} {code}");
    let approved =
        browser("cli-login.mjs", &[&link, "ada.cli1@example.com", PASSWORD, "Ada's laptop", &code], "cli-login");
    assert!(
        approved.contains("approved: Approved. Ada's laptop is now signed in as ada.cli1@example.com"),
        "{approved}"
    );
    let out = login.wait_with_output().expect("latchkey login ends");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signed in as ada.cli1@example.com"), "{out:?}");

    assert_eq!(mode(&user.credentials()), 0o600);
    let stored = user.stored();
    assert_eq!(stored["api_url"], w.url("").trim_end_matches('/'));
    assert!(stored["refresh_token"].is_string(), "{stored}");
    let me = user.run(&["whoami", "--json"]).ok().json();
    assert_eq!((me["id"].as_str(), me["email"].as_str()), (Some(owner.id().as_str()), Some("ada.cli1@example.com")));
    let orgs = user.run(&["orgs", "--json"]).ok().json();
    assert_eq!(orgs["data"].as_array().map(Vec::len), Some(1), "{orgs}");
    assert_eq!(orgs["data"][0]["id"], org.as_str());

    let created = user
        .run(&["keys", "create", "--org", &org, "--name", "deploys", "--scope", "apps:deploy", "--json"])
        .ok()
        .json();
    let key = created["key"].as_str().unwrap();
    let with_key = [("LATCHKEY_API_KEY", key)];
    let allowed = user.run_with(&["authorize", "apps:deploy", "--org", &org], &with_key).ok();
    assert!(allowed.out.starts_with("allowed (api key "), "{allowed:?}");
    let denied = user.run_with(&["authorize", "org:write", "--org", &org, "--json"], &with_key);
    assert_eq!(denied.code, 1, "{denied:?}");
    assert_eq!(denied.json()["allowed"], false);
}

/// A stored session (what `login` leaves) runs every command; its expired
/// access token is renewed with the refresh token and the rotated pair is
/// kept (0600); `keys create` then `authorize` with the new key
/// (`LATCHKEY_API_KEY`), `--json` parsing as the API's shapes; rotate and
/// revoke end the old key (exit 3 with it).
#[test]
fn a_signed_in_user_creates_a_key_and_the_key_authorizes() {
    let w = Worker::shared();
    let api = w.api();
    let owner = api.verified("owner.cli2@example.com");
    let org = api.create_org(&owner, "Acme Tools").expect(201).body;
    let (org_id, slug) = (org["id"].as_str().unwrap().to_owned(), org["slug"].as_str().unwrap().to_owned());
    let user = User::new(w);

    // A session whose access token no longer works: the refresh token renews it.
    let mut session = owner.session.clone();
    session["access_token"] = json!("expired.access.token");
    user.store_session(&session);
    let me = user.run(&["whoami", "--json"]).ok().json();
    assert_eq!(me["email"], "owner.cli2@example.com");
    let stored = user.stored();
    assert_ne!(stored["refresh_token"], session["refresh_token"], "the rotated pair is kept");
    assert_ne!(stored["access_token"], "expired.access.token");
    assert_eq!(mode(&user.credentials()), 0o600);
    // The spent refresh token is dead (reuse would revoke the session): the
    // stored pair is the one that works.
    let human = user.run(&["whoami"]).ok();
    assert!(human.out.contains("owner.cli2@example.com") && human.out.contains("user "), "{human:?}");

    // Orgs: a table for people, the API's list for scripts.
    let table = user.run(&["orgs"]).ok();
    let lines: Vec<&str> = table.out.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("SLUG") && lines[0].contains("ROLE"), "{table:?}");
    assert!(lines.iter().any(|l| l.contains(&org_id) && l.contains(&slug) && l.ends_with("owner")), "{table:?}");
    let orgs = user.run(&["orgs", "--json"]).ok().json();
    assert_eq!(orgs["data"][0]["id"], org_id.as_str());
    assert_eq!(orgs["data"][0]["role"], "owner");
    assert!(orgs["next_cursor"].is_null());

    // Members and an invitation, the org named by its slug.
    let members = user.run(&["members", &slug, "--json"]).ok().json();
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    let inv = user.run(&["invite", &slug, "mate@example.com", "--role", "admin", "--json"]).ok().json();
    assert_eq!(
        (inv["email"].as_str(), inv["role"].as_str(), inv["status"].as_str()),
        (Some("mate@example.com"), Some("admin"), Some("pending"))
    );
    let again = user.run(&["invite", &slug, "mate@example.com"]);
    assert_eq!(again.code, 5, "409 invitation_exists: {again:?}");
    assert!(again.err.contains("invitation_exists"), "{again:?}");

    // A key: shown once, then it answers the decision endpoint.
    let created = user
        .run(&[
            "keys",
            "create",
            "--org",
            &slug,
            "--name",
            "deploys",
            "--scope",
            "org:read,apps:deploy",
            "--expires-in-days",
            "7",
            "--json",
        ])
        .ok()
        .json();
    let key = created["key"].as_str().unwrap().to_owned();
    let key_id = created["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("lk_"), "{created}");
    assert_eq!(created["scopes"], json!(["org:read", "apps:deploy"]));
    let with_key = [("LATCHKEY_API_KEY", key.as_str())];
    let allowed = user.run_with(&["authorize", "apps:deploy", "--org", &org_id, "--json"], &with_key).ok().json();
    assert_eq!(allowed["allowed"], true);
    assert_eq!(allowed["via"]["kind"], "api_key");
    assert_eq!(allowed["via"]["key_id"], key_id.as_str());
    // By slug too (the key's own org), and a scope it lacks is denied: exit 1.
    let by_slug = user.run_with(&["authorize", "org:read", "--org", &slug], &with_key).ok();
    assert!(by_slug.out.starts_with("allowed"), "{by_slug:?}");
    let denied = user.run_with(&["authorize", "members:write", "--org", &org_id], &with_key);
    assert_eq!(denied.code, 1, "{denied:?}");
    assert!(denied.out.starts_with("denied"), "{denied:?}");
    // The person's own decision goes through their role.
    let mine = user.run(&["authorize", "org:delete", "--org", &slug, "--json"]).ok().json();
    assert_eq!((mine["allowed"].as_bool(), mine["via"]["role"].as_str()), (Some(true), Some("owner")));
    let who = user.run_with(&["whoami", "--json"], &with_key).ok().json();
    assert_eq!((who["id"].as_str(), who["org_id"].as_str()), (Some(key_id.as_str()), Some(org_id.as_str())));
    // Keys never manage keys: 403, exit 4.
    let refused = user.run_with(&["keys", "list", "--org", &org_id], &with_key);
    assert_eq!(refused.code, 4, "{refused:?}");

    // The list, a rotation (the old key ends at once) and a revocation.
    let list = user.run(&["keys", "list", "--org", &slug]).ok();
    assert!(list.out.lines().any(|l| l.starts_with(&key_id) && l.contains("org:read,apps:deploy")), "{list:?}");
    let listed = user.run(&["keys", "list", "--org", &slug, "--json"]).ok().json();
    assert!(listed["data"][0].get("key").is_none(), "{listed}");
    let rotated = user.run(&["keys", "rotate", "--org", &slug, &key_id, "--json"]).ok().json();
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    let old = user.run_with(&["authorize", "org:read", "--org", &org_id], &with_key);
    assert_eq!(old.code, 3, "the rotated-out key is refused: {old:?}");
    assert!(old.err.contains("invalid_api_key"), "{old:?}");
    let new_id = rotated["id"].as_str().unwrap();
    user.run(&["keys", "revoke", "--org", &slug, new_id]).ok();
    let gone = user.run_with(&["whoami"], &[("LATCHKEY_API_KEY", new_key.as_str())]);
    assert_eq!(gone.code, 3, "{gone:?}");

    // Signing out ends the session at the API and forgets it here.
    let access_token = user.stored()["access_token"].as_str().unwrap().to_owned();
    user.run(&["logout"]).ok();
    assert!(!user.credentials().exists());
    assert_eq!(w.get("/v1/me", Some(&access_token)).status, 401, "the session ended at the API");
    let out = user.run(&["whoami"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.err.contains("latchkey login"), "{out:?}");
}

/// `ci exchange` trades a CI job's OIDC token (the fake issuer's) for a
/// temporary key that works: from `--id-token FILE`, and from GitHub
/// Actions' token request (a stand-in for it checks the bearer and the
/// audience), where the key is masked before it is printed and `--export`
/// hands it to later steps through `$GITHUB_ENV`.
#[test]
fn ci_exchange_prints_a_working_key_for_the_jobs_token() {
    let issuer = FakeIssuer::start();
    let w = Worker::start_with(WorkerOptions { vars: issuer.worker_vars() });
    let api = w.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let policy = json!({"name": "deploy", "issuer": issuer.url(), "conditions": {"repository_id": "42"},
                        "scopes": ["org:read"], "max_ttl_seconds": 600});
    w.post(&format!("/v1/orgs/{org}/trust-policies"), Some(&access(&owner)), policy).expect(201);
    let user = User::new(&w);
    let aud = format!("latchkey:{org}");

    // From a file, outside GitHub Actions: the key alone on stdout.
    let file = user.config.path().join("id-token.jwt");
    std::fs::write(&file, issuer.mint(issuer.github_claims("42", &aud, unix_now())) + "\n").unwrap();
    let ran = user.run(&["ci", "exchange", "--id-token", file.to_str().unwrap()]).ok();
    let key = ran.out.trim().to_owned();
    assert!(key.starts_with("lk_tmp_") && !ran.out.contains("::add-mask::"), "{ran:?}");
    let who = user.run_with(&["whoami", "--json"], &[("LATCHKEY_API_KEY", key.as_str())]).ok().json();
    assert_eq!(who["org_id"], org.as_str());
    // The same token again: replayed, 401, exit 3.
    let replay = user.run(&["ci", "exchange", "--id-token", file.to_str().unwrap()]);
    assert_eq!(replay.code, 3, "{replay:?}");
    assert!(replay.err.contains("oidc_token_replayed"), "{replay:?}");

    // GitHub Actions: the token is requested with the audience, masked, exported.
    let token = issuer.mint(issuer.github_claims("42", &aud, unix_now()));
    let github = FakeTokenRequest::start("request-token-1", &aud, &token);
    let github_env = user.config.path().join("github_env");
    std::fs::write(&github_env, "EARLIER=1\n").unwrap();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", github.url.as_str()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-1"),
        ("GITHUB_ENV", github_env.to_str().unwrap()),
    ];
    let ran = user.run_with(&["ci", "exchange", "--audience", &aud, "--export", "--json"], &env).ok();
    let (mask, body) = ran.out.split_once('\n').unwrap();
    let exchanged: Value = serde_json::from_str(body).unwrap();
    let key = exchanged["key"].as_str().unwrap();
    assert_eq!(mask, format!("::add-mask::{key}"), "the mask comes before the key: {ran:?}");
    assert_eq!(exchanged["org_id"], org.as_str());
    assert_eq!(std::fs::read_to_string(&github_env).unwrap(), format!("EARLIER=1\nLATCHKEY_API_KEY={key}\n"));
    assert_eq!(github.requests(), 1);
    user.run_with(&["whoami"], &[("LATCHKEY_API_KEY", key)]).ok();

    // The job's token request refused (a wrong request token): nothing is printed.
    let env = [("ACTIONS_ID_TOKEN_REQUEST_URL", github.url.as_str()), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong")];
    let refused = user.run_with(&["ci", "exchange", "--org", &org], &env);
    assert_eq!((refused.code, refused.out.as_str()), (3, ""), "{refused:?}");
    // No token anywhere, or GitHub without an audience: usage errors.
    assert_eq!(user.run(&["ci", "exchange"]).code, 2);
    let env = [("ACTIONS_ID_TOKEN_REQUEST_URL", github.url.as_str()), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "x")];
    assert_eq!(user.run_with(&["ci", "exchange"], &env).code, 2);
}

/// Wrong or missing credentials exit 3 (before or after asking the API),
/// another org's id 4, a bad argument 2, an API nobody serves 6.
#[test]
fn wrong_credentials_exit_3_and_the_other_codes_hold() {
    let w = Worker::start();
    let api = w.api();
    let owner = api.verified("owner@example.com");
    api.create_org(&owner, "Acme").expect(201);
    let stranger = api.verified("stranger@example.com");
    let theirs = api.create_org(&stranger, "Theirs").expect(201).id();
    let user = User::new(&w);

    let nobody = user.run(&["orgs"]);
    assert_eq!(nobody.code, 3, "{nobody:?}");
    let bad_key = "lk_0000000000000000000000000000000000000000";
    let wrong = user.run_with(&["whoami"], &[("LATCHKEY_API_KEY", bad_key)]);
    assert_eq!(wrong.code, 3, "{wrong:?}");
    assert!(wrong.err.contains("invalid_api_key"), "{wrong:?}");
    // A session whose tokens are both dead: the refresh fails too.
    user.store_session(&json!({"access_token": "nope", "refresh_token": "nope", "user": {"email": "x@example.com"}}));
    let dead = user.run(&["orgs"]);
    assert_eq!(dead.code, 3, "{dead:?}");
    assert_eq!(mode(&user.credentials()), 0o600);

    user.store_session(&owner.session);
    let hidden = user.run(&["members", &theirs]);
    assert_eq!(hidden.code, 4, "another org answers 404: {hidden:?}");
    let unknown = user.run(&["members", "no-such-slug"]);
    assert_eq!(unknown.code, 4, "{unknown:?}");
    let invalid = user.run(&["keys", "create", "--org", "acme", "--name", "x", "--scope", "org:delete"]);
    assert_eq!(invalid.code, 5, "422 scope_not_allowed_for_keys: {invalid:?}");
    assert_eq!(user.run(&["keys", "create", "--org", "acme"]).code, 2);
    let help = user.run(&["--help"]).ok();
    assert!(help.out.contains("Exit codes:"), "{help:?}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let offline = user.run(&["orgs", "--api-url", &format!("http://127.0.0.1:{closed}"), "--api-key", bad_key]);
    assert_eq!(offline.code, 6, "{offline:?}");
}

/// A stand-in for GitHub Actions' OIDC token request endpoint: answers
/// `{"value": token}` to `GET ?api-version=2.0&audience=<aud>` with
/// `Authorization: bearer <request token>`, 401 otherwise.
struct FakeTokenRequest {
    url: String,
    served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    server: std::sync::Arc<tiny_http::Server>,
}

impl FakeTokenRequest {
    fn start(request_token: &str, audience: &str, token: &str) -> FakeTokenRequest {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, n) = (server.clone(), served.clone());
        let bearer = format!("bearer {request_token}");
        let query = format!("/token?api-version=2.0&audience={}", audience.replace(':', "%3A"));
        let answer = json!({"value": token}).to_string();
        std::thread::spawn(move || {
            while let Ok(Some(req)) = s.recv_timeout(Duration::from_secs(120)) {
                let auth = req.headers().iter().find(|h| h.field.equiv("Authorization")).map(|h| h.value.to_string());
                let good = auth.as_deref() == Some(bearer.as_str()) && req.url() == query;
                if good {
                    n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                let (status, body) = if good { (200, answer.clone()) } else { (401, "{}".to_owned()) };
                let _ = req.respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
        });
        FakeTokenRequest { url: format!("http://127.0.0.1:{port}/token?api-version=2.0"), served, server }
    }

    fn requests(&self) -> usize {
        self.served.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FakeTokenRequest {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
