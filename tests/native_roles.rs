//! Custom roles through the real router over SQLite: the catalog, CRUD, the
//! limit of 25, assignment by members, invitations, and the attacks: an
//! admin or a custom role reaching beyond itself, owner-only and
//! person-only powers, another org's role, a role deleted while assigned,
//! and a permission removed taking effect on the next request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use latchkey::stmt;
use latchkey::store::sql;
use serde_json::{json, Value};
use testapp::*;

/// Every permission a custom role may hold (what an admin has, none
/// person-only), written out.
const HOLDABLE: [&str; 16] = [
    "org:read",
    "org:write",
    "members:read",
    "members:write",
    "invitations:write",
    "api_keys:write",
    "audit:read",
    "workspaces:read",
    "workspaces:write",
    "projects:read",
    "projects:write",
    "apps:read",
    "apps:deploy",
    "databases:read",
    "databases:write",
    "notifications:write",
];

/// The reader's set: reads the org, its members and its audit log.
const BILLING_VIEWER: [&str; 3] = ["org:read", "members:read", "audit:read"];
/// A team lead: what a member holds, and manages members and invitations.
const PEOPLE_LEAD: [&str; 9] = [
    "org:read",
    "members:read",
    "members:write",
    "invitations:write",
    "workspaces:read",
    "projects:read",
    "apps:read",
    "apps:deploy",
    "databases:read",
];

fn acme() -> Fixture<TestApp> {
    Fixture::new(TestApp::new())
        .org_owned_by("owner", "Acme", Some("acme"))
        .join_org("admin", "admin")
        .join_org("member", "member")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}")).iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

fn role_of(f: &Fixture<TestApp>, email: &str) -> Option<String> {
    let list = f.api().members(f.owner(), f.tenant()).expect(200).body;
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .map(|m| m["role"].as_str().unwrap().to_owned())
}

/// `key` created by the owner with `permissions`, and `{label}@example.com`
/// joined with it by invitation.
fn with_holder(f: Fixture<TestApp>, key: &str, permissions: &[&str], label: &str) -> Fixture<TestApp> {
    f.api().create_role(f.owner(), &f.org, key, permissions).expect(201);
    f.join_org(label, key)
}

#[test]
fn the_catalog_comes_from_the_one_table() {
    let f = acme();
    let data = f.api().permissions(f.member()).expect(200).body["data"].clone();
    let rows = data.as_array().unwrap();
    assert_eq!(rows.len(), 18);
    for row in rows {
        let key = row["key"].as_str().unwrap();
        let owner_only = ["org:delete", "billing:manage"].contains(&key);
        assert_eq!(row["person_only"], owner_only, "{key}");
        assert_eq!(row["custom_roles"], HOLDABLE.contains(&key), "{key}");
        assert!(!row["description"].as_str().unwrap().is_empty(), "{key}");
    }
    // Signed in only: an API key is a person's route refusal, anonymous 401.
    let keyed = f.key_with_scopes(&["org:read"]);
    keyed.api().permissions(keyed.key.as_str()).expect_problem(403, "user_required");
    keyed.app.call("GET", "/v1/permissions", None, None).expect(401);
}

