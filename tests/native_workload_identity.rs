//! Workload identity (issue 22): trust policies and the exchange of a CI
//! job's OIDC token for a temporary key, against a fake issuer on loopback
//! (its own P-256 key, discovery and JWKS), through the real router over
//! SQLite with the manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_issuer::FakeIssuer;
use crate::testapp;

use serde_json::{json, Value};
use testapp::*;

type Fixture = testapp::Fixture<TestApp>;

const REPO: &str = "892364021";

/// "Acme" with an owner, an admin and a member, trusting `issuer`.
fn fixture(issuer: &FakeIssuer) -> Fixture {
    let app = TestApp::with_config(config_with(&[("OIDC_EXTRA_ISSUERS", &issuer.url())]));
    Fixture::new(app).org_with("Acme", &["admin", "member"])
}

fn policies(f: &Fixture) -> String {
    format!("/v1/orgs/{}/trust-policies", f.org)
}

fn policy_body(issuer: &FakeIssuer, scopes: &[&str]) -> Value {
    json!({"name": "deploy from main", "issuer": issuer.url(), "conditions": {"repository_id": REPO, "ref": "refs/heads/main"},
           "scopes": scopes, "max_ttl_seconds": 900})
}

fn create(f: &Fixture, who: &str, body: Value) -> Reply {
    f.app.post(&policies(f), Some(&access(f.who(who))), body)
}

fn exchange(f: &Fixture, token: &str) -> Reply {
    f.app.post("/v1/oidc/exchange", None, json!({"token": token}))
}

fn aud(f: &Fixture) -> String {
    format!("latchkey:{}", f.org)
}

fn user_id(f: &Fixture, who: &str) -> String {
    f.who(who).session["user"]["id"].as_str().unwrap().to_owned()
}

