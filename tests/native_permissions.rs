//! The org and workspace views tell the caller what they may do there
//! (`permissions`, `invitable_roles`) and the member list what they may do to
//! each member (`assignable_roles`, `removable`): exactly what the one policy
//! table decides, with the same facts as the real check. The console shows
//! and hides by these and keeps no role rules of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use latchkey::domain::policy::{decide, Facts, Permission, Role, Subject, Verdict, Via};
use latchkey::domain::tenant::TenantKind;
use serde_json::{json, Value};
use testapp::*;

/// What `decide` allows, as the wire names, in contract order.
fn allowed(role: Role, facts: Facts) -> Vec<String> {
    Permission::ALL
        .into_iter()
        .filter(|p| decide(Subject::Role(role), *p, &facts) == Verdict::Allow)
        .map(|p| p.as_str().to_owned())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}")).iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

fn org_facts(require_2fa: bool, has_2fa: bool) -> Facts {
    Facts { tenant: TenantKind::Org, via: Via::Direct, require_2fa, has_2fa }
}

fn ws_facts(via: Via) -> Facts {
    Facts { tenant: TenantKind::Workspace, via, require_2fa: false, has_2fa: false }
}

#[test]
fn org_views_carry_exactly_what_the_table_allows_owner_admin_member() {
    let o = Fixture::new(TestApp::new()).org_with("Acme, Inc.", &["admin", "member"]);
    let api = o.api();
    let cases = [
        (o.owner(), Role::Owner, json!(["owner", "admin", "member"])),
        (o.admin(), Role::Admin, json!(["admin", "member"])),
        (o.member(), Role::Member, json!([])),
    ];
    for (who, role, invitable) in cases {
        let want = allowed(role, org_facts(false, false));
        let one = api.org(who, &o.org).expect(200).body;
        assert_eq!(strings(&one["permissions"]), want, "GET /v1/orgs/{{id}} as {role:?}");
        assert_eq!(one["invitable_roles"], invitable, "{role:?}");
        let list = api.orgs(who).expect(200).body;
        let entry = list["data"].as_array().unwrap().iter().find(|e| e["id"] == o.org.as_str()).unwrap().clone();
        assert_eq!(strings(&entry["permissions"]), want, "GET /v1/orgs as {role:?}");
        assert_eq!(entry["invitable_roles"], invitable, "{role:?}");
    }
    // Spelled out, so a table and a view that drift together still fail here.
    let member = strings(&api.org(o.member(), &o.org).expect(200).body["permissions"]);
    assert_eq!(
        member,
        ["org:read", "members:read", "workspaces:read", "projects:read", "apps:read", "apps:deploy", "databases:read"]
    );
    let admin = strings(&api.org(o.admin(), &o.org).expect(200).body["permissions"]);
    assert!(!admin.contains(&"org:delete".to_owned()) && admin.contains(&"audit:read".to_owned()), "{admin:?}");
    // A settings change answers with the same view.
    let patched = api.update_org(o.admin(), &o.org, json!({"name": "Acme 2"})).expect(200).body;
    assert_eq!(strings(&patched["permissions"]), allowed(Role::Admin, org_facts(false, false)));
    let created = o.app.create_org(o.member(), "Member's own");
    assert_eq!(strings(&created["permissions"]), allowed(Role::Owner, org_facts(false, false)));
}

