//! Runtime test of workload identity: the built Worker under `wrangler dev`
//! trusts the fake issuer (tests/support/fake_issuer.rs, started first) via
//! `OIDC_EXTRA_ISSUERS`; workerd fetches its discovery document and JWKS,
//! verifies an ES256 token, and D1 records the jti and the temporary key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_issuer::FakeIssuer;
use crate::support;

use serde_json::json;
use support::*;

#[test]
fn a_ci_token_buys_a_key_that_works_once_and_is_revoked_in_workerd() {
    let issuer = FakeIssuer::start();
    let w = Worker::start_with(WorkerOptions { vars: issuer.worker_vars() });
    let api = w.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let bearer = access(&owner);
    let policy = json!({"name": "deploy", "issuer": issuer.url(), "conditions": {"repository_id": "42", "ref": "refs/heads/main"},
                        "scopes": ["org:read"], "max_ttl_seconds": 600});
    let tp = w.post(&format!("/v1/orgs/{org}/trust-policies"), Some(&bearer), policy).expect(201).id();
    // A partial update: what it names changes, the rest stays.
    let patched = w
        .call(
            "PATCH",
            &format!("/v1/orgs/{org}/trust-policies/{tp}"),
            Some(&bearer),
            Some(json!({"max_ttl_seconds": 300})),
        )
        .expect(200)
        .body;
    assert_eq!(patched["max_ttl_seconds"], 300);
    assert_eq!(patched["name"], "deploy");
    assert_eq!(patched["conditions"], json!({"repository_id": "42", "ref": "refs/heads/main"}));

    let token = issuer.mint(issuer.github_claims("42", &format!("latchkey:{org}"), unix_now()));
    let got = w.post("/v1/oidc/exchange", None, json!({"token": token})).expect(201).body;
    let (key, id) = (got["key"].as_str().unwrap(), got["key_id"].as_str().unwrap());
    assert!(key.starts_with("lk_tmp_"));
    assert!(issuer.fetches() >= 2, "workerd fetched discovery and the JWKS");
    w.get(&format!("/v1/orgs/{org}"), Some(key)).expect(200);

    w.post("/v1/oidc/exchange", None, json!({"token": token})).expect_problem(401, "oidc_token_replayed");
    let other = issuer.mint(issuer.github_claims("43", &format!("latchkey:{org}"), unix_now()));
    let r = w.post("/v1/oidc/exchange", None, json!({"token": other})).expect_problem(401, "oidc_condition_mismatch");
    assert!(r.body["detail"].as_str().unwrap().contains("repository_id"));

    w.delete(&format!("/v1/orgs/{org}/api-keys/{id}"), Some(&bearer)).expect(204);
    w.get(&format!("/v1/orgs/{org}"), Some(key)).expect_problem(401, "invalid_api_key");

    // A job's key ends itself; the org's other keys and the person's session are untouched.
    let mint = || issuer.mint(issuer.github_claims("42", &format!("latchkey:{org}"), unix_now()));
    let first = w.post("/v1/oidc/exchange", None, json!({"token": mint()})).expect(201).body;
    let second = w.post("/v1/oidc/exchange", None, json!({"token": mint()})).expect(201).body;
    let (first, second) = (first["key"].as_str().unwrap(), second["key"].as_str().unwrap());
    w.delete("/v1/api-keys/current", Some(&bearer)).expect_problem(400, "api_key_required");
    w.delete("/v1/api-keys/current", Some(first)).expect(204);
    w.get(&format!("/v1/orgs/{org}"), Some(first)).expect_problem(401, "invalid_api_key");
    w.delete("/v1/api-keys/current", Some(first)).expect_problem(401, "invalid_api_key");
    w.get(&format!("/v1/orgs/{org}"), Some(second)).expect(200);
    w.get(&format!("/v1/orgs/{org}"), Some(&bearer)).expect(200);
}

/// Every refusal the exchange makes, in workerd: each answers 401 with the
/// code that names what did not match and never echoes the token; a policy
/// whose creator was demoted issues nothing; and a key lives no longer than
/// its token (plus the margin), here a token that expires within the leeway.
#[test]
fn each_refusal_names_what_did_not_match_and_a_key_expires_with_its_token_in_workerd() {
    let issuer = FakeIssuer::start();
    let stranger = FakeIssuer::start();
    let w = Worker::start_with(WorkerOptions { vars: issuer.worker_vars() });
    let api = w.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let admin = api.join(&owner, Tenant::Org(&org), "admin@example.com", "admin");
    let policy = json!({"name": "deploy", "issuer": issuer.url(), "conditions": {"repository_id": "42"},
                        "scopes": ["org:read", "members:write"], "max_ttl_seconds": 600});
    w.post(&format!("/v1/orgs/{org}/trust-policies"), Some(&access(&admin)), policy).expect(201);
    let aud = format!("latchkey:{org}");
    let now = unix_now();
    let with = |patch: serde_json::Value| {
        let mut claims = issuer.github_claims("42", &aud, now);
        for (k, v) in patch.as_object().unwrap() {
            claims[k] = v.clone();
        }
        issuer.mint(claims)
    };
    let cases = [
        (with(json!({"aud": "latchkey:org_someoneelse"})), "oidc_audience_mismatch"),
        (with(json!({"repository_id": "7"})), "oidc_condition_mismatch"),
        (with(json!({"exp": now - 61, "iat": now - 400, "nbf": now - 400})), "oidc_token_expired"),
        (with(json!({"event_name": "pull_request_target"})), "oidc_fork_refused"),
        (with(json!({"event_name": "pull_request", "head_repository_id": "777"})), "oidc_fork_refused"),
        (stranger.mint(stranger.github_claims("42", &aud, now)), "oidc_unknown_issuer"),
    ];
    for (token, code) in &cases {
        let r = w.post("/v1/oidc/exchange", None, json!({"token": token}));
        assert_eq!((r.status, r.body["code"].as_str().unwrap_or_default()), (401, *code), "{}", r.raw);
        assert!(!r.raw.contains(token.as_str()), "{code}: the token is never echoed");
    }

    // A token about to expire buys a key that ends with it (exp + 5 min at
    // most), not after the policy's ten minutes.
    let short = with(json!({"exp": now + 30}));
    let got = w.post("/v1/oidc/exchange", None, json!({"token": short})).expect(201).body;
    let expires = chrono::DateTime::parse_from_rfc3339(got["expires_at"].as_str().unwrap()).unwrap().timestamp();
    assert!(expires <= now + 30 + 300 && expires < now + 600, "expires_at {expires}, token exp {}", now + 30);
    let key = got["key"].as_str().unwrap().to_owned();
    w.get(&format!("/v1/orgs/{org}"), Some(&key)).expect(200);

    // The policy's creator is demoted: it issues nothing more.
    let admin_id = admin.session["user"]["id"].as_str().unwrap().to_owned();
    api.change_role(&owner, Tenant::Org(&org), &admin_id, "member").expect(200);
    let r = w.post("/v1/oidc/exchange", None, json!({"token": with(json!({}))}));
    assert_eq!(
        (r.status, r.body["code"].as_str().unwrap_or_default()),
        (401, "oidc_policy_creator_lacks_scope"),
        "{}",
        r.raw
    );
}