#[test]
fn owners_create_list_change_and_delete_roles_and_built_ins_never_change() {
    let f = acme();
    let api = f.api();
    let body = json!({"key": "billing-viewer", "name": "Billing viewer", "description": "Reads invoices",
                      "permissions": ["audit:read", "org:read", "members:read", "org:read"]});
    let made = api.create_role_with(f.owner(), &f.org, body).expect(201).body;
    assert_eq!(made["key"], "billing-viewer");
    assert_eq!(made["builtin"], false);
    assert_eq!(strings(&made["permissions"]), BILLING_VIEWER, "contract order, no repeats");

    let list = api.roles(f.member(), &f.org).expect(200).body;
    let keys: Vec<&str> = list["data"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["owner", "admin", "member", "billing-viewer"]);
    assert_eq!(list["data"][0]["builtin"], true);
    assert_eq!(strings(&list["data"][2]["permissions"]).len(), 7, "the member's seven");
    assert_eq!(api.role(f.member(), &f.org, "admin").expect(200).body["builtin"], true);

    let changed = api
        .update_role(f.admin(), &f.org, "billing-viewer", json!({"name": "Viewer", "permissions": ["org:read"]}))
        .expect(200)
        .body;
    assert_eq!((changed["name"].as_str(), changed["description"].as_str()), (Some("Viewer"), Some("Reads invoices")));
    assert_eq!(strings(&api.role(f.owner(), &f.org, "billing-viewer").expect(200).body["permissions"]), ["org:read"]);

    for builtin in ["owner", "admin", "member"] {
        api.update_role(f.owner(), &f.org, builtin, json!({"name": "Boss"})).expect_problem(409, "builtin_role");
        api.delete_role(f.owner(), &f.org, builtin).expect_problem(409, "builtin_role");
    }
    api.create_role(f.owner(), &f.org, "billing-viewer", &["org:read"]).expect_problem(409, "role_exists");
    for (key, code) in [("owner", "reserved_role"), ("AB", "invalid_role_key"), ("-x-", "invalid_role_key")] {
        let r = api.create_role(f.owner(), &f.org, key, &["org:read"]).expect_problem(422, "validation_failed");
        assert_eq!(
            (r.body["errors"][0]["field"].as_str(), r.body["errors"][0]["code"].as_str()),
            (Some("key"), Some(code))
        );
    }
    let r =
        api.create_role(f.owner(), &f.org, "bad-perm", &["org:everything"]).expect_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "invalid_permission");

    api.delete_role(f.owner(), &f.org, "billing-viewer").expect(204);
    api.role(f.owner(), &f.org, "billing-viewer").expect_problem(404, "not_found");
    api.delete_role(f.owner(), &f.org, "billing-viewer").expect_problem(404, "not_found");

    // Members and strangers define nothing; the log says who did what.
    api.create_role(f.member(), &f.org, "sneaky", &["org:read"]).expect_problem(403, "forbidden");
    let stranger = api.verified("stranger@example.com");
    api.roles(&stranger, &f.org).expect_problem(404, "not_found");
    let log = api.audit_log(f.owner(), f.tenant()).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["role.created", "role.updated", "role.deleted"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[test]
fn an_org_has_at_most_25_roles_and_of_two_inserts_at_24_exactly_one_wins() {
    let f = acme();
    let api = f.api();
    for i in 0..25 {
        api.create_role(f.owner(), &f.org, &format!("role-{i:02}"), &["org:read"]).expect(201);
    }
    api.create_role(f.owner(), &f.org, "role-26", &["org:read"]).expect_problem(409, "role_limit_reached");
    api.delete_role(f.owner(), &f.org, "role-00").expect(204);
    // Two creations decided at 24 roles: their guarded inserts run one after
    // the other in D1, and the second finds 25.
    let owner = f.owner().id();
    let insert = |key: &str| {
        stmt!(
            sql::INSERT_ROLE,
            f.org.as_str(),
            key,
            "Raced",
            "",
            "[\"org:read\"]",
            1_i64,
            25_i64,
            owner.as_str(),
            "owner"
        )
    };
    let changed: Vec<u64> = ["race-a", "race-b"]
        .iter()
        .map(|k| {
            let out = pollster::block_on(latchkey::store::Db::batch(f.app.db.as_ref(), vec![insert(k)])).unwrap();
            out[0].changes
        })
        .collect();
    assert_eq!(changed, [1, 0], "exactly one wins");
    let list = api.roles(f.owner(), &f.org).expect(200).body;
    assert_eq!(list["data"].as_array().unwrap().len(), 3 + 25);
}

#[test]
fn a_role_never_holds_owner_only_or_person_only_permissions_nor_more_than_its_author() {
    let f = acme();
    let api = f.api();
    for p in ["org:delete", "billing:manage"] {
        for who in [f.owner(), f.admin()] {
            let r = api.create_role(who, &f.org, "too-much", &["org:read", p]).expect_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["code"], "permission_not_allowed_for_roles", "{p}");
        }
    }
    // An admin may define a role with everything a role may hold (all of it theirs).
    api.create_role(f.admin(), &f.org, "almost-admin", &HOLDABLE).expect(201);
    // A role an owner defined stays beyond an admin only if it holds more
    // than they do; nothing a role may hold is beyond an admin, so the
    // admin edits it.
    api.update_role(f.admin(), &f.org, "almost-admin", json!({"permissions": ["org:read"]})).expect(200);
    // Someone holding a custom role, even one that manages members, never defines roles.
    let f = with_holder(f, "people-lead", &PEOPLE_LEAD, "lead");
    let api = f.api();
    api.create_role(f.who("lead"), &f.org, "reader", &["org:read"]).expect_problem(403, "forbidden");
    api.update_role(f.who("lead"), &f.org, "almost-admin", json!({"name": "x"})).expect_problem(403, "forbidden");
    api.delete_role(f.who("lead"), &f.org, "almost-admin").expect_problem(403, "forbidden");
    // An API key never defines roles, whatever its scopes.
    let f = f.key_with_scopes(&["org:read", "members:read", "members:write"]);
    f.api().create_role(f.key.as_str(), &f.org, "keyed", &["org:read"]).expect_problem(403, "user_required");
}

