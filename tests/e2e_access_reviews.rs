//! Access reviews against the built Worker: the 2FA rule for admins and
//! owners only (D1 reads, the one-trip guards, a workspace grant), last
//! activity kept by D1 triggers, and the CSV export over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::json;
use support::*;

#[test]
fn admins_and_owners_only_binds_the_admin_and_not_the_member_on_the_real_worker() {
    let w = Worker::shared();
    let api = w.api();
    let owner = api.verified_with_2fa("owner.review2fa@example.com").person;
    let org = api.create_org_with_slug(&owner, "Acme", "acme-review2fa").expect(201).id();
    let admin = api.join(&owner, Tenant::Org(&org), "admin.review2fa@example.com", "admin");
    let member = api.join(&owner, Tenant::Org(&org), "member.review2fa@example.com", "member");
    let customer = api.verified("customer.review2fa@example.com");
    let ws = api.create_workspace(&customer, "Shop").expect(201).id();
    api.grant(&customer, &ws, "acme-review2fa").expect(201);

    let v = api.update_org(&owner, &org, json!({"require_2fa": "admins_and_owners"})).expect(200).body;
    assert_eq!((v["require_2fa"].clone(), v["require_2fa_for"].clone()), (json!(true), json!("admins_and_owners")));
    // Reads through the resolver.
    api.org(&member, &org).expect(200);
    api.org(&admin, &org).expect_problem(403, "two_factor_required");
    // One-trip writes: the guards, on D1.
    api.update_org(&admin, &org, json!({"name": "Mine"})).expect_problem(403, "two_factor_required");
    api.rename_workspace(&member, &ws, "Renamed by a grant admin").expect(200);
    api.rename_workspace(&admin, &ws, "Mine").expect_problem(403, "two_factor_required");
    assert_eq!(api.workspace(&customer, &ws).expect(200).body["name"], "Renamed by a grant admin");
    assert_eq!(api.workspaces(&admin).expect(200).body["shared_with_me"][0]["requires"], "two_factor");

    // `true` still means everyone.
    api.update_org(&owner, &org, json!({"require_2fa": true})).expect(200);
    api.org(&member, &org).expect_problem(403, "two_factor_required");
    api.rename_workspace(&member, &ws, "Nope").expect_problem(403, "two_factor_required");
}

#[test]
fn the_csv_export_quotes_defuses_and_shows_todays_activity() {
    let w = Worker::shared();
    let api = w.api();
    let owner = api.verified_as("owner.reviewcsv@example.com", "Smith, \"Jo\"");
    let org = api.create_org_with_slug(&owner, "Acme", "acme-reviewcsv").expect(201).id();
    let token = api.invitation_token(&owner, Tenant::Org(&org), "evil.reviewcsv@example.com", "member");
    api.signup_invited("evil.reviewcsv@example.com", PASSWORD, "=1+2", &token).expect(201);
    let key = api.create_key(&owner, &org, "@ci", &["org:read"]).expect(201).body;
    api.current_key(key["key"].as_str().unwrap()).expect(200);

    // Everyone signed in today: nobody is inactive for a day (the trigger ran on D1).
    let idle = api.inactive_members(&owner, &org, "1").expect(200).body;
    assert_eq!(idle["data"], json!([]), "{idle}");
    let list = api.members(&owner, Tenant::Org(&org)).expect(200).body;
    let today = latchkey::domain::access_review::day(unix_now());
    for m in list["data"].as_array().unwrap() {
        assert_eq!(m["last_active_on"], today.as_str(), "{m}");
    }

    let csv = api.access_review(&owner, &org, Some("csv")).expect(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.header("content-disposition").unwrap().contains("access-review-acme-reviewcsv-"));
    let lines: Vec<&str> = csv.raw.split("\r\n").collect();
    assert!(lines[0].starts_with("kind,id,email,name,role,two_factor,last_active_on"), "{}", lines[0]);
    assert!(csv.raw.contains(",\"Smith, \"\"Jo\"\"\",owner,"), "{}", csv.raw);
    assert!(csv.raw.contains(",'=1+2,member,"), "a formula is defused: {}", csv.raw);
    assert!(csv.raw.contains(",'@ci,"), "a key's name too: {}", csv.raw);
    assert_eq!(lines.len(), 1 + 2 + 1 + 1, "header, two members, one key, and the last CRLF");

    // JSON: the key, with its use recorded after the answer (ctx.wait_until).
    let mut used = json!(null);
    for _ in 0..20 {
        let review = api.access_review(&owner, &org, None).expect(200).body;
        used = review["api_keys"][0]["last_used_at"].clone();
        if used.is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(used.is_string(), "the key's use was recorded");
    let log = api.audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    assert!(log["data"].as_array().unwrap().iter().any(|e| e["action"] == "access_review.exported"));
}
