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
    w.post(&format!("/v1/orgs/{org}/trust-policies"), Some(&bearer), policy).expect(201);

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
}
