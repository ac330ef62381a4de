//! Access reviews (issue 23, part 5): when each member was last active (a
//! sign-in, a session refresh, a use of a key they created), the inactive
//! filter, the 2FA rule for admins and owners only (through the resolver,
//! the one-trip write guards and a workspace grant), and the access-review
//! export as JSON and CSV.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp::*;

use latchkey::domain::access_review::day;
use serde_json::{json, Value};

const DAY: i64 = 86_400;

fn last_active(list: &Value, email: &str) -> Value {
    let m = list["data"].as_array().unwrap().iter().find(|m| m["email"] == email);
    m.unwrap_or_else(|| panic!("{email} not in {list}"))["last_active_on"].clone()
}

/// The members' addresses, sorted (members who joined in the same second
/// are listed by id).
fn emails(list: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        list["data"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap().to_owned()).collect();
    out.sort();
    out
}

#[test]
fn last_active_is_the_day_of_the_last_sign_in_session_refresh_or_key_use() {
    let app = TestApp::new();
    let api = app.api();
    let t0 = app.clock_now();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let key = api.create_key(&owner, &org, "ci", &["org:read", "members:read"]).expect(201).body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = api.join(&owner, Tenant::Org(&org), "member@example.com", "member");

    // Three days on, the key lists the members: both were last active on
    // the day they signed in (the key's use is written after the answer).
    app.advance(3 * DAY);
    let list = api.members(key.as_str(), Tenant::Org(&org)).expect(200).body;
    assert_eq!(last_active(&list, "owner@example.com"), day(t0));
    assert_eq!(last_active(&list, "member@example.com"), day(t0));

    // Two more days: the key's use counts for its creator.
    app.advance(2 * DAY);
    let list = api.members(key.as_str(), Tenant::Org(&org)).expect(200).body;
    assert_eq!(last_active(&list, "owner@example.com"), day(t0 + 3 * DAY), "key use is its creator's activity");
    assert_eq!(last_active(&list, "member@example.com"), day(t0));

    // A sign-in counts.
    let again = api.login(&member.email, PASSWORD).expect(200).body;
    app.advance(61);
    let list = api.members(key.as_str(), Tenant::Org(&org)).expect(200).body;
    assert_eq!(last_active(&list, "member@example.com"), day(t0 + 5 * DAY), "a sign-in");

    // So does refreshing a session.
    app.advance(DAY);
    api.refresh(&refresh(&again)).expect(200);
    let list = api.members(key.as_str(), Tenant::Org(&org)).expect(200).body;
    assert_eq!(last_active(&list, "member@example.com"), day(t0 + 6 * DAY), "a session refresh");
    // Day precision: no time of day in the view.
    assert_eq!(last_active(&list, "member@example.com").as_str().unwrap().len(), 10);
}

