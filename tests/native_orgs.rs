//! Organizations, members, invitations and the audit log, through the real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::{json, Value};
use testapp::*;

/// "Acme, Inc." with an owner, an admin and a member, and a stranger.
fn org() -> Fixture<TestApp> {
    Fixture::new(TestApp::new()).org_with("Acme, Inc.", &["admin", "member"]).with_stranger()
}

fn uid(s: &impl Session) -> String {
    user_id(s)
}

#[test]
fn creating_an_org_makes_me_its_owner_with_a_derived_slug() {
    let app = TestApp::new();
    let me = app.verified_user("me@example.com");
    let org = app.create_org(&me, "Acme, Inc.");
    assert_eq!(org["slug"], "acme-inc");
    assert_eq!(org["role"], "owner");
    assert!(org["id"].as_str().unwrap().starts_with("org_"));
    // The same name again gets a suffixed slug; a given slug that is taken is 409.
    let again = app.create_org(&me, "Acme, Inc.");
    assert!(again["slug"].as_str().unwrap().starts_with("acme-inc-"));
    app.api().create_org_with_slug(&me, "X", "acme-inc").expect_problem(409, "slug_taken");
    for bad in ["ab", "-acme", "acme-", "ac--me", "Acme", &"a".repeat(41)] {
        app.api().create_org_with_slug(&me, "X", bad).expect_problem(422, "validation_failed");
    }
    let list = app.api().orgs(&me).expect(200).body;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert_eq!(list["data"][0]["role"], "owner");
}

#[test]
fn another_tenants_org_is_404_and_anonymous_is_401() {
    let o = org();
    o.app.api().org(o.stranger(), &o.org).expect_problem(404, "not_found");
    o.app.get(&format!("/v1/orgs/{}", o.org), None).expect_problem(401, "unauthenticated");
    o.app
        .get("/v1/orgs/org_00000000000000000000000000000000", Some(&access(o.owner())))
        .expect_problem(404, "not_found");
    o.app.get("/v1/orgs/garbage", Some(&access(o.owner()))).expect_problem(404, "not_found");
}

/// `GET /v1/orgs/{id}` and `POST /v1/authorize` read the caller's membership
/// in the session check's own row: the org never answers for a session that
/// is not live, and each org answers with the caller's own role in it.
#[test]
fn the_org_comes_with_the_session_check_only_for_a_live_session_and_its_own_role() {
    let o = org();
    let api = o.api();
    let other = o.app.create_org(o.member(), "Member's own");
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(api.org(o.member(), &o.org).expect(200).body["role"], "member");
    assert_eq!(api.org(o.member(), other_id).expect(200).body["role"], "owner");
    assert_eq!(api.authorize(o.member(), "members:write", other_id).expect(200).body["allowed"], true);
    assert_eq!(api.authorize(o.member(), "members:write", &o.org).expect(200).body["allowed"], false);
    assert_eq!(api.authorize(o.admin(), "org:read", other_id).expect(200).body["via"], Value::Null);
    // The same token, already verified once, after its session ends: 401, no org.
    let token = access(o.member());
    api.logout(o.member()).expect(204);
    o.app.get(&format!("/v1/orgs/{}", o.org), Some(&token)).expect_problem(401, "unauthenticated");
    o.app.get(&format!("/v1/orgs/{other_id}"), Some(&token)).expect_problem(401, "unauthenticated");
}

