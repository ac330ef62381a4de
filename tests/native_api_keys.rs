//! API keys, through the real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
mod testapp;

use serde_json::{json, Value};
use testapp::*;

type Fixture = testapp::Fixture<TestApp>;

/// "Acme" with an owner, an admin and a member.
fn fixture() -> Fixture {
    Fixture::new(TestApp::new()).org_with("Acme", &["admin", "member"])
}

fn create_key(f: &Fixture, by: &impl Session, scopes: &[&str]) -> Value {
    f.api().create_key(access(by), &f.org, "CI/CD pipeline", scopes).expect(201).body
}

fn key(v: &Value) -> String {
    v["key"].as_str().unwrap().to_owned()
}

#[test]
fn a_key_is_shown_once_and_acts_with_its_scopes_in_its_org() {
    let f = fixture();
    let created = create_key(&f, f.admin(), &["org:read", "members:read"]);
    let k = key(&created);
    assert!(k.starts_with("lk_") && k.len() == 41, "{k}");
    assert_eq!(created["start"].as_str().unwrap(), &k[..9]);

    let org = f.app.get(&format!("/v1/orgs/{}", f.org), Some(&k)).expect(200).body;
    assert_eq!(org["name"], "Acme");
    assert_eq!(org["role"], Value::Null, "a key has scopes, not a role");
    f.app.get(&format!("/v1/orgs/{}/members", f.org), Some(&k)).expect(200);
    f.app.get(&format!("/v1/orgs/{}/audit-log", f.org), Some(&k)).expect_problem(403, "insufficient_scope");

    // Lists never show the key or its hash.
    let list = f.app.get(&format!("/v1/orgs/{}/api-keys", f.org), Some(&access(f.owner()))).expect(200);
    assert!(!list.raw.contains(&k[9..]), "the key leaked into the list");
    assert_eq!(list.body["data"][0]["scopes"], json!(["org:read", "members:read"]));
    let current = f.app.get("/v1/api-keys/current", Some(&k)).expect(200).body;
    assert_eq!((current["org_id"].as_str(), current["name"].as_str()), (Some(f.org.as_str()), Some("CI/CD pipeline")));
    f.app.get("/v1/api-keys/current", Some(&access(f.owner()))).expect_problem(400, "api_key_required");
}

#[test]
fn another_orgs_id_with_a_key_is_404() {
    let f = fixture();
    let other = f.app.create_org(f.owner(), "Other")["id"].as_str().unwrap().to_owned();
    let k = key(&create_key(&f, f.owner(), &["org:read"]));
    f.app.get(&format!("/v1/orgs/{other}"), Some(&k)).expect_problem(404, "not_found");
}

