//! Runtime tests of workspaces, grants and install links against the built Worker.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
mod support;

use serde_json::{json, Value};
use support::*;

#[test]
fn grant_by_slug_shared_with_me_manage_refused_billing_and_access_ends_at_once() {
    let w = Worker::start();
    let customer = w.api().verified("customer@example.com").token();
    let ws = w.api().create_workspace(&customer, "Shop").id();
    let vendor = w.api().verified("vendor@example.com").token();
    let org = w.api().create_org_with_slug(&vendor, "Vendor", "vendor").id();
    // A vendor engineer joins the org through an emailed invitation.
    let inv = w.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(&vendor),
        json!({"email": "eng@example.com", "role": "member"}),
    );
    assert_eq!(inv.status, 201);
    let token = extract_token(w.wait_for_emails("eng@example.com", 1)[0]["text"].as_str().unwrap(), "/invite");
    let eng = w.post(
        "/v1/auth/signup",
        None,
        json!({"email": "eng@example.com", "password": PASSWORD, "name": "Eng", "invitation_token": token}),
    );
    assert_eq!(eng.status, 201, "{}", eng.body);
    let eng_uid = eng.json()["user"]["id"].as_str().unwrap().to_owned();
    let eng = eng.json()["access_token"].as_str().unwrap().to_owned();

    let g = w.post(&format!("/v1/workspaces/{ws}/grants"), Some(&customer), json!({"org_slug": "vendor"}));
    assert_eq!(g.status, 201, "{}", g.body);

    let list = w.get("/v1/workspaces", Some(&eng)).json();
    assert_eq!(list["shared_with_me"][0]["workspace"]["id"], ws.as_str());
    assert_eq!(list["shared_with_me"][0]["via_org"]["name"], "Vendor");
    let r = w.get(&format!("/v1/workspaces/{ws}"), Some(&eng));
    assert_eq!((r.status, r.json()["role"].as_str()), (200, Some("admin")));
    // Direct seats are the customer's: a grant admin invites nobody.
    let r = w.post(
        &format!("/v1/workspaces/{ws}/invitations"),
        Some(&eng),
        json!({"email": "helper@example.com", "role": "member"}),
    );
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("forbidden")), "{}", r.body);
    let r = w.put(
        &format!("/v1/workspaces/{ws}/billing"),
        Some(&eng),
        json!({"plan": "pro", "billing_email": "x@example.com"}),
    );
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(w.delete(&format!("/v1/workspaces/{ws}"), Some(&eng)).status, 403);

    // One D1 round trip: the session check and the derived role in one batch.
    let r = w.post("/v1/authorize", Some(&eng), json!({"permission": "workspaces:write", "workspace_id": ws}));
    assert_eq!(r.json()["via"]["kind"], "workspace_grant", "{}", r.body);
    assert_eq!(r.json()["allowed"], true);
    let timing = r.header("server-timing").unwrap_or("").to_owned();
    assert!(timing.starts_with("d1;desc=\"1 call\""), "{timing}");
    let r = w.post("/v1/authorize", Some(&eng), json!({"permission": "org:read", "org_id": org}));
    assert_eq!(r.json()["via"]["kind"], "org_role", "{}", r.body);
    assert!(r.header("server-timing").unwrap_or("").starts_with("d1;desc=\"1 call\""));

    // Removal from the org ends the access on the next request.
    assert_eq!(w.delete(&format!("/v1/orgs/{org}/members/{eng_uid}"), Some(&vendor)).status, 204);
    assert_eq!(w.get(&format!("/v1/workspaces/{ws}"), Some(&eng)).status, 404);
    // Revoking the grant ends it for everyone else.
    assert_eq!(w.get(&format!("/v1/workspaces/{ws}"), Some(&vendor)).status, 200);
    assert_eq!(w.delete(&format!("/v1/workspaces/{ws}/grants/{org}"), Some(&customer)).status, 204);
    assert_eq!(w.get(&format!("/v1/workspaces/{ws}"), Some(&vendor)).status, 404);

    let log = w.get(&format!("/v1/workspaces/{ws}/audit-log"), Some(&customer)).json();
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"grant.created") && actions.contains(&"grant.revoked"), "{actions:?}");
}

#[test]
fn a_customer_approves_an_install_link_in_the_browser() {
    let w = Worker::start();
    let vendor = w.api().verified("vendor@example.com").token();
    let org = w.api().create_org(&vendor, "Acme Deploy").id();
    let link = w.post(&format!("/v1/orgs/{org}/install-links"), Some(&vendor), json!({}));
    assert_eq!(link.status, 201, "{}", link.body);
    let token = link.json()["token"].as_str().unwrap().to_owned();
    let customer = w.api().verified("customer@example.com").token();
    let ws = w.api().create_workspace(&customer, "Storefront").id();

    let url = w.url(&format!("/install#token={token}"));
    let said = browser("install.mjs", &[&url, "customer@example.com", PASSWORD], "install");
    assert!(said.contains("Acme Deploy now has admin access to Storefront"), "{said}");

    let managed: Value = w.get(&format!("/v1/orgs/{org}/managed-workspaces"), Some(&vendor)).json();
    assert_eq!(managed["data"][0]["workspace"]["id"], ws.as_str());
    assert_eq!(w.get(&format!("/v1/workspaces/{ws}"), Some(&vendor)).status, 200);
}