#[test]
fn the_inactive_filter_lists_those_idle_for_longer_and_pages_as_before() {
    let app = TestApp::new();
    let api = app.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let key = api.create_key(&owner, &org, "review", &["org:read", "members:read"]).expect(201).body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for who in ["a", "b", "c"] {
        api.join(&owner, Tenant::Org(&org), &format!("{who}@example.com"), "member");
    }
    app.advance(31 * DAY);
    api.login("b@example.com", PASSWORD).expect(200);

    let idle = api.inactive_members(key.as_str(), &org, "30").expect(200).body;
    assert_eq!(emails(&idle), ["a@example.com", "c@example.com", "owner@example.com"]);
    // The key's use just now made its creator active.
    let idle = api.inactive_members(key.as_str(), &org, "30").expect(200).body;
    assert_eq!(emails(&idle), ["a@example.com", "c@example.com"], "key use is activity");
    // Longer than anyone has been idle: nobody.
    assert!(emails(&api.inactive_members(key.as_str(), &org, "32").expect(200).body).is_empty());

    // The cursor pages the filtered list.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let after = cursor.as_ref().map(|c| format!("&cursor={}", url_encode(c))).unwrap_or_default();
        let page = app
            .call("GET", &format!("/v1/orgs/{org}/members?inactive_for_days=30&limit=1{after}"), Some(&key), None)
            .expect(200)
            .body;
        assert!(page["data"].as_array().unwrap().len() <= 1);
        seen.extend(emails(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["a@example.com", "c@example.com"]);

    for bad in ["0", "3651", "-1", "thirty", ""] {
        let r = api.inactive_members(key.as_str(), &org, bad).expect_problem(422, "validation_failed");
        assert!(r.raw.contains("inactive_for_days"), "{bad}: {}", r.raw);
    }
}

/// An org requiring 2FA of admins and owners only: an owner with 2FA, an
/// admin and a member without; a customer's workspace granted to the org.
struct Scoped {
    app: TestApp,
    org: String,
    ws: String,
    owner: Person,
    admin: Person,
    member: Person,
    customer: Person,
}

fn scoped() -> Scoped {
    let app = TestApp::new();
    let api = app.api();
    let owner = api.verified_with_2fa("owner@example.com").person;
    let org = api.create_org_with_slug(&owner, "Acme", "acme").expect(201).id();
    let admin = api.join(&owner, Tenant::Org(&org), "admin@example.com", "admin");
    let member = api.join(&owner, Tenant::Org(&org), "member@example.com", "member");
    let customer = api.verified("customer@example.com");
    let ws = api.create_workspace(&customer, "Shop").expect(201).id();
    api.grant(&customer, &ws, "acme").expect(201);
    let view = api.update_org(&owner, &org, json!({"require_2fa": "admins_and_owners"})).expect(200).body;
    assert_eq!(
        (view["require_2fa"].clone(), view["require_2fa_for"].clone()),
        (json!(true), json!("admins_and_owners"))
    );
    Scoped { app, org, ws, owner, admin, member, customer }
}

#[test]
fn admins_and_owners_only_a_member_without_2fa_keeps_access_an_admin_does_not() {
    let s = scoped();
    let api = s.app.api();
    // The resolver: reads.
    let member_view = api.org(&s.member, &s.org).expect(200).body;
    assert!(member_view["permissions"].as_array().unwrap().contains(&json!("members:read")));
    assert_eq!(member_view["require_2fa_for"], "admins_and_owners");
    api.members(&s.member, Tenant::Org(&s.org)).expect(200);
    api.org(&s.admin, &s.org).expect_problem(403, "two_factor_required");
    api.members(&s.admin, Tenant::Org(&s.org)).expect_problem(403, "two_factor_required");
    // Listing orgs: the same facts.
    let listed = |p: &Person| api.orgs(p).expect(200).body["data"][0]["permissions"].as_array().unwrap().len();
    assert!(listed(&s.member) > 0);
    assert_eq!(listed(&s.admin), 0, "an admin without 2FA may do nothing here");
    // The one-trip write guard (GUARD_ORG_ROLE): the admin writes nothing.
    api.update_org(&s.admin, &s.org, json!({"name": "Mine"})).expect_problem(403, "two_factor_required");
    api.create_install_link(&s.admin, &s.org).expect_problem(403, "two_factor_required");
    assert_eq!(api.org(&s.owner, &s.org).expect(200).body["name"], "Acme");
    // Leaving stays open.
    api.remove_member(&s.admin, Tenant::Org(&s.org), "me").expect(204);
}

#[test]
fn through_a_grant_the_role_in_the_org_is_what_the_rule_reads() {
    let s = scoped();
    let api = s.app.api();
    // The member is a grant admin of the workspace: their org role is
    // `member`, which the rule does not bind.
    api.workspace(&s.member, &s.ws).expect(200);
    api.rename_workspace(&s.member, &s.ws, "Renamed by a grant admin").expect(200);
    assert_eq!(
        s.app.last_round_trips(),
        1,
        "the one-trip guard (GUARD_WORKSPACE_ROLE's grant branch) let them through"
    );
    // The admin (an org admin without 2FA) is refused there too, read and write.
    api.workspace(&s.admin, &s.ws).expect_problem(403, "two_factor_required");
    api.rename_workspace(&s.admin, &s.ws, "Mine").expect_problem(403, "two_factor_required");
    assert_eq!(api.workspace(&s.customer, &s.ws).expect(200).body["name"], "Renamed by a grant admin");
    // Shared with me: open for the member, locked for the admin.
    let shared = |p: &Person| api.workspaces(p).expect(200).body["shared_with_me"][0].clone();
    let open = shared(&s.member);
    assert!(open.get("requires").is_none() && open.to_string().contains("Renamed by a grant admin"), "{open}");
    assert_eq!(shared(&s.admin)["requires"], "two_factor");
}

#[test]
fn the_2fa_rule_takes_names_and_the_old_booleans() {
    let s = scoped();
    let api = s.app.api();
    // `true` is everyone, as before: now the member is refused too.
    let v = api.update_org(&s.owner, &s.org, json!({"require_2fa": true})).expect(200).body;
    assert_eq!((v["require_2fa"].clone(), v["require_2fa_for"].clone()), (json!(true), json!("all")));
    api.org(&s.member, &s.org).expect_problem(403, "two_factor_required");
    api.rename_workspace(&s.member, &s.ws, "Nope").expect_problem(403, "two_factor_required");
    let v = api.update_org(&s.owner, &s.org, json!({"require_2fa": "off"})).expect(200).body;
    assert_eq!((v["require_2fa"].clone(), v["require_2fa_for"].clone()), (json!(false), Value::Null));
    api.org(&s.admin, &s.org).expect(200);
    let v = api.update_org(&s.owner, &s.org, json!({"require_2fa": "all"})).expect(200).body;
    assert_eq!(v["require_2fa_for"], "all");
    let v = api.update_org(&s.owner, &s.org, json!({"require_2fa": false})).expect(200).body;
    assert_eq!(v["require_2fa"], false);
    for bad in [json!("admins"), json!(1), json!("ALL")] {
        let r = api.update_org(&s.owner, &s.org, json!({"require_2fa": bad}));
        assert_eq!(r.status, 422, "{bad}: {}", r.raw);
    }
    // Setting it needs what it needed: an owner with 2FA on.
    let app = TestApp::new();
    let api = app.api();
    let owner = api.verified("plain@example.com");
    let org = api.create_org(&owner, "Plain").expect(201).id();
    api.update_org(&owner, &org, json!({"require_2fa": "admins_and_owners"}))
        .expect_problem(403, "two_factor_required");
    // The audit row says which rule.
    let log = s.app.api().audit_log(&s.owner, Tenant::Org(&s.org)).expect(200).body;
    let set = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "org.updated").unwrap().clone();
    assert_eq!(set["data"]["require_2fa_for"], "off", "{set}");
}