#[test]
fn malformed_bad_checksum_revoked_and_expired_keys_are_401() {
    let f = fixture();
    let k = key(&create_key(&f, f.owner(), &["org:read"]));
    let path = format!("/v1/orgs/{}", f.org);
    let mut typo: Vec<char> = k.chars().collect();
    typo[10] = if typo[10] == 'a' { 'b' } else { 'a' };
    let typo: String = typo.into_iter().collect();
    for bad in ["lk_", "lk_short", &typo, &format!("{k}x")] {
        let r = f.app.get(&path, Some(bad)).expect_problem(401, "invalid_api_key");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let id = f.app.get(&format!("/v1/orgs/{}/api-keys", f.org), Some(&access(f.owner()))).body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    f.app.delete(&format!("/v1/orgs/{}/api-keys/{id}", f.org), Some(&access(f.owner()))).expect(204);
    f.app.get(&path, Some(&k)).expect_problem(401, "invalid_api_key");

    let expiring = key(&f
        .app
        .post(
            &format!("/v1/orgs/{}/api-keys", f.org),
            Some(&access(f.owner())),
            json!({"name": "short", "scopes": ["org:read"], "expires_in_days": 1}),
        )
        .expect(201)
        .body);
    f.app.get(&path, Some(&expiring)).expect(200);
    f.app.advance(24 * 3600 + 1);
    f.app.get(&path, Some(&expiring)).expect_problem(401, "invalid_api_key");
}

#[test]
fn scopes_never_exceed_the_creators_role() {
    let f = fixture();
    let path = format!("/v1/orgs/{}/api-keys", f.org);
    // The owner-only permissions are person-only: no key holds them, whoever asks.
    for by in [f.admin(), f.owner()] {
        for scope in ["billing:manage", "org:delete"] {
            f.app
                .post(&path, Some(&access(by)), json!({"name": "x", "scopes": ["org:read", scope]}))
                .expect_problem(422, "scope_not_allowed_for_keys");
        }
    }
    f.app.post(&path, Some(&access(f.admin())), json!({"name": "x", "scopes": ["members:write"]})).expect(201);
    // Members cannot create keys at all.
    f.app
        .post(&path, Some(&access(f.member())), json!({"name": "x", "scopes": ["org:read"]}))
        .expect_problem(403, "forbidden");
    f.app
        .post(&path, Some(&access(f.owner())), json!({"name": "x", "scopes": ["org:everything"]}))
        .expect_problem(422, "validation_failed");
    f.app
        .post(&path, Some(&access(f.owner())), json!({"name": "x", "scopes": []}))
        .expect_problem(422, "validation_failed");
    f.app
        .post(&path, Some(&access(f.owner())), json!({"name": "x", "scopes": ["org:read"], "expires_in_days": 0}))
        .expect_problem(422, "validation_failed");
}

#[test]
fn keys_never_manage_keys() {
    let f = fixture();
    let k = key(&create_key(&f, f.owner(), &["api_keys:write", "org:read"]));
    f.app
        .post(&format!("/v1/orgs/{}/api-keys", f.org), Some(&k), json!({"name": "x", "scopes": ["org:read"]}))
        .expect_problem(403, "forbidden");
    f.app.get(&format!("/v1/orgs/{}/api-keys", f.org), Some(&k)).expect_problem(403, "forbidden");
}

#[test]
fn keys_outlive_their_creator_and_audit_events_name_the_key() {
    let f = fixture();
    // Scopes that cover the member role, so the key may invite members.
    let scopes = [
        "org:read",
        "members:read",
        "workspaces:read",
        "projects:read",
        "apps:read",
        "apps:deploy",
        "databases:read",
        "invitations:write",
    ];
    let created = create_key(&f, f.admin(), &scopes);
    let k = key(&created);
    f.app.delete(&format!("/v1/orgs/{}/members/me", f.org), Some(&access(f.admin()))).expect(204);
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(&k)).expect(200);
    let inv = f
        .app
        .post(
            &format!("/v1/orgs/{}/invitations", f.org),
            Some(&k),
            json!({"email": "ci@example.com", "role": "member"}),
        )
        .expect(201)
        .body;
    assert_eq!(inv["invited_by"]["name"], "CI/CD pipeline");
    let log = f.app.get(&format!("/v1/orgs/{}/audit-log", f.org), Some(&access(f.owner()))).expect(200).body;
    assert_eq!(log["data"][0]["action"], "invitation.created");
    assert_eq!(log["data"][0]["actor"], json!({"kind": "api_key", "id": created["id"]}));
    // A key cannot create owners even with members:write.
    let mk = key(&create_key(&f, f.owner(), &["members:write"]));
    f.app
        .patch(
            &format!("/v1/orgs/{}/members/{}", f.org, TestApp::user_id(f.member())),
            Some(&mk),
            json!({"role": "owner"}),
        )
        .expect_problem(403, "forbidden");
}