/// Every org route × owner, admin, member, stranger, anonymous.
#[test]
fn the_org_route_matrix() {
    // (method, path template, body, [owner, admin, member, stranger, anonymous]) expected statuses.
    // Each row runs on a fresh org so that destructive routes do not interfere.
    let rows: Vec<(&str, &str, Value, [u16; 5])> = vec![
        ("GET", "/v1/orgs/{org}", json!(null), [200, 200, 200, 404, 401]),
        ("PATCH", "/v1/orgs/{org}", json!({"name": "Renamed"}), [200, 200, 403, 404, 401]),
        ("GET", "/v1/orgs/{org}/members", json!(null), [200, 200, 200, 404, 401]),
        ("PATCH", "/v1/orgs/{org}/members/{member}", json!({"role": "member"}), [200, 200, 403, 404, 401]),
        ("GET", "/v1/orgs/{org}/invitations", json!(null), [200, 200, 403, 404, 401]),
        (
            "POST",
            "/v1/orgs/{org}/invitations",
            json!({"email": "new@example.com", "role": "member"}),
            [201, 201, 403, 404, 401],
        ),
        ("GET", "/v1/orgs/{org}/audit-log", json!(null), [200, 200, 403, 404, 401]),
        ("POST", "/v1/orgs/{org}/ownership-transfer", json!({"user_id": "{member}"}), [200, 403, 403, 404, 401]),
        // The target is the admin: for the admin it is leaving, for the member removing someone else.
        ("DELETE", "/v1/orgs/{org}/members/{admin}", json!(null), [204, 204, 403, 404, 401]),
        ("DELETE", "/v1/orgs/{org}", json!(null), [204, 403, 403, 404, 401]),
    ];
    for (method, template, body, expected) in rows {
        for (i, who) in ["owner", "admin", "member", "stranger", "anonymous"].iter().enumerate() {
            let o = org();
            let path = template
                .replace("{org}", &o.org)
                .replace("{member}", &uid(o.member()))
                .replace("{admin}", &uid(o.admin()));
            let body: Value = serde_json::from_str(&body.to_string().replace("{member}", &uid(o.member()))).unwrap();
            let token = match *who {
                "owner" => Some(access(o.owner())),
                "admin" => Some(access(o.admin())),
                "member" => Some(access(o.member())),
                "stranger" => Some(access(o.stranger())),
                _ => None,
            };
            let r = o.app.call(method, &path, token.as_deref(), if body.is_null() { None } else { Some(body) });
            assert_eq!(r.status, expected[i], "{who}: {method} {template}: {}", r.raw);
        }
    }
}

#[test]
fn an_org_never_loses_its_last_owner() {
    let o = org();
    let me = uid(o.owner());
    o.app.api().change_role(o.owner(), Tenant::Org(&o.org), &me, "admin").expect_problem(409, "last_owner");
    o.app.api().remove_member(o.owner(), Tenant::Org(&o.org), "me").expect_problem(409, "last_owner");
    // With a second owner, the first may step down or leave.
    o.app.api().change_role(o.owner(), Tenant::Org(&o.org), &uid(o.admin()), "owner").expect(200);
    o.app.api().change_role(o.owner(), Tenant::Org(&o.org), &me, "admin").expect(200);
    let admin_now = o.app.api().change_role(o.owner(), Tenant::Org(&o.org), &uid(o.admin()), "member");
    admin_now.expect_problem(403, "forbidden");
}

#[test]
fn owners_are_never_removed_while_owners() {
    let o = org();
    o.api().change_role(o.owner(), o.tenant(), &o.admin().id(), "owner").expect(200);
    o.api().remove_member(o.owner(), o.tenant(), &o.admin().id()).expect_problem(409, "cannot_remove_owner");
    // An admin trying it: 403.
    let o = org();
    o.api().remove_member(o.admin(), o.tenant(), &o.owner().id()).expect_problem(403, "forbidden");
}

#[test]
fn admins_move_people_only_between_admin_and_member() {
    let o = org();
    let (api, org) = (o.api(), o.tenant());
    api.change_role(o.admin(), org, &o.member().id(), "admin").expect(200);
    api.change_role(o.admin(), org, &o.member().id(), "owner").expect_problem(403, "forbidden");
    api.change_role(o.admin(), org, &o.owner().id(), "member").expect_problem(403, "forbidden");
    // Nobody raises their own role.
    api.change_role(o.admin(), org, &o.admin().id(), "owner").expect_problem(403, "forbidden");
    api.change_role(o.member(), org, &o.member().id(), "owner").expect_problem(403, "forbidden");
    api.change_role(o.owner(), org, &o.member().id(), "boss").expect_problem(422, "validation_failed");
    api.change_role(o.owner(), org, "usr_00000000000000000000000000000000", "admin").expect_problem(404, "not_found");
}

