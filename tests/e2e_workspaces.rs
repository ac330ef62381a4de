//! Runtime tests of workspaces, grants and install links against the built Worker.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::Value;
use support::*;

#[test]
fn grant_by_slug_shared_with_me_manage_refused_billing_and_access_ends_at_once() {
    let w = Worker::start();
    let customer = w.api().verified("customer@example.com").token();
    let ws = w.api().create_workspace(&customer, "Shop").id();
    let vendor = w.api().verified("vendor@example.com").token();
    let org = w.api().create_org_with_slug(&vendor, "Vendor", "vendor").id();
    // A vendor engineer joins the org through an emailed invitation.
    let inv = w.api().invite(&vendor, Tenant::Org(&org), "eng@example.com", "member");
    assert_eq!(inv.status, 201);
    let token = extract_token(w.wait_for_emails("eng@example.com", 1)[0]["text"].as_str().unwrap(), "/invite");
    let eng = w.api().signup_invited("eng@example.com", PASSWORD, "Eng", &token);
    assert_eq!(eng.status, 201, "{}", eng.raw);
    let eng_uid = eng.json()["user"]["id"].as_str().unwrap().to_owned();
    let eng = eng.json()["access_token"].as_str().unwrap().to_owned();

    let g = w.api().grant(&customer, &ws, "vendor");
    assert_eq!(g.status, 201, "{}", g.raw);

    let list = w.api().workspaces(&eng).json();
    assert_eq!(list["shared_with_me"][0]["workspace"]["id"], ws.as_str());
    assert_eq!(list["shared_with_me"][0]["via_org"]["name"], "Vendor");
    let r = w.api().workspace(&eng, &ws);
    assert_eq!((r.status, r.json()["role"].as_str()), (200, Some("admin")));
    // Direct seats are the customer's: a grant admin invites nobody.
    let r = w.api().invite(&eng, Tenant::Workspace(&ws), "helper@example.com", "member");
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("forbidden")), "{}", r.raw);
    let r = w.api().update_billing(&eng, &ws, "pro", "x@example.com");
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(w.api().delete_workspace(&eng, &ws).status, 403);

    // One D1 round trip: the session check and the derived role in one batch.
    let r = w.api().authorize_in_workspace(&eng, "workspaces:write", &ws);
    assert_eq!(r.json()["via"]["kind"], "workspace_grant", "{}", r.raw);
    assert_eq!(r.json()["allowed"], true);
    let timing = r.header("server-timing").unwrap_or("").to_owned();
    assert!(timing.starts_with("d1;desc=\"1 call\""), "{timing}");
    let r = w.api().authorize(&eng, "org:read", &org);
    assert_eq!(r.json()["via"]["kind"], "org_role", "{}", r.raw);
    assert!(r.header("server-timing").unwrap_or("").starts_with("d1;desc=\"1 call\""));

    // Removal from the org ends the access on the next request.
    assert_eq!(w.api().remove_member(&vendor, Tenant::Org(&org), &eng_uid).status, 204);
    assert_eq!(w.api().workspace(&eng, &ws).status, 404);
    // Revoking the grant ends it for everyone else.
    assert_eq!(w.api().workspace(&vendor, &ws).status, 200);
    assert_eq!(w.api().revoke_grant(&customer, &ws, &org).status, 204);
    assert_eq!(w.api().workspace(&vendor, &ws).status, 404);

    let log = w.api().audit_log(&customer, Tenant::Workspace(&ws)).json();
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"grant.created") && actions.contains(&"grant.revoked"), "{actions:?}");
}

#[test]
fn a_customer_approves_an_install_link_in_the_browser() {
    let w = Worker::shared();
    let vendor = w.api().verified("vendor@example.com").token();
    let org = w.api().create_org(&vendor, "Acme Deploy").id();
    let link = w.api().create_install_link(&vendor, &org);
    assert_eq!(link.status, 201, "{}", link.raw);
    let token = link.json()["token"].as_str().unwrap().to_owned();
    let customer = w.api().verified("customer.workspaces1@example.com").token();
    let ws = w.api().create_workspace(&customer, "Storefront").id();

    let url = w.url(&format!("/install#token={token}"));
    let said = browser("install.mjs", &[&url, "customer.workspaces1@example.com", PASSWORD], "install");
    assert!(said.contains("Acme Deploy now has admin access to Storefront"), "{said}");

    let managed: Value = w.api().managed_workspaces(&vendor, &org).json();
    assert_eq!(managed["data"][0]["workspace"]["id"], ws.as_str());
    assert_eq!(w.api().workspace(&vendor, &ws).status, 200);
}

