//! API keys, through the real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

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
    let api = f.api();
    let created = create_key(&f, f.admin(), &["org:read", "members:read"]);
    let k = key(&created);
    assert!(k.starts_with("lk_") && k.len() == 41, "{k}");
    assert_eq!(created["start"].as_str().unwrap(), &k[..9]);
    // The answer is the key as the list shows it, plus the key itself.
    assert_eq!(api.keys(f.owner(), &f.org).expect(200).body["data"][0], as_listed(&created, &["key"]), "{created}");
    assert_eq!(created["created_by"].as_str(), Some(user_id(f.admin()).as_str()), "{created}");

    let org = api.org(&k, &f.org).expect(200).body;
    assert_eq!(org["name"], "Acme");
    assert_eq!(org["role"], Value::Null, "a key has scopes, not a role");
    api.members(&k, f.tenant()).expect(200);
    api.audit_log(&k, f.tenant()).expect_problem(403, "insufficient_scope");

    // Lists never show the key or its hash.
    let list = api.keys(f.owner(), &f.org).expect(200);
    assert!(!list.raw.contains(&k[9..]), "the key leaked into the list");
    assert_eq!(list.body["data"][0]["scopes"], json!(["org:read", "members:read"]));
    let current = api.current_key(&k).expect(200).body;
    assert_eq!((current["org_id"].as_str(), current["name"].as_str()), (Some(f.org.as_str()), Some("CI/CD pipeline")));
    api.current_key(f.owner()).expect_problem(400, "api_key_required");
}

#[test]
fn another_orgs_id_with_a_key_is_404() {
    let f = fixture();
    let other = f.api().create_org(f.owner(), "Other").expect(201).id();
    let k = key(&create_key(&f, f.owner(), &["org:read"]));
    f.api().org(&k, &other).expect_problem(404, "not_found");
}