#[test]
fn removal_ends_access_at_once_and_members_can_leave() {
    let o = org();
    let (api, org) = (o.api(), o.tenant());
    api.remove_member(o.admin(), org, &o.member().id()).expect(204);
    api.org(o.member(), &o.org).expect_problem(404, "not_found");
    api.remove_member(o.admin(), org, "me").expect(204);
    api.org(o.admin(), &o.org).expect(404);
    let members = api.members(o.owner(), org).expect(200).body;
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    assert_eq!(members["data"][0]["totp_enabled"], false);
}

#[test]
fn ownership_transfer_swaps_roles_atomically() {
    let o = org();
    let r = o.api().transfer_ownership(o.owner(), &o.org, &o.member().id()).expect(200);
    assert_eq!(r.body["role"], "owner");
    let me = o.api().org(o.owner(), &o.org).expect(200).body;
    assert_eq!(me["role"], "admin");
    o.api().transfer_ownership(o.member(), &o.org, &o.stranger().id()).expect_problem(404, "not_found");
}

#[test]
fn require_2fa_needs_an_owner_with_2fa() {
    let o = org();
    o.app
        .patch(&format!("/v1/orgs/{}", o.org), Some(&access(o.owner())), json!({"require_2fa": true}))
        .expect_problem(403, "two_factor_required");
    o.app
        .patch(&format!("/v1/orgs/{}", o.org), Some(&access(o.admin())), json!({"require_2fa": true}))
        .expect_problem(403, "forbidden");
}

#[test]
fn deleting_an_org_takes_everything_with_it() {
    let o = org();
    o.app.api().delete_org(o.owner(), &o.org).expect(204);
    o.app.api().org(o.owner(), &o.org).expect(404);
    let list = o.app.api().orgs(o.member()).expect(200).body;
    assert!(list["data"].as_array().unwrap().is_empty());
}

#[test]
fn invitation_accept_flow_and_every_error_code() {
    let o = org();
    let inv = o.app.api().invite(o.admin(), Tenant::Org(&o.org), "Stranger@Example.com", "admin").expect(201).body;
    assert_eq!(
        (inv["status"].as_str(), inv["email"].as_str(), inv["role"].as_str()),
        (Some("pending"), Some("stranger@example.com"), Some("admin"))
    );
    assert_eq!(inv["invited_by"]["id"], uid(o.admin()));
    let token = o.app.token_from_email("stranger@example.com", "/invite");

    let preview = o.app.api().preview_invitation(&token).expect(200).body;
    assert_eq!(preview["org"], json!({"name": "Acme, Inc.", "slug": "acme-inc"}));
    assert_eq!(preview["role"], "admin");
    assert_eq!(preview["invited_by"]["name"], "admin person");

    // Someone else signed in cannot take it.
    o.app.api().accept_invitation(o.member(), &token).expect_problem(403, "invitation_email_mismatch");
    let r = o.app.api().accept_invitation(o.stranger(), &token).expect(200);
    assert_eq!(r.body["role"], "admin");
    assert_eq!(r.body["org"]["id"], o.org.as_str());
    o.app.api().org(o.stranger(), &o.org).expect(200);
    o.app.api().accept_invitation(o.stranger(), &token).expect_problem(409, "invitation_already_accepted");
    o.app.api().accept_invitation(o.stranger(), &"A".repeat(43)).expect_problem(404, "invitation_not_found");
    o.app.post("/v1/invitations/accept", None, json!({"token": token})).expect_problem(401, "unauthenticated");
}

