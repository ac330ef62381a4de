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
    let w = Worker::start();
    let vendor = w.api().verified("vendor@example.com").token();
    let org = w.api().create_org(&vendor, "Acme Deploy").id();
    let link = w.api().create_install_link(&vendor, &org);
    assert_eq!(link.status, 201, "{}", link.raw);
    let token = link.json()["token"].as_str().unwrap().to_owned();
    let customer = w.api().verified("customer@example.com").token();
    let ws = w.api().create_workspace(&customer, "Storefront").id();

    let url = w.url(&format!("/install#token={token}"));
    let said = browser("install.mjs", &[&url, "customer@example.com", PASSWORD], "install");
    assert!(said.contains("Acme Deploy now has admin access to Storefront"), "{said}");

    let managed: Value = w.api().managed_workspaces(&vendor, &org).json();
    assert_eq!(managed["data"][0]["workspace"]["id"], ws.as_str());
    assert_eq!(w.api().workspace(&vendor, &ws).status, 200);
}