fn audit_actions(f: &Fixture) -> Vec<String> {
    let r = f.app.get(&format!("/v1/orgs/{}/audit-log", f.org), Some(&access(f.owner()))).expect(200);
    r.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn admins_create_list_update_and_delete_policies_all_audited() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    create(&f, "member", policy_body(&issuer, &["org:read"])).expect_problem(403, "forbidden");
    let created = create(&f, "admin", policy_body(&issuer, &["org:read"])).expect(201).body;
    assert_eq!(created["audience"], json!(aud(&f)), "the audience defaults to latchkey:<org_id>");
    assert_eq!(created["conditions"]["repository_id"], REPO);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tp_"));

    let listed = f.app.get(&policies(&f), Some(&access(f.who("admin")))).expect(200).body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    f.app.get(&policies(&f), Some(&access(f.who("member")))).expect_problem(403, "forbidden");

    let changed = json!({"scopes": ["org:read", "members:read"], "max_ttl_seconds": 600});
    let updated =
        f.app.call("PATCH", &format!("{}/{id}", policies(&f)), Some(&access(f.owner())), Some(changed)).expect(200);
    assert_eq!(updated.body["max_ttl_seconds"], 600);
    assert_eq!(updated.body["scopes"], json!(["org:read", "members:read"]));
    assert_eq!(updated.body["name"], created["name"], "omitted fields stay");
    assert_eq!(updated.body["conditions"], created["conditions"], "omitted fields stay");
    assert_eq!(updated.body["created_by"], json!(user_id(&f, "owner")), "whoever changes it now bounds its scopes");

    f.app.call("DELETE", &format!("{}/{id}", policies(&f)), Some(&access(f.who("admin"))), None).expect(204);
    f.app.call("DELETE", &format!("{}/{id}", policies(&f)), Some(&access(f.who("admin"))), None).expect(404);
    let actions = audit_actions(&f);
    for action in ["trust_policy.created", "trust_policy.updated", "trust_policy.deleted"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

fn patch(f: &Fixture, who: &str, id: &str, body: Value) -> Reply {
    f.app.call("PATCH", &format!("{}/{id}", policies(f)), Some(&access(f.who(who))), Some(body))
}

#[test]
fn an_update_changes_only_the_fields_it_names_checked_as_on_create() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    let mut body = policy_body(&issuer, &["org:read"]);
    body["audience"] = json!("deploys");
    let created = create(&f, "admin", body).expect(201).body;
    let id = created["id"].as_str().unwrap().to_owned();
    let get = |f: &Fixture| {
        let listed = f.app.get(&policies(f), Some(&access(f.owner()))).expect(200).body;
        listed["data"][0].clone()
    };

    let renamed = patch(&f, "admin", &id, json!({"name": "deploy staging"})).expect(200).body;
    assert_eq!(renamed["name"], "deploy staging");
    for field in ["issuer", "audience", "conditions", "scopes", "max_ttl_seconds"] {
        assert_eq!(renamed[field], created[field], "{field} was not named, so it stays");
    }
    let conditions = json!({"repository_id": REPO, "environment": "production"});
    let moved = patch(&f, "admin", &id, json!({"conditions": conditions})).expect(200).body;
    assert_eq!(moved["conditions"], conditions, "conditions are replaced whole");
    let reset = patch(&f, "admin", &id, json!({"audience": null})).expect(200).body;
    assert_eq!(reset["audience"], json!(aud(&f)), "a null audience goes back to the default");
    assert_eq!(reset["name"], "deploy staging");

    // The same rules as on create; a refused patch changes nothing.
    let before = get(&f);
    let refused: Vec<(Value, &str, &str)> = vec![
        (json!({"conditions": {"ref": "refs/heads/main"}}), "conditions", "immutable_id_required"),
        (json!({"max_ttl_seconds": 59}), "max_ttl_seconds", "out_of_range"),
        (json!({"scopes": []}), "scopes", "invalid_scopes"),
        (json!({"name": ""}), "name", ""),
    ];
    for (body, field, code) in refused {
        let r = patch(&f, "admin", &id, body.clone()).expect(422);
        let errors = r.body["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["field"] == field && (code.is_empty() || e["code"] == code)),
            "{body}: {}",
            r.raw
        );
    }
    patch(&f, "admin", &id, json!({"scopes": ["billing:manage"]})).expect_problem(422, "scope_not_allowed_for_keys");
    patch(&f, "admin", &id, json!({"issuer": "https://gitlab.com"})).expect(422);
    patch(&f, "member", &id, json!({"name": "mine now"})).expect_problem(403, "forbidden");
    // A member who asks with a bad body learns nothing from a 422.
    patch(&f, "member", &id, json!({"max_ttl_seconds": 5})).expect_problem(403, "forbidden");
    assert_eq!(get(&f), before, "refused patches changed nothing");

    // Another org's admin cannot reach it, even by its id.
    let rival = f.api().verified("rival@example.com");
    let rival_org = f.api().create_org(&rival, "Rival").expect(201).id();
    let r = f.app.call(
        "PATCH",
        &format!("/v1/orgs/{rival_org}/trust-policies/{id}"),
        Some(&access(&rival)),
        Some(json!({"name": "taken"})),
    );
    assert_eq!(r.status, 404, "{}", r.raw);
    let r =
        f.app.call("PATCH", &format!("{}/{id}", policies(&f)), Some(&access(&rival)), Some(json!({"name": "taken"})));
    assert_eq!(r.status, 404, "{}", r.raw);
    assert_eq!(get(&f), before);
    // PUT is gone: the contract says PATCH.
    let put = f.app.call("PUT", &format!("{}/{id}", policies(&f)), Some(&access(f.owner())), Some(created.clone()));
    assert_eq!(put.status, 405, "{}", put.raw);
    let audited = audit_actions(&f).iter().filter(|a| *a == "trust_policy.updated").count();
    assert_eq!(audited, 3, "each accepted patch audited, no refused one");
}

#[test]
fn policies_are_validated() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    let cases: Vec<(Value, &str, &str, &str)> = vec![
        (
            json!({"conditions": {"ref": "refs/heads/main"}}),
            "conditions",
            "immutable_id_required",
            "names can be re-registered; ids cannot",
        ),
        (
            json!({"conditions": {"repository_id": REPO, "actor": "octocat"}}),
            "conditions",
            "unknown_claim",
            "only known claims",
        ),
        (json!({"max_ttl_seconds": 3601}), "max_ttl_seconds", "out_of_range", "an hour at most"),
        (
            json!({"issuer": "https://evil.example"}),
            "issuer",
            "unknown_issuer",
            "only GitHub, GitLab and the configured extras",
        ),
        (json!({"scopes": []}), "scopes", "invalid_scopes", "at least one scope"),
    ];
    for (patch, field, code, reason) in cases {
        let mut body = policy_body(&issuer, &["org:read"]);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = create(&f, "admin", body).expect(422);
        let errors = r.body["errors"].as_array().unwrap();
        assert!(errors.iter().any(|e| e["field"] == field && e["code"] == code), "{reason}: {}", r.raw);
    }
    create(&f, "admin", policy_body(&issuer, &["billing:manage"])).expect_problem(422, "scope_not_allowed_for_keys");
    // An API key never manages policies (a route for people).
    let key = f
        .app
        .post(
            &format!("/v1/orgs/{}/api-keys", f.org),
            Some(&access(f.owner())),
            json!({"name": "k", "scopes": ["api_keys:write"]}),
        )
        .expect(201)
        .body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    f.app.post(&policies(&f), Some(&key), policy_body(&issuer, &["org:read"])).expect_problem(403, "user_required");
}