#[test]
fn malformed_bad_checksum_revoked_and_expired_keys_are_401() {
    let f = fixture();
    let api = f.api();
    let k = key(&create_key(&f, f.owner(), &["org:read"]));
    let mut typo: Vec<char> = k.chars().collect();
    typo[10] = if typo[10] == 'a' { 'b' } else { 'a' };
    let typo: String = typo.into_iter().collect();
    for bad in ["lk_", "lk_short", &typo, &format!("{k}x")] {
        let r = api.org(bad, &f.org).expect_problem(401, "invalid_api_key");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let id = api.keys(f.owner(), &f.org).body["data"][0]["id"].as_str().unwrap().to_owned();
    api.revoke_key(f.owner(), &f.org, &id).expect(204);
    api.org(&k, &f.org).expect_problem(401, "invalid_api_key");

    let expiring = key(&f
        .app
        .post(
            &format!("/v1/orgs/{}/api-keys", f.org),
            Some(&access(f.owner())),
            json!({"name": "short", "scopes": ["org:read"], "expires_in_days": 1}),
        )
        .expect(201)
        .body);
    api.org(&expiring, &f.org).expect(200);
    f.app.advance(24 * 3600 + 1);
    api.org(&expiring, &f.org).expect_problem(401, "invalid_api_key");
}

#[test]
fn scopes_never_exceed_the_creators_role() {
    let f = fixture();
    let api = f.api();
    // The owner-only permissions are person-only: no key holds them, whoever asks.
    for by in [f.admin(), f.owner()] {
        for scope in ["billing:manage", "org:delete"] {
            api.create_key(by, &f.org, "x", &["org:read", scope]).expect_problem(422, "scope_not_allowed_for_keys");
        }
    }
    api.create_key(f.admin(), &f.org, "x", &["members:write"]).expect(201);
    // Members cannot create keys at all.
    api.create_key(f.member(), &f.org, "x", &["org:read"]).expect_problem(403, "forbidden");
    api.create_key(f.owner(), &f.org, "x", &["org:everything"]).expect_problem(422, "validation_failed");
    api.create_key(f.owner(), &f.org, "x", &[]).expect_problem(422, "validation_failed");
    f.app
        .post(
            &format!("/v1/orgs/{}/api-keys", f.org),
            Some(&access(f.owner())),
            json!({"name": "x", "scopes": ["org:read"], "expires_in_days": 0}),
        )
        .expect_problem(422, "validation_failed");
}

#[test]
fn keys_never_manage_keys() {
    let f = fixture().key_with_scopes(&["api_keys:write", "org:read"]);
    let k = &f.key;
    f.api().create_key(k, &f.org, "x", &["org:read"]).expect_problem(403, "forbidden");
    f.api().keys(k, &f.org).expect_problem(403, "forbidden");
}

#[test]
fn keys_outlive_their_creator_and_audit_events_name_the_key() {
    let f = fixture();
    let api = f.api();
    // Scopes that cover the member role, so the key may invite members.
    let created = create_key(&f, f.admin(), &MEMBER_SCOPES);
    let k = key(&created);
    api.remove_member(f.admin(), f.tenant(), "me").expect(204);
    api.org(&k, &f.org).expect(200);
    let inv = api.invite(&k, f.tenant(), "ci@example.com", "member").expect(201).body;
    assert_eq!(inv["invited_by"]["name"], "CI/CD pipeline");
    let log = api.audit_log(f.owner(), f.tenant()).expect(200).body;
    assert_eq!(log["data"][0]["action"], "invitation.created");
    assert_eq!(log["data"][0]["actor"], json!({"kind": "api_key", "id": created["id"]}));
    // A key cannot create owners even with members:write.
    let mk = key(&create_key(&f, f.owner(), &["members:write"]));
    api.change_role(&mk, f.tenant(), &f.member().id(), "owner").expect_problem(403, "forbidden");
}

#[test]
fn rotation_keeps_scopes_and_the_old_key_works_through_the_grace_period() {
    let f = fixture();
    let api = f.api();
    let old = create_key(&f, f.admin(), &["org:read"]);
    let id = old["id"].as_str().unwrap();
    api.rotate_key(f.admin(), &f.org, id, 86401).expect_problem(422, "validation_failed");
    let new = api.rotate_key(f.admin(), &f.org, id, 60).expect(201).body;
    assert_eq!(new["scopes"], json!(["org:read"]));
    let new_id = new["id"].as_str().unwrap();
    assert_eq!(api.key(f.owner(), &f.org, new_id).expect(200).body, as_listed(&new, &["key"]), "{new}");
    assert_eq!((new["name"].as_str(), new["revoked_at"].is_null()), (old["name"].as_str(), true), "{new}");
    api.org(key(&old), &f.org).expect(200);
    api.org(key(&new), &f.org).expect(200);
    f.app.advance(60);
    api.org(key(&old), &f.org).expect_problem(401, "invalid_api_key");
    api.org(key(&new), &f.org).expect(200);
    api.rotate_key(f.admin(), &f.org, id, 0).expect_problem(409, "api_key_not_active");

    // Grace 0: the old key stops at once.
    let newer = api.rotate_key(f.owner(), &f.org, new["id"].as_str().unwrap(), 0).expect(201).body;
    api.org(key(&new), &f.org).expect_problem(401, "invalid_api_key");
    api.org(key(&newer), &f.org).expect(200);
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
        f.api().rotate_key(by, &f.org, id, 0).expect_problem(422, "scope_not_allowed_for_keys");
    }
}

#[test]
fn last_used_at_is_written_after_the_response_at_most_once_a_minute() {
    let f = fixture();
    let api = f.api();
    let created = create_key(&f, f.owner(), &["org:read"]);
    let k = key(&created);
    let last_used =
        || api.key(f.owner(), &f.org, created["id"].as_str().unwrap()).expect(200).body["last_used_at"].clone();
    assert_eq!(last_used(), Value::Null);
    api.org(&k, &f.org).expect(200);
    let first = last_used();
    assert!(first.is_string());
    f.app.advance(30);
    api.org(&k, &f.org).expect(200);
    assert_eq!(last_used(), first, "not again within a minute");
    f.app.advance(31);
    api.org(&k, &f.org).expect(200);
    assert_ne!(last_used(), first);
}

#[test]
fn over_the_per_key_limit_is_429_not_401() {
    let f = fixture();
    f.app.limiter.limit.set(3);
    let k = key(&create_key(&f, f.owner(), &["org:read"]));
    for _ in 0..3 {
        f.api().org(&k, &f.org).expect(200);
    }
    let r = f.api().org(&k, &f.org).expect_problem(429, "rate_limited");
    assert_eq!(r.header("retry-after"), Some("60"));
}

#[test]
fn keys_are_refused_on_routes_for_people() {
    let f = fixture().key_with_scopes(&["org:read"]);
    let k = &f.key;
    f.api().me(k).expect_problem(403, "user_required");
    f.api().create_org(k, "x").expect_problem(403, "user_required");
}