/// Custom roles in the views (issue 24): a holder's `permissions` are what
/// `decide` allows its set, for every shape of set: one, several, one
/// naming everything a role may hold; with the 2FA rule binding them.
#[test]
fn org_views_carry_exactly_what_the_table_allows_a_custom_role() {
    let o = Fixture::new(TestApp::new()).org_with("Acme, Inc.", &[]);
    let api = o.api();
    let holdable: Vec<Permission> =
        Permission::ALL.into_iter().filter(|p| latchkey::domain::policy::custom_may_hold(*p)).collect();
    let sets: [(&str, Vec<Permission>); 3] = [
        ("just-read", vec![Permission::OrgRead]),
        ("deployer", vec![Permission::OrgRead, Permission::AppsRead, Permission::AppsDeploy]),
        ("everything", holdable.clone()),
    ];
    for (key, set) in &sets {
        let names: Vec<&str> = set.iter().map(|p| p.as_str()).collect();
        api.create_role(o.owner(), &o.org, key, &names).expect(201);
        let holder = api.join(o.owner(), Tenant::Org(&o.org), &format!("{key}@example.com"), key);
        let want: Vec<String> = Permission::ALL
            .into_iter()
            .filter(|p| decide(Subject::Custom(set), *p, &org_facts(false, false)) == Verdict::Allow)
            .map(|p| p.as_str().to_owned())
            .collect();
        assert_eq!(strings(&api.org(&holder, &o.org).expect(200).body["permissions"]), want, "{key}");
        assert_eq!(want, names, "{key}: a custom role is allowed exactly its set");
    }
    // An admins-and-owners 2FA rule binds custom roles (only the built-in
    // member is exempt): a holder without 2FA is refused and listed with nothing.
    let app = TestApp::new();
    let owner = app.api().verified_with_2fa("owner@example.com").person.session;
    app.advance(30);
    let org = app.create_org(&owner, "Strict")["id"].as_str().unwrap().to_owned();
    app.api().create_role(&owner, &org, "just-read", &["org:read"]).expect(201);
    let holder = app.join(&org, &owner, "h@example.com", "just-read");
    let member = app.join(&org, &owner, "m@example.com", "member");
    app.api().update_org(&owner, &org, json!({"require_2fa": "admins_and_owners"})).expect(200);
    app.api().org(&holder, &org).expect_problem(403, "two_factor_required");
    let list = app.api().orgs(&holder).expect(200).body;
    let entry = list["data"].as_array().unwrap().iter().find(|e| e["id"] == org.as_str()).unwrap().clone();
    assert_eq!(entry["permissions"], json!([]));
    app.api().org(&member, &org).expect(200);
}

#[test]
fn a_member_without_2fa_of_an_org_that_requires_it_is_shown_no_permissions() {
    let app = TestApp::new();
    let owner = app.api().verified_with_2fa("owner@example.com").person.session;
    app.advance(30);
    let org = app.create_org(&owner, "Strict")["id"].as_str().unwrap().to_owned();
    let member = app.join(&org, &owner, "m@example.com", "member");
    app.api().update_org(&owner, &org, json!({"require_2fa": true})).expect(200);
    // Opening it is 403 two_factor_required; listed, it offers nothing.
    app.api().org(&member, &org).expect_problem(403, "two_factor_required");
    let list = app.api().orgs(&member).expect(200).body;
    let entry = list["data"].as_array().unwrap().iter().find(|e| e["id"] == org.as_str()).unwrap().clone();
    assert_eq!(strings(&entry["permissions"]), allowed(Role::Member, org_facts(true, false)));
    assert_eq!(entry["permissions"], json!([]));
    assert_eq!(entry["invitable_roles"], json!([]));
    // The owner, who has 2FA, keeps everything.
    let mine = app.api().org(&owner, &org).expect(200).body;
    assert_eq!(strings(&mine["permissions"]), allowed(Role::Owner, org_facts(true, true)));
    assert_eq!(mine["permissions"].as_array().unwrap().len(), Permission::ALL.len());
    // With 2FA on, the member's view is a member's.
    let e = app.api().enrol_totp(&member).expect(200).body;
    let code = totp_code(e["secret"].as_str().unwrap(), app.clock_now());
    app.api().confirm_totp(&member, &code).expect(200);
    let now = app.api().org(&member, &org).expect(200).body;
    assert_eq!(strings(&now["permissions"]), allowed(Role::Member, org_facts(true, true)));
}