#[test]
fn invitations_expire_after_7_days_and_resend_revives_with_a_new_link() {
    let o = org();
    let api = o.api();
    let id = api.invite(o.owner(), o.tenant(), "stranger@example.com", "member").expect(201).id();
    let old = o.app.token_from_email("stranger@example.com", "/invite");
    o.app.advance(7 * 24 * 3600 + 1);
    // Access tokens expired during the week: sign in again.
    let owner = api.login("owner@example.com", PASSWORD).expect(200).body;
    let stranger = api.login("stranger@example.com", PASSWORD).expect(200).body;
    api.accept_invitation(&stranger, &old).expect_problem(410, "invitation_expired");
    let list =
        o.app.get(&format!("/v1/orgs/{}/invitations?status=expired", o.org), Some(&access(&owner))).expect(200).body;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    api.resend_invitation(&owner, o.tenant(), &id).expect(202);
    let new = o.app.token_from_email("stranger@example.com", "/invite");
    assert_ne!(old, new);
    api.accept_invitation(&stranger, &old).expect_problem(404, "invitation_not_found");
    api.accept_invitation(&stranger, &new).expect(200);
}

#[test]
fn revoked_and_declined_invitations_are_gone() {
    let o = org();
    let api = o.api();
    let id = api.invite(o.owner(), o.tenant(), "stranger@example.com", "member").expect(201).id();
    let token = o.app.token_from_email("stranger@example.com", "/invite");
    api.revoke_invitation(o.admin(), o.tenant(), &id).expect(204);
    api.accept_invitation(o.stranger(), &token).expect_problem(410, "invitation_revoked");
    api.preview_invitation(&token).expect_problem(410, "invitation_revoked");

    api.invite(o.owner(), o.tenant(), "stranger@example.com", "member").expect(201);
    let token = o.app.token_from_email("stranger@example.com", "/invite");
    o.app.post("/v1/invitations/decline", None, json!({"token": token})).expect(204);
    api.accept_invitation(o.stranger(), &token).expect_problem(410, "invitation_declined");
    let statuses: Vec<String> = api.invitations(o.owner(), o.tenant()).expect(200).body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap().to_owned())
        .collect();
    assert!(statuses.contains(&"revoked".to_owned()) && statuses.contains(&"declined".to_owned()), "{statuses:?}");
}

#[test]
fn invitation_conflicts_and_role_limits() {
    let o = org();
    let (api, org) = (o.api(), o.tenant());
    api.invite(o.owner(), org, "member@example.com", "member").expect_problem(409, "already_member");
    api.invite(o.owner(), org, "x@example.com", "member").expect(201);
    api.invite(o.owner(), org, "X@example.com", "admin").expect_problem(409, "invitation_exists");
    api.invite(o.admin(), org, "y@example.com", "owner").expect_problem(403, "forbidden");
    api.invite(o.owner(), org, "y@example.com", "owner").expect(201);
    api.invite(o.owner(), org, "nope", "member").expect_problem(422, "validation_failed");
    api.invite(o.owner(), org, "z@example.com", "god").expect_problem(422, "validation_failed");
    let path = format!("/v1/orgs/{}/invitations", o.org);
    o.app.get(&format!("{path}?status=weird"), Some(&access(o.owner()))).expect_problem(422, "validation_failed");
}