#[test]
fn rotation_keeps_scopes_and_the_old_key_works_through_the_grace_period() {
    let f = fixture();
    let old = create_key(&f, f.admin(), &["org:read"]);
    let id = old["id"].as_str().unwrap();
    let rotate = format!("/v1/orgs/{}/api-keys/{id}/rotate", f.org);
    f.app
        .post(&rotate, Some(&access(f.admin())), json!({"grace_period_seconds": 86401}))
        .expect_problem(422, "validation_failed");
    let new = f.app.post(&rotate, Some(&access(f.admin())), json!({"grace_period_seconds": 60})).expect(201).body;
    assert_eq!(new["scopes"], json!(["org:read"]));
    let path = format!("/v1/orgs/{}", f.org);
    f.app.get(&path, Some(&key(&old))).expect(200);
    f.app.get(&path, Some(&key(&new))).expect(200);
    f.app.advance(60);
    f.app.get(&path, Some(&key(&old))).expect_problem(401, "invalid_api_key");
    f.app.get(&path, Some(&key(&new))).expect(200);
    f.app
        .post(&rotate, Some(&access(f.admin())), json!({"grace_period_seconds": 0}))
        .expect_problem(409, "api_key_not_active");

    // Grace 0: the old key stops at once.
    let new_id = new["id"].as_str().unwrap();
    let newer = f
        .app
        .post(
            &format!("/v1/orgs/{}/api-keys/{new_id}/rotate", f.org),
            Some(&access(f.owner())),
            json!({"grace_period_seconds": 0}),
        )
        .expect(201)
        .body;
    f.app.get(&path, Some(&key(&new))).expect_problem(401, "invalid_api_key");
    f.app.get(&path, Some(&key(&newer))).expect(200);
}

#[test]
fn rotation_never_carries_a_person_only_scope() {
    // A key row naming billing:manage (as keys created before the rule did,
    // had migration 0008 not removed the scope) cannot be rotated into a new one.
    let f = fixture();
    let owners_key = create_key(&f, f.owner(), &["org:read"]);
    let id = owners_key["id"].as_str().unwrap();
    pollster::block_on(latchkey::store::Db::run(
        f.app.db.as_ref(),
        latchkey::stmt!("UPDATE api_keys SET scopes = 'org:read billing:manage' WHERE id = ?1", id),
    ))
    .unwrap();
    for by in [f.owner(), f.admin()] {
        f.app
            .post(
                &format!("/v1/orgs/{}/api-keys/{id}/rotate", f.org),
                Some(&access(by)),
                json!({"grace_period_seconds": 0}),
            )
            .expect_problem(422, "scope_not_allowed_for_keys");
    }
}

#[test]
fn last_used_at_is_written_after_the_response_at_most_once_a_minute() {
    let f = fixture();
    let created = create_key(&f, f.owner(), &["org:read"]);
    let k = key(&created);
    let get = |app: &TestApp| {
        app.get(&format!("/v1/orgs/{}/api-keys/{}", f.org, created["id"].as_str().unwrap()), Some(&access(f.owner())))
            .expect(200)
            .body
    };
    assert_eq!(get(&f.app)["last_used_at"], Value::Null);
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(&k)).expect(200);
    let first = get(&f.app)["last_used_at"].clone();
    assert!(first.is_string());
    f.app.advance(30);
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(&k)).expect(200);
    assert_eq!(get(&f.app)["last_used_at"], first, "not again within a minute");
    f.app.advance(31);
    f.app.get(&format!("/v1/orgs/{}", f.org), Some(&k)).expect(200);
    assert_ne!(get(&f.app)["last_used_at"], first);
}

#[test]
fn over_the_per_key_limit_is_429_not_401() {
    let f = fixture();
    f.app.limiter.limit.set(3);
    let k = key(&create_key(&f, f.owner(), &["org:read"]));
    for _ in 0..3 {
        f.app.get(&format!("/v1/orgs/{}", f.org), Some(&k)).expect(200);
    }
    let r = f.app.get(&format!("/v1/orgs/{}", f.org), Some(&k)).expect_problem(429, "rate_limited");
    assert_eq!(r.header("retry-after"), Some("60"));
}

#[test]
fn keys_are_refused_on_routes_for_people() {
    let f = fixture();
    let k = key(&create_key(&f, f.owner(), &["org:read"]));
    f.app.get("/v1/me", Some(&k)).expect_problem(403, "user_required");
    f.app.post("/v1/orgs", Some(&k), json!({"name": "x"})).expect_problem(403, "user_required");
}