#[test]
fn workspace_views_carry_exactly_what_the_table_allows_direct_and_through_a_grant() {
    let w = Fixture::new(TestApp::new()).shop_shared_with_vendor();
    let api = w.api();
    let cases = [
        ("customer", Role::Owner, Via::Direct, json!(["owner", "admin", "member"])),
        ("wsadmin", Role::Admin, Via::Direct, json!(["admin", "member"])),
        ("wsmember", Role::Member, Via::Direct, json!([])),
        ("vm", Role::Admin, Via::Grant, json!([])),
    ];
    for (label, role, via, invitable) in cases {
        let want = allowed(role, ws_facts(via));
        let one = api.workspace(w.who(label), &w.ws).expect(200).body;
        assert_eq!(strings(&one["permissions"]), want, "GET /v1/workspaces/{{id}} as {label}");
        assert_eq!(one["invitable_roles"], invitable, "{label}");
        let list = api.workspaces(w.who(label)).expect(200).body;
        let entry = match via {
            Via::Direct => list["data"].as_array().unwrap().iter().find(|e| e["id"] == w.ws.as_str()).unwrap().clone(),
            Via::Grant => list["shared_with_me"][0]["workspace"].clone(),
        };
        assert_eq!(entry["id"], w.ws.as_str(), "{label}");
        assert_eq!(strings(&entry["permissions"]), want, "GET /v1/workspaces as {label}");
    }
    // A grant admin renames but never seats, invites, bills or deletes.
    let grant = strings(&api.workspace(w.who("vm"), &w.ws).expect(200).body["permissions"]);
    assert!(grant.contains(&"workspaces:write".to_owned()), "{grant:?}");
    for never in ["members:write", "invitations:write", "org:delete", "billing:manage"] {
        assert!(!grant.contains(&never.to_owned()), "grant admin has {never}");
    }
}

#[test]
fn member_lists_say_what_the_caller_may_do_to_each_member() {
    let o = Fixture::new(TestApp::new()).org_with("Acme, Inc.", &["admin", "member"]);
    let api = o.api();
    let by_id = |who: &Person| -> Vec<(String, Value, Value)> {
        let list = api.members(who, Tenant::Org(&o.org)).expect(200).body;
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["role"].as_str().unwrap().to_owned(), m["assignable_roles"].clone(), m["removable"].clone()))
            .collect()
    };
    let find = |rows: &[(String, Value, Value)], role: &str| rows.iter().find(|r| r.0 == role).unwrap().clone();
    // The owner changes anyone else and removes admins and members (an owner is demoted first).
    let owner = by_id(o.owner());
    assert_eq!(find(&owner, "admin").1, json!(["owner", "admin", "member"]));
    assert_eq!(find(&owner, "admin").2, true);
    assert_eq!(find(&owner, "member").2, true);
    assert_eq!(find(&owner, "owner").2, false, "oneself is never removable: that is leaving");
    // An admin never touches an owner, moves others between admin and member.
    let admin = by_id(o.admin());
    assert_eq!(find(&admin, "owner").1, json!([]));
    assert_eq!(find(&admin, "owner").2, false);
    assert_eq!(find(&admin, "member").1, json!(["admin", "member"]));
    assert_eq!(find(&admin, "member").2, true);
    // A member changes nothing.
    for (_, assignable, removable) in by_id(o.member()) {
        assert_eq!((assignable, removable), (json!([]), json!(false)));
    }
    // And the server agrees: what is not offered is refused.
    let owner_id = TestApp::user_id(o.owner());
    api.change_role(o.admin(), Tenant::Org(&o.org), &owner_id, "member").expect_problem(403, "forbidden");
    api.remove_member(o.admin(), Tenant::Org(&o.org), &owner_id).expect_problem(403, "forbidden");
}

/// The console decides nothing by role: no `atLeast`, no comparison of a
/// role in a condition. It shows and hides by the views' `permissions`,
/// `invitable_roles`, `assignable_roles` and `removable`.
#[test]
fn the_console_keeps_no_role_rules() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console/src");
    let mut files = vec![root.clone()];
    let mut offences = Vec::new();
    let mut seen = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("js") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let compares_role = [
                "role ===",
                "role !==",
                "role ==",
                "role !=",
                "=== \"owner\"",
                "!== \"owner\"",
                "=== \"admin\"",
                "!== \"admin\"",
                "=== \"member\"",
                "!== \"member\"",
                "\"owner\" ===",
                "\"admin\" ===",
            ]
            .iter()
            .any(|p| code.contains(p));
            // "an" or "a" before a role name in a toast is grammar, not a rule.
            let grammar = code.contains("to === \"admin\" ? \"an\" : \"a\"");
            if code.contains("atLeast") || code.contains("rank[") || (compares_role && !grammar) {
                offences.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(seen > 10, "console/src has its screens ({seen} files)");
    assert!(offences.is_empty(), "role rules in the console:\n{}", offences.join("\n"));
}