#[test]
fn a_custom_role_that_manages_members_never_grants_beyond_itself_nor_touches_those_above_it() {
    let f = with_holder(acme(), "people-lead", &PEOPLE_LEAD, "lead");
    let api = f.api();
    api.create_role(f.owner(), &f.org, "reader", &["org:read", "members:read"]).expect(201);
    api.create_role(f.owner(), &f.org, "auditor", &["org:read", "audit:read"]).expect(201);
    let lead = f.who("lead");
    assert_eq!(role_of(&f, "lead@example.com").as_deref(), Some("people-lead"));
    let member = f.member().id();
    let admin = f.admin().id();
    let owner = f.owner().id();
    // Within its own set: allowed.
    api.change_role(lead, f.tenant(), &member, "reader").expect(200);
    assert_eq!(role_of(&f, "member@example.com").as_deref(), Some("reader"));
    // A role holding what the lead lacks (audit:read; admin; owner).
    for bigger in ["auditor", "admin", "owner"] {
        api.change_role(lead, f.tenant(), &member, bigger).expect_problem(403, "forbidden");
    }
    // Those above it: never changed nor removed.
    api.change_role(lead, f.tenant(), &admin, "reader").expect_problem(403, "forbidden");
    api.change_role(lead, f.tenant(), &owner, "reader").expect_problem(403, "forbidden");
    api.remove_member(lead, f.tenant(), &admin).expect_problem(403, "forbidden");
    api.remove_member(lead, f.tenant(), &owner).expect_problem(403, "forbidden");
    // Its own role: never raised.
    api.change_role(lead, f.tenant(), &lead.id(), "admin").expect_problem(403, "forbidden");
    // Owner actions: never.
    api.transfer_ownership(lead, &f.org, &member).expect_problem(403, "forbidden");
    api.delete_org(lead, &f.org).expect_problem(403, "forbidden");
    api.set_key_policy(lead, &f.org, json!({"max_lifetime_days": 30})).expect_problem(403, "forbidden");
    api.update_org(lead, &f.org, json!({"name": "Mine"})).expect_problem(403, "forbidden");
    // Invitations: only roles within its set.
    api.invite(lead, f.tenant(), "new@example.com", "reader").expect(201);
    for bigger in ["auditor", "admin", "owner"] {
        api.invite(lead, f.tenant(), "new2@example.com", bigger).expect_problem(403, "forbidden");
    }
    // The roles list and the member list offer exactly that.
    let roles = api.roles(lead, &f.org).expect(200).body;
    let invitable: Vec<&str> = roles["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["invitable"] == true)
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(invitable, ["member", "people-lead", "reader"]);
    assert_eq!(roles["can_define"], false, "a custom role never defines roles");
    assert_eq!(api.roles(f.admin(), &f.org).expect(200).body["can_define"], true);
    let list = api.members(lead, f.tenant()).expect(200).body;
    let row = |email: &str| list["data"].as_array().unwrap().iter().find(|m| m["email"] == email).unwrap().clone();
    assert_eq!(strings(&row("member@example.com")["assignable_roles"]), ["member", "people-lead", "reader"]);
    assert_eq!(row("member@example.com")["removable"], true);
    assert_eq!(row("admin@example.com")["assignable_roles"], json!([]));
    assert_eq!(row("admin@example.com")["removable"], false);
    // An admin may hand out any custom role; the owner's list offers them all.
    let list = api.members(f.owner(), f.tenant()).expect(200).body;
    let m = list["data"].as_array().unwrap().iter().find(|m| m["email"] == "member@example.com").unwrap().clone();
    assert_eq!(strings(&m["assignable_roles"]), ["owner", "admin", "member", "auditor", "people-lead", "reader"]);
    api.change_role(f.admin(), f.tenant(), &member, "auditor").expect(200);
    api.remove_member(lead, f.tenant(), &member).expect_problem(403, "forbidden");
    api.change_role(lead, f.tenant(), &member, "reader").expect_problem(403, "forbidden");
    // A member holding less than the lead: removed.
    api.change_role(f.admin(), f.tenant(), &member, "reader").expect(200);
    api.remove_member(lead, f.tenant(), &member).expect(204);
}

#[test]
fn a_custom_role_member_is_judged_by_its_set_in_views_calls_and_authorize() {
    let f = with_holder(acme(), "billing-viewer", &BILLING_VIEWER, "viewer");
    let api = f.api();
    let viewer = f.who("viewer");
    // Hand-written: what the org view lists, and what /v1/authorize answers
    // for each permission.
    let org = api.org(viewer, &f.org).expect(200).body;
    assert_eq!(strings(&org["permissions"]), BILLING_VIEWER);
    assert_eq!(org["role"], "billing-viewer");
    let listed = api.orgs(viewer).expect(200).body;
    let entry = listed["data"].as_array().unwrap().iter().find(|o| o["id"] == f.org.as_str()).unwrap().clone();
    assert_eq!(strings(&entry["permissions"]), BILLING_VIEWER);
    let table: [(&str, bool); 18] = [
        ("org:read", true),
        ("org:write", false),
        ("org:delete", false),
        ("billing:manage", false),
        ("members:read", true),
        ("members:write", false),
        ("invitations:write", false),
        ("api_keys:write", false),
        ("audit:read", true),
        ("workspaces:read", false),
        ("workspaces:write", false),
        ("projects:read", false),
        ("projects:write", false),
        ("apps:read", false),
        ("apps:deploy", false),
        ("databases:read", false),
        ("databases:write", false),
        ("notifications:write", false),
    ];
    for (permission, allowed) in table {
        let r = api.authorize(viewer, permission, &f.org).expect(200).body;
        assert_eq!(r["allowed"], allowed, "{permission}");
        assert_eq!(
            r["via"],
            json!({"kind": "org_role", "org_id": f.org, "role": "billing-viewer", "joined_via": "invitation"})
        );
    }
    // The calls follow.
    api.audit_log(viewer, f.tenant()).expect(200);
    api.members(viewer, f.tenant()).expect(200);
    api.update_org(viewer, &f.org, json!({"name": "x"})).expect_problem(403, "forbidden");
    api.invite(viewer, f.tenant(), "x@example.com", "member").expect_problem(403, "forbidden");
    api.create_key(viewer, &f.org, "ci", &["org:read"]).expect_problem(403, "forbidden");
    api.invitations(viewer, f.tenant()).expect_problem(403, "forbidden");
}

#[test]
fn a_custom_role_with_api_keys_write_creates_keys_only_within_its_set() {
    let f = with_holder(acme(), "key-maker", &["org:read", "api_keys:write", "apps:deploy"], "maker");
    let api = f.api();
    let maker = f.who("maker");
    api.create_key(maker, &f.org, "deploy", &["apps:deploy"]).expect(201);
    api.create_key(maker, &f.org, "wide", &["apps:deploy", "members:write"]).expect_problem(403, "scope_exceeds_role");
    api.create_key(maker, &f.org, "owner", &["org:delete"]).expect_problem(422, "scope_not_allowed_for_keys");
}

#[test]
fn removing_a_permission_from_a_role_takes_effect_on_the_next_request() {
    let f = with_holder(acme(), "billing-viewer", &BILLING_VIEWER, "viewer");
    let api = f.api();
    let viewer = f.who("viewer");
    api.audit_log(viewer, f.tenant()).expect(200);
    api.update_role(f.owner(), &f.org, "billing-viewer", json!({"permissions": ["org:read", "members:read"]}))
        .expect(200);
    api.audit_log(viewer, f.tenant()).expect_problem(403, "forbidden");
    assert_eq!(api.authorize(viewer, "audit:read", &f.org).expect(200).body["allowed"], false);
    // And given back, back at once.
    api.update_role(f.owner(), &f.org, "billing-viewer", json!({"permissions": BILLING_VIEWER})).expect(200);
    api.audit_log(viewer, f.tenant()).expect(200);
}

#[test]
fn a_role_in_use_is_never_deleted_not_even_by_a_racing_assignment() {
    let f = acme();
    let api = f.api();
    api.create_role(f.owner(), &f.org, "reader", &["org:read"]).expect(201);
    let member = f.member().id();
    api.change_role(f.owner(), f.tenant(), &member, "reader").expect(200);
    api.delete_role(f.owner(), &f.org, "reader").expect_problem(409, "role_in_use");
    api.change_role(f.owner(), f.tenant(), &member, "member").expect(200);
    // A pending invitation giving it holds it too.
    let inv = api.invite(f.owner(), f.tenant(), "later@example.com", "reader").expect(201).id();
    api.delete_role(f.owner(), &f.org, "reader").expect_problem(409, "role_in_use");
    api.revoke_invitation(f.owner(), f.tenant(), &inv).expect(204);
    // The race, statement by statement: a deletion decided while the role
    // was free runs after an assignment: it deletes nothing.
    let owner = f.owner().id();
    let db = f.app.db.as_ref();
    let assign = stmt!(sql::CHANGE_ROLE, f.org.as_str(), member.as_str(), "reader", "member", owner.as_str(), "owner");
    let delete = stmt!(sql::DELETE_ROLE, f.org.as_str(), "reader", owner.as_str(), "owner");
    let out = pollster::block_on(latchkey::store::Db::batch(db, vec![assign, delete])).unwrap();
    assert_eq!((out[0].changes, out[1].changes), (1, 0));
    assert_eq!(role_of(&f, "member@example.com").as_deref(), Some("reader"));
    // The other order: the assignment decided while the role existed runs
    // after its deletion: it assigns nothing, and no statement at all can
    // leave a member with a role the org lacks.
    api.change_role(f.owner(), f.tenant(), &member, "member").expect(200);
    let delete = stmt!(sql::DELETE_ROLE, f.org.as_str(), "reader", owner.as_str(), "owner");
    let assign = stmt!(sql::CHANGE_ROLE, f.org.as_str(), member.as_str(), "reader", "member", owner.as_str(), "owner");
    let out = pollster::block_on(latchkey::store::Db::batch(db, vec![delete, assign])).unwrap();
    assert_eq!((out[0].changes, out[1].changes), (1, 0));
    let dangling = pollster::block_on(latchkey::store::Db::run(
        db,
        stmt!(
            "UPDATE org_members SET role = 'reader' WHERE org_id = ?1 AND user_id = ?2",
            f.org.as_str(),
            member.as_str()
        ),
    ));
    assert!(dangling.is_err(), "the trigger refuses a role the org lacks: {dangling:?}");
    api.change_role(f.owner(), f.tenant(), &member, "reader").expect_problem(422, "validation_failed");
    assert_eq!(role_of(&f, "member@example.com").as_deref(), Some("member"));
}

#[test]
fn another_orgs_role_or_an_unknown_one_is_refused_field_role() {
    let f = acme();
    let api = f.api();
    let rival = api.verified("rival@example.org");
    let rival_org = api.create_org(&rival, "Rival").expect(201).id();
    api.create_role(&rival, &rival_org, "billing-viewer", &["org:read"]).expect(201);
    let member = f.member().id();
    for role in ["billing-viewer", "ghost-role", "Not A Key", ""] {
        let r = api.change_role(f.owner(), f.tenant(), &member, role).expect_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "role", "{role:?}");
        let r = api.invite(f.owner(), f.tenant(), "x@example.com", role).expect_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "role", "{role:?}");
    }
    // Their role is theirs: not readable, changeable or deletable from here.
    api.role(f.owner(), &f.org, "billing-viewer").expect_problem(404, "not_found");
    api.role(f.owner(), &rival_org, "billing-viewer").expect_problem(404, "not_found");
    api.update_role(f.owner(), &rival_org, "billing-viewer", json!({"name": "x"})).expect_problem(404, "not_found");
    api.delete_role(f.owner(), &rival_org, "billing-viewer").expect_problem(404, "not_found");
    // Workspaces have the built-in roles only.
    let ws = api.create_workspace(f.owner(), "Shop").expect(201).id();
    api.invite(f.owner(), Tenant::Workspace(&ws), "y@example.com", "billing-viewer")
        .expect_problem(422, "validation_failed");
}