/// The CSV's rows as cells (the test's own small RFC 4180 reader).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted, mut chars) = (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(row.is_empty() && cell.is_empty(), "the document ends with CRLF");
    rows
}

#[test]
fn the_access_review_lists_members_and_working_keys_as_json_and_csv() {
    let app = TestApp::new();
    let api = app.api();
    let owner = api.verified_as("owner@example.com", "Smith, \"Jo\"");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    app.advance(1); // members are listed by when they joined
    let token = api.invitation_token(&owner, Tenant::Org(&org), "evil@example.com", "member");
    api.signup_invited("evil@example.com", PASSWORD, "=HYPERLINK(\"http://evil.example\")", &token).expect(201);
    let ci = api.create_key(&owner, &org, "+cmd|' /C calc'!A0", &["org:read", "members:read"]).expect(201).body;
    let old = api.create_key(&owner, &org, "old", &["org:read"]).expect(201).id();
    api.revoke_key(&owner, &org, &old).expect(204);
    app.advance(60);
    api.current_key(ci["key"].as_str().unwrap()).expect(200);

    let review = api.access_review(&owner, &org, None).expect(200);
    assert_eq!(app.last_round_trips(), 1, "the guard, the audit row and the reads ride one batch");
    assert!(review.header("content-type").unwrap().starts_with("application/json"));
    let body = review.body;
    assert_eq!(body["org"]["id"], org.as_str());
    assert_eq!(body["org"]["require_2fa"], false);
    assert_eq!(body["truncated"], false);
    let members = body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["email"], "owner@example.com");
    assert_eq!(members[0]["role"], "owner");
    assert_eq!(members[0]["two_factor"], false);
    assert_eq!(members[0]["joined_via"], "created");
    assert_eq!(members[0]["last_active_on"], day(app.clock_now()), "the key's use counts for its creator");
    assert_eq!(members[1]["joined_via"], "invitation");
    let keys = body["api_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "a revoked key is not access: {keys:?}");
    assert_eq!(keys[0]["id"], ci["id"]);
    assert_eq!(keys[0]["scopes"], json!(["org:read", "members:read"]));
    assert_eq!(keys[0]["created_by"], owner.id());
    assert!(keys[0]["prefix"].as_str().unwrap().starts_with("lk_"));
    assert!(keys[0]["last_used_at"].is_string());
    for field in ["generated_at", "org", "members", "api_keys"] {
        assert!(body.get(field).is_some(), "{field}");
    }

    let csv = api.access_review(&owner, &org, Some("csv")).expect(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.header("content-disposition").unwrap().starts_with("attachment; filename=\"access-review-acme"));
    let rows = parse_csv(&csv.raw);
    assert_eq!(rows[0], latchkey::app::access_reviews::CSV_COLUMNS.map(String::from).to_vec());
    assert_eq!(rows.len(), 1 + 2 + 1, "header, two members, one key");
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    assert_eq!(rows[1][col("kind")], "member");
    assert_eq!(rows[1][col("name")], "Smith, \"Jo\"", "quoted and read back whole");
    assert_eq!(rows[2][col("name")], "'=HYPERLINK(\"http://evil.example\")", "a formula is defused");
    assert_eq!(rows[3][col("kind")], "api_key");
    assert_eq!(rows[3][col("name")], "'+cmd|' /C calc'!A0", "a key's name too");
    assert_eq!(rows[3][col("scopes")], "org:read members:read");
    assert!(csv.raw.contains("\"Smith, \"\"Jo\"\"\""), "RFC 4180 quoting: {}", csv.raw);

    // `Accept: text/csv` asks for CSV too.
    let r = app.call_with(
        "GET",
        &format!("/v1/orgs/{org}/access-review"),
        Some(&access(&owner)),
        None,
        &[("accept", "text/csv")],
    );
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    api.access_review(&owner, &org, Some("xml")).expect_problem(422, "validation_failed");

    // Each export is audited.
    let log = api.audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let exports: Vec<&Value> =
        log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "access_review.exported").collect();
    assert_eq!(exports.len(), 3, "json, csv and the Accept one; a refused format is not");
    assert_eq!(exports[1]["data"]["format"], "csv");
}