#[test]
fn a_token_that_satisfies_a_policy_buys_a_key_that_works_then_expires() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    create(&f, "admin", policy_body(&issuer, &["org:read", "members:read"])).expect(201);
    let now = f.app.clock_now();
    let token = issuer.mint(issuer.github_claims(REPO, &aud(&f), now));
    let got = exchange(&f, &token).expect(201).body;
    let key = got["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("lk_tmp_"), "{key}");
    assert_eq!(got["scopes"], json!(["org:read", "members:read"]));
    assert_eq!(got["org_id"], json!(f.org));
    assert!(!got.to_string().contains(&token), "the token is never echoed");

    f.app.get(&format!("/v1/orgs/{}", f.org), Some(&key)).expect(200);
    f.app.get(&format!("/v1/orgs/{}/members", f.org), Some(&key)).expect(200);
    // The audit row names the workload.
    let log = f.app.get(&format!("/v1/orgs/{}/audit-log", f.org), Some(&access(f.owner()))).expect(200).body;
    let row = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "api_key.exchanged").unwrap().clone();
    assert_eq!(row["actor"]["kind"], "workload");
    assert_eq!(row["actor"]["issuer"], json!(issuer.url()));
    assert_eq!(row["actor"]["subject"], "repo:acme/deploy:ref:refs/heads/main");

    // The token's exp (+300) plus the 5-minute margin comes before the 15-minute TTL.
    f.app.advance(599);
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(&key)).expect(200);
    f.app.advance(2);
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(&key)).expect_problem(401, "invalid_api_key");
}

#[test]
fn tokens_that_do_not_match_are_refused_with_what_did_not_match() {
    let issuer = FakeIssuer::start();
    let stranger = FakeIssuer::start();
    let f = fixture(&issuer);
    create(&f, "admin", policy_body(&issuer, &["org:read"])).expect(201);
    let now = f.app.clock_now();
    let with = |patch: Value| {
        let mut claims = issuer.github_claims(REPO, &aud(&f), now);
        for (k, v) in patch.as_object().unwrap() {
            claims[k] = v.clone();
        }
        issuer.mint(claims)
    };
    let cases: Vec<(String, &str, &str)> = vec![
        (with(json!({"aud": "latchkey:org_someoneelse"})), "oidc_audience_mismatch", "another audience"),
        (with(json!({"repository_id": "1"})), "oidc_condition_mismatch", "another repository"),
        (
            with(json!({"exp": now - 61, "iat": now - 400, "nbf": now - 400})),
            "oidc_token_expired",
            "expired beyond the leeway",
        ),
        (with(json!({"iat": now + 120})), "oidc_token_not_yet_valid", "issued in the future"),
        (with(json!({"event_name": "pull_request_target"})), "oidc_fork_refused", "pull_request_target runs fork code"),
        (
            with(json!({"event_name": "pull_request", "head_repository_id": "777"})),
            "oidc_fork_refused",
            "a pull request from a fork",
        ),
        (
            stranger.mint(stranger.github_claims(REPO, &aud(&f), now)),
            "oidc_unknown_issuer",
            "an issuer nobody configured",
        ),
        ("not-a-jwt".to_owned(), "oidc_invalid_token", "garbage"),
    ];
    for (token, code, reason) in cases {
        let r = exchange(&f, &token);
        assert_eq!((r.status, r.code()), (401, code), "{reason}: {}", r.raw);
        assert!(!r.raw.contains(&token), "{reason}: the token is never echoed");
    }
    let r = exchange(&f, &with(json!({"repository_id": "1"})));
    assert!(r.body["detail"].as_str().unwrap().contains("repository_id"), "the detail names the claim: {}", r.raw);

    // A token signed by another key under our issuer's kid.
    let mut forged = stranger.mint(issuer.github_claims(REPO, &aud(&f), now));
    forged = forged.replacen(forged.split('.').next().unwrap(), issuer.mint(json!({})).split('.').next().unwrap(), 1);
    exchange(&f, &forged).expect_problem(401, "oidc_invalid_token");
}

#[test]
fn each_token_is_exchanged_once() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    create(&f, "admin", policy_body(&issuer, &["org:read"])).expect(201);
    let token = issuer.mint(issuer.github_claims(REPO, &aud(&f), f.app.clock_now()));
    exchange(&f, &token).expect(201);
    exchange(&f, &token).expect_problem(401, "oidc_token_replayed");
    assert_eq!(issuer.fetches(), 2, "discovery and JWKS once: the keys are cached");
}