#[test]
fn an_invitation_with_a_custom_role_makes_a_member_holding_it() {
    let f = acme();
    let api = f.api();
    api.create_role(f.owner(), &f.org, "billing-viewer", &BILLING_VIEWER).expect(201);
    let token = api.invitation_token(f.owner(), f.tenant(), "vera@example.com", "billing-viewer");
    assert_eq!(api.preview_invitation(&token).expect(200).body["role"], "billing-viewer");
    let vera = api.verified("vera@example.com");
    assert_eq!(api.accept_invitation(&vera, &token).expect(200).body["role"], "billing-viewer");
    assert_eq!(role_of(&f, "vera@example.com").as_deref(), Some("billing-viewer"));
    let listed = api.invitations(f.owner(), f.tenant()).expect(200).body;
    assert!(listed["data"].as_array().unwrap().iter().any(|i| i["role"] == "billing-viewer"), "{listed}");
}

#[test]
fn one_trip_writes_admit_a_custom_role_by_its_set_through_the_sql_guard() {
    // PATCH /v1/orgs/{id} is a one-round-trip write opened by GUARD_ORG_ROLE:
    // the guard admits a custom role holding org:write, and only that.
    let f = with_holder(acme(), "settings", &["org:read", "org:write"], "settings");
    let f = with_holder(f, "billing-viewer", &BILLING_VIEWER, "viewer");
    let api = f.api();
    let renamed = api.update_org(f.who("settings"), &f.org, json!({"name": "Acme Two"})).expect(200).body;
    assert_eq!(renamed["name"], "Acme Two");
    assert_eq!(f.app.last_round_trips(), 1, "still one round trip");
    api.update_org(f.who("viewer"), &f.org, json!({"name": "Acme Three"})).expect_problem(403, "forbidden");
    // Taken away, the guard refuses on the next request.
    api.update_role(f.owner(), &f.org, "settings", json!({"permissions": ["org:read"]})).expect(200);
    api.update_org(f.who("settings"), &f.org, json!({"name": "Acme Four"})).expect_problem(403, "forbidden");
    assert_eq!(api.org(f.owner(), &f.org).expect(200).body["name"], "Acme Two");
}