#[test]
fn owners_and_admins_export_members_and_keys_do_not() {
    let app = TestApp::new();
    let api = app.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let admin = api.join(&owner, Tenant::Org(&org), "admin@example.com", "admin");
    let member = api.join(&owner, Tenant::Org(&org), "member@example.com", "member");
    let key = api.create_key(&owner, &org, "auditor", &["org:read", "members:read", "audit:read"]).expect(201);
    let key = key.body["key"].as_str().unwrap().to_owned();
    api.access_review(&admin, &org, None).expect(200);
    api.access_review(&member, &org, None).expect_problem(403, "forbidden");
    // A key never reads the review (it lists keys), whatever its scopes.
    api.access_review(key.as_str(), &org, None).expect_problem(403, "user_required");
    let stranger = api.verified("stranger@example.com");
    api.access_review(&stranger, &org, None).expect_problem(404, "not_found");
    // Nothing refused was audited.
    let log = api.audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let n = log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "access_review.exported").count();
    assert_eq!(n, 1);
}

#[test]
fn under_the_admins_and_owners_rule_an_admin_without_2fa_cannot_export() {
    let s = scoped();
    let api = s.app.api();
    api.access_review(&s.admin, &s.org, Some("csv")).expect_problem(403, "two_factor_required");
    let body = api.access_review(&s.owner, &s.org, None).expect(200).body;
    assert_eq!(body["org"]["require_2fa_for"], "admins_and_owners");
    let two_factor: Vec<(String, bool)> = body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap().to_owned(), m["two_factor"].as_bool().unwrap()))
        .collect();
    assert!(two_factor.contains(&("owner@example.com".into(), true)));
    assert!(two_factor.contains(&("member@example.com".into(), false)));
}