#[test]
fn authorize_explains_decisions_for_people_and_keys() {
    let f = fixture();
    let api = f.api();
    let r = api.authorize(f.member(), "apps:deploy", &f.org).expect(200).body;
    let via = json!({"kind": "org_role", "org_id": f.org, "role": "member", "joined_via": "invitation"});
    assert_eq!(r, json!({"allowed": true, "via": via}));
    let r = api.authorize(f.member(), "audit:read", &f.org).expect(200).body;
    assert_eq!((r["allowed"].as_bool(), r["via"]["role"].as_str()), (Some(false), Some("member")));
    let r = api.authorize(f.owner(), "billing:manage", &f.org).expect(200).body;
    assert_eq!(r["allowed"], true);
    let r = api.authorize(f.admin(), "billing:manage", &f.org).expect(200).body;
    assert_eq!(r["allowed"], false);

    let stranger = api.verified("stranger@example.com");
    let hidden = api.authorize(&stranger, "org:read", &f.org).expect(200).body;
    let missing = api.authorize(&stranger, "org:read", "org_00000000000000000000000000000000").expect(200).body;
    assert_eq!(hidden, json!({"allowed": false, "via": null}));
    assert_eq!(hidden, missing, "an invisible org and a missing one answer alike");

    let k = key(&create_key(&f, f.owner(), &["apps:deploy"]));
    let r = api.authorize(&k, "apps:deploy", &f.org).expect(200).body;
    assert_eq!((r["allowed"].as_bool(), r["via"]["kind"].as_str()), (Some(true), Some("api_key")));
    let r = api.authorize(&k, "members:write", &f.org).expect(200).body;
    assert_eq!(r["allowed"], false);
    api.authorize(&k, "org:fly", &f.org).expect_problem(422, "validation_failed");
    f.app.post("/v1/authorize", Some(&k), json!({"permission": "org:read"})).expect_problem(422, "validation_failed");
    let ws = api.authorize_in_workspace(&k, "org:read", "ws_00000000000000000000000000000000").expect(200).body;
    assert_eq!(ws, json!({"allowed": false, "via": null}));
    f.app
        .post("/v1/authorize", None, json!({"permission": "org:read", "org_id": f.org}))
        .expect_problem(401, "unauthenticated");
}

#[test]
fn a_key_hands_out_only_roles_its_scopes_cover() {
    let f = fixture();
    let api = f.api();
    let k = key(&create_key(&f, f.owner(), &["invitations:write", "members:write", "org:read"]));
    api.invite(&k, f.tenant(), "evil@example.com", "admin").expect_problem(403, "insufficient_scope");
    api.change_role(&k, f.tenant(), &f.member().id(), "admin").expect_problem(403, "insufficient_scope");
    api.invite(&k, f.tenant(), "ok@example.com", "member").expect_problem(403, "insufficient_scope");
    // A key whose scopes cover the member role may invite members.
    let k2 = key(&create_key(&f, f.owner(), &MEMBER_SCOPES));
    api.invite(&k2, f.tenant(), "ok@example.com", "member").expect(201);
}

#[test]
fn a_key_revokes_itself_and_nothing_else() {
    let f = fixture();
    let api = f.api();
    let created = create_key(&f, f.admin(), &["org:read"]);
    let (ending, id) = (key(&created), created["id"].as_str().unwrap().to_owned());
    let other = key(&create_key(&f, f.admin(), &["org:read"]));
    // Even a key with no scope to manage keys may end itself.
    f.app.call("DELETE", "/v1/api-keys/current", Some(&ending), None).expect(204);
    api.org(&ending, &f.org).expect_problem(401, "invalid_api_key");
    f.app.call("DELETE", "/v1/api-keys/current", Some(&ending), None).expect_problem(401, "invalid_api_key");
    api.org(&other, &f.org).expect(200);
    let listed = api.key(f.owner(), &f.org, &id).expect(200).body;
    assert!(listed["revoked_at"].is_string(), "{listed}");

    let log = api.audit_log(f.owner(), f.tenant()).expect(200).body;
    let revoked: Vec<&Value> =
        log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "api_key.revoked").collect();
    assert_eq!(revoked.len(), 1, "{log}");
    assert_eq!(revoked[0]["actor"], json!({"kind": "api_key", "id": id}));
    assert_eq!(revoked[0]["target"], json!({"kind": "api_key", "id": id}));

    // A person's session is not a key: the route is for keys only.
    f.app
        .call("DELETE", "/v1/api-keys/current", Some(&access(f.owner())), None)
        .expect_problem(400, "api_key_required");
    f.app.call("DELETE", "/v1/api-keys/current", None, None).expect(401);
    api.org(&other, &f.org).expect(200);
}