#[test]
fn at_most_100_pending_invitations() {
    let o = org();
    let path = format!("/v1/orgs/{}/invitations", o.org);
    // Two already used by the fixture (accepted, so not pending).
    for i in 0..100 {
        o.app
            .post(&path, Some(&access(o.owner())), json!({"email": format!("p{i}@example.com"), "role": "member"}))
            .expect(201);
    }
    let r = o
        .app
        .post(&path, Some(&access(o.owner())), json!({"email": "one-more@example.com", "role": "member"}))
        .expect_problem(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
}

#[test]
fn signup_with_an_invitation_creates_a_verified_member_and_a_session() {
    let o = org();
    let api = o.api();
    let token = api.invitation_token(o.owner(), o.tenant(), "new@example.com", "member");
    // Another address with the token: nothing is created.
    api.signup_invited("other@example.com", PASSWORD, "O", &token).expect_problem(403, "invitation_email_mismatch");
    api.login("other@example.com", PASSWORD).expect_problem(401, "invalid_credentials");

    let s = api.signup_invited("New@example.com", PASSWORD, "N", &token).expect(201).body;
    assert_eq!(s["user"]["email_verified"], true);
    let org = api.org(&s, &o.org).expect(200).body;
    assert_eq!(org["role"], "member");
    api.login("new@example.com", PASSWORD).expect(200);
    // The token is spent.
    api.signup_invited("new@example.com", PASSWORD, "N", &token).expect_problem(409, "invitation_already_accepted");
}

#[test]
fn signup_with_an_invitation_for_an_existing_account_asks_to_sign_in() {
    let o = org();
    let api = o.api();
    let token = api.invitation_token(o.owner(), o.tenant(), "stranger@example.com", "member");
    api.signup_invited("stranger@example.com", PASSWORD, "S", &token).expect_problem(409, "account_exists");
    // Nothing was consumed.
    api.accept_invitation(o.stranger(), &token).expect(200);
}

#[test]
fn the_audit_log_records_changes_newest_first() {
    let o = org();
    let api = o.api();
    api.change_role(o.owner(), o.tenant(), &o.member().id(), "admin").expect(200);
    api.remove_member(o.owner(), o.tenant(), &o.member().id()).expect(204);
    api.update_org(o.owner(), &o.org, json!({"name": "Acme 2"})).expect(200);
    let log = api.audit_log(o.admin(), o.tenant()).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "org.updated",
            "member.removed",
            "member.role_changed",
            "invitation.accepted",
            "invitation.created",
            "invitation.accepted",
            "invitation.created",
            "org.created"
        ]
    );
    let first = &log["data"][0];
    assert_eq!(first["actor"], json!({"kind": "user", "id": uid(o.owner())}));
    assert_eq!(first["target"]["kind"], "org");
    let page = o.app.get(&format!("/v1/orgs/{}/audit-log?limit=3", o.org), Some(&access(o.admin()))).expect(200).body;
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = o
        .app
        .get(&format!("/v1/orgs/{}/audit-log?limit=3&cursor={cursor}", o.org), Some(&access(o.admin())))
        .expect(200)
        .body;
    assert_eq!(next["data"][0]["action"], "invitation.accepted");
    // A refused change writes nothing.
    o.app.api().change_role(o.owner(), Tenant::Org(&o.org), &uid(o.owner()), "admin").expect_problem(409, "last_owner");
    let again = o.app.get(&format!("/v1/orgs/{}/audit-log?limit=1", o.org), Some(&access(o.admin()))).expect(200).body;
    assert_eq!(again["data"][0]["action"], "org.updated");
}

#[test]
fn openapi_documents_every_route() {
    let app = TestApp::new();
    let doc = app.get("/openapi.json", None).expect(200).body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for route in latchkey::http::routes::ROUTES {
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        assert!(op.is_object(), "{route:?} is missing from /openapi.json");
    }
    let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, latchkey::http::routes::ROUTES.len(), "no phantom routes");
    // Every schema a route names is in the components (utoipa collects those
    // of bodies, not those of parameters, which `Base` must list).
    let text = doc.to_string();
    for name in text.split("\"#/components/schemas/").skip(1).filter_map(|rest| rest.split('"').next()) {
        assert!(doc["components"]["schemas"][name].is_object(), "#/components/schemas/{name} is not defined");
    }
}

#[test]
fn openapi_json_is_generated_from_the_code() {
    let generated = serde_json::to_string_pretty(&latchkey::http::openapi::document()).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    assert!(
        latchkey::http::openapi::DOCUMENT == generated,
        "src/http/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test native orgs::openapi` and commit it"
    );
}