#[test]
fn authorize_explains_decisions_for_people_and_keys() {
    let f = fixture();
    let ask = |bearer: &str, body: Value| f.app.post("/v1/authorize", Some(bearer), body);
    let r = ask(&access(f.member()), json!({"permission": "apps:deploy", "org_id": f.org})).expect(200).body;
    assert_eq!(r, json!({"allowed": true, "via": {"kind": "org_role", "org_id": f.org, "role": "member"}}));
    let r = ask(&access(f.member()), json!({"permission": "audit:read", "org_id": f.org})).expect(200).body;
    assert_eq!((r["allowed"].as_bool(), r["via"]["role"].as_str()), (Some(false), Some("member")));
    let r = ask(&access(f.owner()), json!({"permission": "billing:manage", "org_id": f.org})).expect(200).body;
    assert_eq!(r["allowed"], true);
    let r = ask(&access(f.admin()), json!({"permission": "billing:manage", "org_id": f.org})).expect(200).body;
    assert_eq!(r["allowed"], false);

    let stranger = f.app.verified_user("stranger@example.com");
    let hidden = ask(&access(&stranger), json!({"permission": "org:read", "org_id": f.org})).expect(200).body;
    let missing =
        ask(&access(&stranger), json!({"permission": "org:read", "org_id": "org_00000000000000000000000000000000"}))
            .expect(200)
            .body;
    assert_eq!(hidden, json!({"allowed": false, "via": null}));
    assert_eq!(hidden, missing, "an invisible org and a missing one answer alike");

    let k = key(&create_key(&f, f.owner(), &["apps:deploy"]));
    let r = ask(&k, json!({"permission": "apps:deploy", "org_id": f.org})).expect(200).body;
    assert_eq!((r["allowed"].as_bool(), r["via"]["kind"].as_str()), (Some(true), Some("api_key")));
    let r = ask(&k, json!({"permission": "members:write", "org_id": f.org})).expect(200).body;
    assert_eq!(r["allowed"], false);
    ask(&k, json!({"permission": "org:fly", "org_id": f.org})).expect_problem(422, "validation_failed");
    ask(&k, json!({"permission": "org:read"})).expect_problem(422, "validation_failed");
    let ws = ask(&k, json!({"permission": "org:read", "workspace_id": "ws_00000000000000000000000000000000"}))
        .expect(200)
        .body;
    assert_eq!(ws, json!({"allowed": false, "via": null}));
    f.app
        .post("/v1/authorize", None, json!({"permission": "org:read", "org_id": f.org}))
        .expect_problem(401, "unauthenticated");
}

#[test]
fn a_key_hands_out_only_roles_its_scopes_cover() {
    let f = fixture();
    let k = key(&create_key(&f, f.owner(), &["invitations:write", "members:write", "org:read"]));
    f.app
        .post(
            &format!("/v1/orgs/{}/invitations", f.org),
            Some(&k),
            json!({"email": "evil@example.com", "role": "admin"}),
        )
        .expect_problem(403, "insufficient_scope");
    f.app
        .patch(
            &format!("/v1/orgs/{}/members/{}", f.org, TestApp::user_id(f.member())),
            Some(&k),
            json!({"role": "admin"}),
        )
        .expect_problem(403, "insufficient_scope");
    f.app
        .post(
            &format!("/v1/orgs/{}/invitations", f.org),
            Some(&k),
            json!({"email": "ok@example.com", "role": "member"}),
        )
        .expect_problem(403, "insufficient_scope");
    // A key whose scopes cover the member role may invite members.
    let member_scopes = [
        "org:read",
        "members:read",
        "workspaces:read",
        "projects:read",
        "apps:read",
        "apps:deploy",
        "databases:read",
        "invitations:write",
    ];
    let k2 = key(&create_key(&f, f.owner(), &member_scopes));
    f.app
        .post(
            &format!("/v1/orgs/{}/invitations", f.org),
            Some(&k2),
            json!({"email": "ok@example.com", "role": "member"}),
        )
        .expect(201);
}