#[test]
fn a_policy_whose_creator_was_demoted_or_removed_issues_nothing() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    create(&f, "admin", policy_body(&issuer, &["org:read", "members:write"])).expect(201);
    let admin = user_id(&f, "admin");
    f.app
        .call(
            "PATCH",
            &format!("/v1/orgs/{}/members/{admin}", f.org),
            Some(&access(f.owner())),
            Some(json!({"role": "member"})),
        )
        .expect(200);
    let token = issuer.mint(issuer.github_claims(REPO, &aud(&f), f.app.clock_now()));
    let r = exchange(&f, &token).expect_problem(401, "oidc_policy_creator_lacks_scope");
    assert!(!r.raw.contains(&token));
    f.app.call("DELETE", &format!("/v1/orgs/{}/members/{admin}", f.org), Some(&access(f.owner())), None).expect(204);
    let token = issuer.mint(issuer.github_claims(REPO, &aud(&f), f.app.clock_now()));
    exchange(&f, &token).expect_problem(401, "oidc_policy_creator_lacks_scope");
}

#[test]
fn a_temporary_key_is_revoked_like_any_key() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    create(&f, "admin", policy_body(&issuer, &["org:read"])).expect(201);
    let token = issuer.mint(issuer.github_claims(REPO, &aud(&f), f.app.clock_now()));
    let got = exchange(&f, &token).expect(201).body;
    let (key, id) = (got["key"].as_str().unwrap(), got["key_id"].as_str().unwrap());
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(key)).expect(200);
    let listed = f.app.get(&format!("/v1/orgs/{}/api-keys/{id}", f.org), Some(&access(f.owner()))).expect(200).body;
    assert!(listed["start"].as_str().unwrap().starts_with("lk_tmp_"));
    assert_eq!(listed["trust_policy_id"], got["policy"], "a temporary key names its policy");
    f.app.call("DELETE", &format!("/v1/orgs/{}/api-keys/{id}", f.org), Some(&access(f.owner())), None).expect(204);
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(key)).expect_problem(401, "invalid_api_key");
}

#[test]
fn a_temporary_key_revokes_itself_when_the_job_ends() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    create(&f, "admin", policy_body(&issuer, &["org:read"])).expect(201);
    let mint = |f: &Fixture| issuer.mint(issuer.github_claims(REPO, &aud(f), f.app.clock_now()));
    let first = exchange(&f, &mint(&f)).expect(201).body;
    let second = exchange(&f, &mint(&f)).expect(201).body;
    let (key, id) = (first["key"].as_str().unwrap(), first["key_id"].as_str().unwrap());
    let other = second["key"].as_str().unwrap();
    f.app.call("DELETE", "/v1/api-keys/current", Some(key), None).expect(204);
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(key)).expect_problem(401, "invalid_api_key");
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(other)).expect(200);
    let log = f.app.get(&format!("/v1/orgs/{}/audit-log", f.org), Some(&access(f.owner()))).expect(200).body;
    let revoked = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "api_key.revoked").unwrap();
    assert_eq!(revoked["actor"], json!({"kind": "api_key", "id": id}), "the key itself is the actor");
    assert_eq!(revoked["target"], json!({"kind": "api_key", "id": id}));
}

#[test]
fn a_policy_made_by_a_custom_role_issues_keys_while_the_role_holds_its_scopes() {
    let issuer = FakeIssuer::start();
    let f = fixture(&issuer);
    let roles = format!("/v1/orgs/{}/roles", f.org);
    let role =
        json!({"key": "deployer", "name": "Deployer", "permissions": ["org:read", "members:read", "api_keys:write"]});
    f.app.post(&roles, Some(&access(f.owner())), role).expect(201);
    let member = user_id(&f, "member");
    let member_url = format!("/v1/orgs/{}/members/{member}", f.org);
    f.app.call("PATCH", &member_url, Some(&access(f.owner())), Some(json!({"role": "deployer"}))).expect(200);
    // Never beyond the role, at creation.
    create(&f, "member", policy_body(&issuer, &["org:read", "audit:read"])).expect_problem(403, "scope_exceeds_role");
    create(&f, "member", policy_body(&issuer, &["org:read", "members:read"])).expect(201);

    let token = issuer.mint(issuer.github_claims(REPO, &aud(&f), f.app.clock_now()));
    let got = exchange(&f, &token).expect(201).body;
    assert_eq!(got["scopes"], json!(["org:read", "members:read"]), "{got}");
    let key = got["key"].as_str().unwrap();
    f.app.get(&format!("/v1/orgs/{}/members", f.org), Some(key)).expect(200);

    // The role loses a scope of the policy: the next exchange is refused.
    let changed = json!({"permissions": ["org:read", "api_keys:write"]});
    f.app.call("PATCH", &format!("{roles}/deployer"), Some(&access(f.owner())), Some(changed)).expect(200);
    let token = issuer.mint(issuer.github_claims(REPO, &aud(&f), f.app.clock_now()));
    exchange(&f, &token).expect_problem(401, "oidc_policy_creator_lacks_scope");
}