#[test]
fn a_join_link_with_a_custom_role_makes_members_holding_it_and_keeps_the_role_from_deletion() {
    let f = acme();
    let api = f.api();
    api.create_role(f.owner(), &f.org, "billing-viewer", &BILLING_VIEWER).expect(201);
    let link = api.create_join_link(f.owner(), &f.org, json!({"role": "billing-viewer"})).expect(201).body;
    assert_eq!(link["role"], "billing-viewer");
    let token = link["token"].as_str().unwrap().to_owned();
    assert_eq!(api.preview_join_link(None, &token).expect(200).body["role"], "billing-viewer");
    let vera = api.verified("vera@example.com");
    assert_eq!(api.accept_join_link(&vera, &token).expect(201).body["role"], "billing-viewer");
    assert_eq!(role_of(&f, "vera@example.com").as_deref(), Some("billing-viewer"));
    let decision = api.authorize(&vera, "audit:read", &f.org).expect(200).body;
    assert_eq!((decision["allowed"].as_bool(), decision["via"]["role"].as_str()), (Some(true), Some("billing-viewer")));
    let listed = api.join_links(f.owner(), &f.org).expect(200).body;
    assert_eq!(listed["data"][0]["role"], "billing-viewer", "{listed}");

    // The link still gives it after she leaves: the role cannot go until
    // the link is revoked.
    api.change_role(f.owner(), f.tenant(), &vera.id(), "member").expect(200);
    let refused = api.delete_role(f.owner(), &f.org, "billing-viewer").expect_problem(409, "role_in_use");
    assert!(refused.body["detail"].as_str().unwrap().contains("join link"), "{}", refused.body);
    api.revoke_join_link(f.owner(), &f.org, link["id"].as_str().unwrap()).expect(204);
    api.delete_role(f.owner(), &f.org, "billing-viewer").expect(204);
}

