//! The resolver's one-round-trip writes: the guard that opens their batch is
//! the only check before the write, so each rule is attacked here through
//! it: a session revoked after its token was signed, a role that lacks the
//! permission, an org's 2FA rule, a grant's reach, and an API key (which
//! takes the two-trip path) doing the same writes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::{json, Value};
use testapp::*;

type World = Fixture<TestApp>;

fn events(w: &World, tenant: Tenant) -> usize {
    w.api().audit_log(w.owner(), tenant).expect(200).body["data"].as_array().unwrap().len()
}

#[test]
fn a_revoked_session_writes_nothing_through_the_one_trip_routes() {
    let w = World::new(TestApp::new()).org_with("Acme", &["admin"]).workspace_of("customer", "Shop");
    let api = w.api();
    let admin = w.admin().clone();
    let customer = w.customer().clone();
    let org = w.org.clone();
    let ws = w.ws.clone();
    let before = events(&w, w.tenant());
    let admin_name = admin.session["user"]["name"].clone();
    // Both sign out; their access tokens still verify (15 minutes), their sessions are gone.
    api.logout(&admin).expect(204);
    api.logout(&customer).expect(204);
    let writes: Vec<(&str, Reply)> = vec![
        ("rename me", api.rename_me(&admin, "Mallory")),
        ("create an org", api.create_org(&admin, "Ghost")),
        ("rename the org", api.update_org(&admin, &org, json!({"name": "Hijacked"}))),
        ("create an install link", api.create_install_link(&admin, &org)),
        ("create a workspace", api.create_workspace(&customer, "Ghost")),
        ("rename the workspace", api.rename_workspace(&customer, &ws, "Hijacked")),
        ("change billing", api.update_billing(&customer, &ws, "pro", "mallory@example.com")),
        ("delete the workspace", api.delete_workspace(&customer, &ws)),
    ];
    for (what, reply) in writes {
        assert_eq!((reply.status, reply.code()), (401, "unauthenticated"), "{what}: {}", reply.raw);
    }
    // Nothing of it happened.
    assert_eq!(api.org(w.owner(), &org).expect(200).body["name"], "Acme");
    assert_eq!(events(&w, w.tenant()), before, "no audit row for a refused write");
    assert!(api.install_links(w.owner(), &org).expect(200).body["data"].as_array().unwrap().is_empty());
    let admin_again = Person::from_session(&admin.email, api.login(&admin.email, PASSWORD).expect(200).body);
    assert_eq!(api.me(&admin_again).expect(200).body["name"], admin_name);
    assert_eq!(api.orgs(&admin_again).expect(200).body["data"].as_array().unwrap().len(), 1, "no org was created");
    let customer_again = Person::from_session(&customer.email, api.login(&customer.email, PASSWORD).expect(200).body);
    let mine = api.workspaces(&customer_again).expect(200).body;
    assert_eq!(mine["data"].as_array().unwrap().len(), 1, "no workspace was created or deleted: {mine}");
    assert_eq!(mine["data"][0]["name"], "Shop");
    assert_eq!(mine["data"][0]["plan"], "free");
}