#[test]
fn shared_with_me_names_only_the_id_of_a_workspace_that_the_orgs_2fa_rule_hides() {
    let w = Worker::start();
    let api = w.api();
    let owner = api.verified("owner@example.com").token();
    let secret = api.enrol_totp(&owner).json()["secret"].as_str().unwrap().to_owned();
    assert_eq!(api.confirm_totp(&owner, &totp_code(&secret, unix_now())).status, 200);
    let org = api.create_org_with_slug(&owner, "Strict", "strict").id();
    let inv = api.invite(&owner, Tenant::Org(&org), "eng@example.com", "member");
    assert_eq!(inv.status, 201, "{}", inv.raw);
    let token = extract_token(w.wait_for_emails("eng@example.com", 1)[0]["text"].as_str().unwrap(), "/invite");
    let eng = api.signup_invited("eng@example.com", PASSWORD, "Eng", &token);
    assert_eq!(eng.status, 201, "{}", eng.raw);
    let eng = eng.json()["access_token"].as_str().unwrap().to_owned();
    let customer = api.verified("customer@example.com").token();
    let ws = api.create_workspace(&customer, "Secret Project").id();
    assert_eq!(api.grant(&customer, &ws, "strict").status, 201);
    let r = api.update_org(&owner, &org, serde_json::json!({"require_2fa": true}));
    assert_eq!(r.status, 200, "{}", r.raw);

    let r = api.workspace(&eng, &ws);
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("two_factor_required")), "{}", r.raw);
    let list = api.workspaces(&eng).json();
    assert_eq!(
        list["shared_with_me"],
        serde_json::json!([{"id": ws, "org": {"id": org, "name": "Strict"}, "requires": "two_factor"}])
    );
    assert!(!list.to_string().contains("Secret Project"), "{list}");
    // The console's sidebar shows it the same way, leading to Security.
    let said = browser("shared-2fa.mjs", &[&w.url(""), "eng@example.com", PASSWORD, "Secret Project"], "shared-2fa");
    assert!(said.contains("the locked entry leads to Security"), "{said}");
    // The owner, with 2FA, sees the workspace whole.
    let list = api.workspaces(&owner).json();
    assert_eq!(list["shared_with_me"][0]["workspace"]["name"], "Secret Project", "{list}");
}

#[test]
fn a_grant_spam_loop_by_slug_gets_429_and_a_relinquished_workspace_is_refused_but_install_links_work() {
    let w = Worker::start();
    let api = w.api();
    let vendor = api.verified("vendor@example.com").token();
    let org = api.create_org_with_slug(&vendor, "Vendor", "vendor").id();
    let stranger = api.verified("stranger@example.com").token();
    let ws = api.create_workspace(&stranger, "URGENT: re-verify at evil.example").id();

    // Grant and revoke in a loop: the sixth grant within the hour is refused.
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..8 {
        let r = api.grant(&stranger, &ws, "vendor");
        statuses.push(r.status);
        if r.status != 201 {
            last = Some(r);
            break;
        }
        assert_eq!(api.revoke_grant(&stranger, &ws, &org).status, 204);
    }
    assert_eq!(statuses, [201, 201, 201, 201, 201, 429]);
    let r = last.unwrap();
    assert_eq!(r.json()["code"], "rate_limited", "{}", r.raw);
    let retry: i64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    let log = api.audit_log(&vendor, Tenant::Org(&org)).json();
    let created = log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "grant.created").count();
    assert_eq!(created, 5, "{log}");

    // The org gives another workspace back: grants by slug from it are
    // refused from then on, while the org's install link still works.
    let other = api.create_workspace(&stranger, "Other").id();
    assert_eq!(api.grant(&stranger, &other, "vendor").status, 201);
    assert_eq!(api.relinquish(&vendor, &org, &other).status, 204);
    let r = api.grant(&stranger, &other, "vendor");
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("grant_refused")), "{}", r.raw);
    let link = api.create_install_link(&vendor, &org).json();
    let r = api.accept_install_link(&stranger, link["token"].as_str().unwrap(), &other);
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_eq!(api.workspace(&vendor, &other).status, 200);
}