#[test]
fn nobody_shares_a_link_or_approves_with_a_custom_role_beyond_their_own_or_another_orgs() {
    let f = with_holder(acme(), "recruiter", &["org:read", "members:read", "invitations:write"], "rec");
    let api = f.api();
    api.create_role(f.owner(), &f.org, "auditor", &["org:read", "audit:read"]).expect(201);
    api.create_role(f.owner(), &f.org, "reader", &["org:read"]).expect(201);
    // The recruiter hands out what they hold, never more.
    api.create_join_link(f.who("rec"), &f.org, json!({"role": "auditor"})).expect_problem(403, "forbidden");
    api.create_join_link(f.who("rec"), &f.org, json!({"role": "reader"})).expect(201);
    // Another org's role, an unknown one, owner: 422 on field role.
    let rival = api.verified("rival@example.org");
    let rival_org = api.create_org(&rival, "Rival").expect(201).id();
    api.create_role(&rival, &rival_org, "spy", &["org:read"]).expect(201);
    for role in ["spy", "ghost-role", "owner", "Not A Key"] {
        let r = api.create_join_link(f.owner(), &f.org, json!({"role": role})).expect_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "role", "{role:?}");
    }

    // A request from a link that needs approval: approved with a custom role
    // the approver may hand out, never one beyond them.
    let link = api.create_join_link(f.owner(), &f.org, json!({"role": "member", "approval": true})).expect(201).body;
    let pat = api.verified("pat@example.com");
    let asked = api.accept_join_link(&pat, link["token"].as_str().unwrap()).expect(202).body;
    let request = asked["id"].as_str().unwrap().to_owned();
    api.approve_membership_request(f.who("rec"), &f.org, &request, "auditor").expect_problem(403, "forbidden");
    api.approve_membership_request(f.owner(), &f.org, &request, "spy").expect_problem(422, "validation_failed");
    let approved = api.approve_membership_request(f.who("rec"), &f.org, &request, "reader").expect(200).body;
    assert_eq!((approved["status"].as_str(), approved["role"].as_str()), (Some("approved"), Some("reader")));
    assert_eq!(role_of(&f, "pat@example.com").as_deref(), Some("reader"));
}