#[test]
fn the_guard_refuses_what_the_policy_table_refuses_and_writes_nothing() {
    let w = World::new(TestApp::new())
        .org_with("Acme", &["admin", "member"])
        .workspace_with_grant("acme")
        .join_workspace("wsmember", "member");
    let api = w.api();
    let (org, ws) = (w.org.clone(), w.ws.clone());
    let before = events(&w, w.tenant());
    // A member renames nothing; an admin sets no 2FA rule (the owner's).
    api.update_org(w.member(), &org, json!({"name": "Mine"})).expect_problem(403, "forbidden");
    api.create_install_link(w.member(), &org).expect_problem(403, "forbidden");
    api.update_org(w.admin(), &org, json!({"require_2fa": true})).expect_problem(403, "forbidden");
    // The owner without 2FA cannot set it either: they must have it first.
    api.update_org(w.owner(), &org, json!({"require_2fa": true})).expect_problem(403, "two_factor_required");
    // A stranger to the org: not there at all.
    let stranger = api.verified("stranger@example.com");
    api.update_org(&stranger, &org, json!({"name": "Mine"})).expect_problem(404, "not_found");
    // In the workspace: a grant admin renames it but never bills or deletes; a direct member does neither.
    api.rename_workspace(w.admin(), &ws, "Renamed by the vendor").expect(200);
    api.update_billing(w.admin(), &ws, "pro", "vendor@example.com").expect_problem(403, "forbidden");
    api.delete_workspace(w.admin(), &ws).expect_problem(403, "forbidden");
    api.rename_workspace(w.who("wsmember"), &ws, "Mine").expect_problem(403, "forbidden");
    api.delete_workspace(&stranger, &ws).expect_problem(404, "not_found");
    assert_eq!(api.org(w.owner(), &org).expect(200).body["require_2fa"], false);
    assert_eq!(api.org(w.owner(), &org).expect(200).body["name"], "Acme");
    assert_eq!(events(&w, w.tenant()), before, "no audit row for a refused write");
    let seen = api.workspace(w.customer(), &ws).expect(200).body;
    assert_eq!((seen["name"].as_str(), seen["plan"].as_str()), (Some("Renamed by the vendor"), Some("free")));
}

#[test]
fn an_orgs_2fa_rule_closes_the_one_trip_writes_of_its_members_and_its_grant() {
    let app = TestApp::new();
    let api = app.api();
    // An owner with 2FA on requires it of everyone; the admin has none.
    let owner = api.verified_with_2fa("owner@example.com").person;
    let org = api.create_org_with_slug(&owner, "Acme", "acme").expect(201).id();
    let admin = api.join(&owner, Tenant::Org(&org), "admin@example.com", "admin");
    let customer = api.verified("customer@example.com");
    let ws = api.create_workspace(&customer, "Shop").expect(201).id();
    api.grant(&customer, &ws, "acme").expect(201);
    api.rename_workspace(&admin, &ws, "Before the rule").expect(200);
    api.update_org(&owner, &org, json!({"require_2fa": true})).expect(200);
    // The admin now writes nothing in the org, nor through its grant.
    api.update_org(&admin, &org, json!({"name": "Still mine"})).expect_problem(403, "two_factor_required");
    api.create_install_link(&admin, &org).expect_problem(403, "two_factor_required");
    api.rename_workspace(&admin, &ws, "Still mine").expect_problem(403, "two_factor_required");
    assert_eq!(api.org(&owner, &org).expect(200).body["name"], "Acme");
    assert_eq!(api.workspace(&customer, &ws).expect(200).body["name"], "Before the rule");
    // Leaving stays open whatever the rule says.
    api.remove_member(&admin, Tenant::Org(&org), "me").expect(204);
}

#[test]
fn an_api_key_writes_through_the_two_trip_path_with_its_scopes() {
    let w = World::new(TestApp::new()).org_with("Acme", &[]).key_with_scopes(&["org:write", "notifications:write"]);
    let api = w.api();
    let key = w.key.clone();
    let renamed = api.update_org(key.as_str(), &w.org, json!({"name": "Acme CI"})).expect(200).body;
    assert_eq!(renamed["name"], "Acme CI");
    assert_eq!(w.app.last_round_trips(), 2, "a key is looked up before its audit row can name it");
    let log = api.audit_log(w.owner(), w.tenant()).expect(200).body;
    let entry: &Value = &log["data"][0];
    assert_eq!((entry["action"].as_str(), entry["actor"]["kind"].as_str()), (Some("org.updated"), Some("api_key")));
    // Without the scope: refused, and nothing written.
    api.create_install_link(key.as_str(), &w.org).expect_problem(403, "insufficient_scope");
    // A person's same write is one trip.
    api.update_org(w.owner(), &w.org, json!({"name": "Acme"})).expect(200);
    assert_eq!(w.app.last_round_trips(), 1);
}
