//! Customer workspaces, grants to organizations, install links, through the real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
mod testapp;

use serde_json::{json, Value};
use testapp::*;

struct World {
    app: TestApp,
    ws: String,
    org: String,
    customer: Value,
    vendor_owner: Value,
    vendor_member: Value,
    ws_admin: Value,
    ws_member: Value,
    other_org_member: Value,
    stranger: Value,
}

fn s(v: &Value) -> String {
    access(v)
}

/// A customer's workspace granted to a vendor org, with direct members too.
fn world() -> World {
    let app = TestApp::new();
    let customer = app.verified_user("customer@example.com");
    let ws = app.post("/v1/workspaces", Some(&s(&customer)), json!({"name": "Shop"})).expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let vendor_owner = app.verified_user("vendor@example.com");
    let org =
        app.post("/v1/orgs", Some(&s(&vendor_owner)), json!({"name": "Vendor", "slug": "vendor"})).expect(201).body
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let vendor_member = app.join(&org, &vendor_owner, "vm@example.com", "member");
    app.post(&format!("/v1/workspaces/{ws}/grants"), Some(&s(&customer)), json!({"org_slug": "vendor"})).expect(201);
    let ws_admin = ws_join(&app, &ws, &customer, "wsadmin@example.com", "admin");
    let ws_member = ws_join(&app, &ws, &customer, "wsmember@example.com", "member");
    let other_owner = app.verified_user("other@example.com");
    let other = app.post("/v1/orgs", Some(&s(&other_owner)), json!({"name": "Other"})).expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_org_member = app.join(&other, &other_owner, "om@example.com", "member");
    let stranger = app.verified_user("stranger@example.com");
    World { app, ws, org, customer, vendor_owner, vendor_member, ws_admin, ws_member, other_org_member, stranger }
}

fn ws_join(app: &TestApp, ws: &str, by: &Value, email: &str, role: &str) -> Value {
    app.api().join(by, Tenant::Workspace(ws), email, role).session
}

#[test]
fn grant_admins_see_it_shared_with_them_and_manage_but_never_seat_bill_or_delete() {
    let w = world();
    let list = w.app.get("/v1/workspaces", Some(&s(&w.vendor_member))).expect(200).body;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let shared = &list["shared_with_me"][0];
    assert_eq!(shared["workspace"]["id"], w.ws.as_str());
    assert_eq!(shared["via_org"], json!({"id": w.org, "name": "Vendor"}));
    assert_eq!(shared["role"], "admin");

    let got = w.app.get(&format!("/v1/workspaces/{}", w.ws), Some(&s(&w.vendor_member))).expect(200).body;
    assert_eq!(got["role"], "admin");
    w.app.patch(&format!("/v1/workspaces/{}", w.ws), Some(&s(&w.vendor_member)), json!({"name": "Shop 2"})).expect(200);
    // Direct seats are the customer's: a grant admin changes none of them.
    w.app
        .patch(
            &format!("/v1/workspaces/{}/members/{}", w.ws, TestApp::user_id(&w.ws_member)),
            Some(&s(&w.vendor_member)),
            json!({"role": "admin"}),
        )
        .expect_problem(403, "forbidden");
    w.app
        .delete(
            &format!("/v1/workspaces/{}/members/{}", w.ws, TestApp::user_id(&w.ws_member)),
            Some(&s(&w.vendor_member)),
        )
        .expect_problem(403, "forbidden");
    w.app
        .call(
            "PUT",
            &format!("/v1/workspaces/{}/billing", w.ws),
            Some(&s(&w.vendor_member)),
            Some(json!({"plan": "pro", "billing_email": "x@example.com"})),
        )
        .expect_problem(403, "forbidden");
    w.app.delete(&format!("/v1/workspaces/{}", w.ws), Some(&s(&w.vendor_member))).expect_problem(403, "forbidden");
    w.app
        .delete(&format!("/v1/workspaces/{}/grants/{}", w.ws, w.org), Some(&s(&w.vendor_member)))
        .expect_problem(403, "forbidden");
    w.app
        .get(&format!("/v1/workspaces/{}/audit-log", w.ws), Some(&s(&w.vendor_member)))
        .expect_problem(403, "forbidden");
    // The customer keeps billing.
    let b = w
        .app
        .call(
            "PUT",
            &format!("/v1/workspaces/{}/billing", w.ws),
            Some(&s(&w.customer)),
            Some(json!({"plan": "pro", "billing_email": "Billing@Shop.com"})),
        )
        .expect(200)
        .body;
    assert_eq!((b["plan"].as_str(), b["billing_email"].as_str()), (Some("pro"), Some("billing@shop.com")));
}

#[test]
fn revoking_the_grant_or_leaving_the_org_ends_access_on_the_next_request() {
    let w = world();
    let path = format!("/v1/workspaces/{}", w.ws);
    w.app.get(&path, Some(&s(&w.vendor_member))).expect(200);
    w.app.delete(&format!("/v1/orgs/{}/members/me", w.org), Some(&s(&w.vendor_member))).expect(204);
    w.app.get(&path, Some(&s(&w.vendor_member))).expect_problem(404, "not_found");

    w.app.get(&path, Some(&s(&w.vendor_owner))).expect(200);
    w.app.delete(&format!("/v1/workspaces/{}/grants/{}", w.ws, w.org), Some(&s(&w.customer))).expect(204);
    w.app.get(&path, Some(&s(&w.vendor_owner))).expect_problem(404, "not_found");
    let list = w.app.get("/v1/workspaces", Some(&s(&w.vendor_owner))).expect(200).body;
    assert!(list["shared_with_me"].as_array().unwrap().is_empty());
}

/// Workspace routes × owner, direct admin, grant admin, direct member, member of a non-granted org, stranger, anonymous.
#[test]
fn the_workspace_route_matrix() {
    let rows: Vec<(&str, &str, Value, [u16; 7])> = vec![
        ("GET", "/v1/workspaces/{ws}", json!(null), [200, 200, 200, 200, 404, 404, 401]),
        ("PATCH", "/v1/workspaces/{ws}", json!({"name": "N"}), [200, 200, 200, 403, 404, 404, 401]),
        ("GET", "/v1/workspaces/{ws}/members", json!(null), [200, 200, 200, 200, 404, 404, 401]),
        ("GET", "/v1/workspaces/{ws}/grants", json!(null), [200, 200, 200, 403, 404, 404, 401]),
        ("GET", "/v1/workspaces/{ws}/invitations", json!(null), [200, 200, 403, 403, 404, 404, 401]),
        (
            "POST",
            "/v1/workspaces/{ws}/invitations",
            json!({"email": "n{n}@example.com", "role": "member"}),
            [201, 201, 403, 403, 404, 404, 401],
        ),
        (
            "PUT",
            "/v1/workspaces/{ws}/billing",
            json!({"plan": "pro", "billing_email": "b@example.com"}),
            [200, 403, 403, 403, 404, 404, 401],
        ),
        ("GET", "/v1/workspaces/{ws}/audit-log", json!(null), [200, 403, 403, 403, 404, 404, 401]),
        ("POST", "/v1/workspaces/{ws}/grants", json!({"org_slug": "vendor"}), [409, 403, 403, 403, 404, 404, 401]),
        ("DELETE", "/v1/workspaces/{ws}", json!(null), [204, 403, 403, 403, 404, 404, 401]),
    ];
    for (method, template, body, expected) in rows {
        let w = world();
        let who = [
            Some(s(&w.customer)),
            Some(s(&w.ws_admin)),
            Some(s(&w.vendor_member)),
            Some(s(&w.ws_member)),
            Some(s(&w.other_org_member)),
            Some(s(&w.stranger)),
            None,
        ];
        let names = ["owner", "ws admin", "grant admin", "ws member", "other org", "stranger", "anonymous"];
        // Destructive rows (delete) run last in each world: check the others first.
        let mut order: Vec<usize> = (0..7).collect();
        order.rotate_left(1);
        for i in order {
            let path = template.replace("{ws}", &w.ws);
            let body: Value = serde_json::from_str(&body.to_string().replace("{n}", &i.to_string())).unwrap();
            let r = w.app.call(method, &path, who[i].as_deref(), if body.is_null() { None } else { Some(body) });
            assert_eq!(r.status, expected[i], "{}: {method} {template}: {}", names[i], r.raw);
        }
    }
}

#[test]
fn install_links_grant_access_when_the_workspace_owner_approves() {
    let app = TestApp::new();
    let vendor = app.verified_user("vendor@example.com");
    let org = app.create_org(&vendor, "Vendor")["id"].as_str().unwrap().to_owned();
    let link = app.post(&format!("/v1/orgs/{org}/install-links"), Some(&s(&vendor)), json!({})).expect(201).body;
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(link["url"].as_str().unwrap().ends_with(&format!("/install#token={token}")));
    let preview = app.post("/v1/install-links/preview", None, json!({"token": token})).expect(200).body;
    assert_eq!(preview["org"]["name"], "Vendor");

    // Many customers can use the same link.
    for email in ["c1@example.com", "c2@example.com"] {
        let c = app.verified_user(email);
        let ws = app.post("/v1/workspaces", Some(&s(&c)), json!({"name": email})).expect(201).body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let g = app
            .post("/v1/install-links/accept", Some(&s(&c)), json!({"token": token, "workspace_id": ws}))
            .expect(201)
            .body;
        assert_eq!((g["org"]["id"].as_str(), g["role"].as_str()), (Some(org.as_str()), Some("admin")));
        app.get(&format!("/v1/workspaces/{ws}"), Some(&s(&vendor))).expect(200);
    }
    let managed = app.get(&format!("/v1/orgs/{org}/managed-workspaces"), Some(&s(&vendor))).expect(200).body;
    assert_eq!(managed["data"].as_array().unwrap().len(), 2);

    // Only the workspace's owner can approve; another's workspace is 404.
    let c3 = app.verified_user("c3@example.com");
    let ws3 = app.post("/v1/workspaces", Some(&s(&c3)), json!({"name": "Three"})).expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin3 = ws_join(&app, &ws3, &c3, "admin3@example.com", "admin");
    app.post("/v1/install-links/accept", Some(&s(&admin3)), json!({"token": token, "workspace_id": ws3}))
        .expect_problem(403, "forbidden");
    app.post("/v1/install-links/accept", Some(&s(&vendor)), json!({"token": token, "workspace_id": ws3}))
        .expect_problem(404, "not_found");

    // Revoked links are unavailable.
    let id = link["id"].as_str().unwrap();
    app.delete(&format!("/v1/orgs/{org}/install-links/{id}"), Some(&s(&vendor))).expect(204);
    app.post("/v1/install-links/preview", None, json!({"token": token}))
        .expect_problem(410, "install_link_unavailable");
    app.post("/v1/install-links/accept", Some(&s(&c3)), json!({"token": token, "workspace_id": ws3}))
        .expect_problem(410, "install_link_unavailable");
}

#[test]
fn install_links_expire_after_7_days_by_default() {
    let app = TestApp::new();
    let vendor = app.verified_user("vendor@example.com");
    let org = app.create_org(&vendor, "Vendor")["id"].as_str().unwrap().to_owned();
    let token = app.post(&format!("/v1/orgs/{org}/install-links"), Some(&s(&vendor)), json!({})).expect(201).body
        ["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.advance(7 * 24 * 3600 + 1);
    app.post("/v1/install-links/preview", None, json!({"token": token}))
        .expect_problem(410, "install_link_unavailable");
}

#[test]
fn the_org_can_give_access_back_and_both_audit_logs_record_grants() {
    let w = world();
    w.app
        .delete(&format!("/v1/orgs/{}/managed-workspaces/{}", w.org, w.ws), Some(&s(&w.vendor_member)))
        .expect_problem(403, "forbidden");
    w.app.delete(&format!("/v1/orgs/{}/managed-workspaces/{}", w.org, w.ws), Some(&s(&w.vendor_owner))).expect(204);
    w.app.get(&format!("/v1/workspaces/{}", w.ws), Some(&s(&w.vendor_member))).expect(404);
    let ws_log = w.app.get(&format!("/v1/workspaces/{}/audit-log", w.ws), Some(&s(&w.customer))).expect(200).body;
    let actions: Vec<&str> = ws_log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"grant.relinquished") && actions.contains(&"grant.created"), "{actions:?}");
    let org_log = w.app.get(&format!("/v1/orgs/{}/audit-log", w.org), Some(&s(&w.vendor_owner))).expect(200).body;
    let actions: Vec<&str> =
        org_log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[0], "grant.relinquished", "{actions:?}");
    assert!(actions.contains(&"grant.created"), "{actions:?}");
}

#[test]
fn authorize_explains_workspace_decisions() {
    let w = world();
    let ask = |v: &Value, perm: &str| {
        w.app.post("/v1/authorize", Some(&s(v)), json!({"permission": perm, "workspace_id": w.ws})).expect(200).body
    };
    let r = ask(&w.vendor_member, "workspaces:write");
    assert_eq!(r["allowed"], true);
    assert_eq!(r["via"]["kind"], "workspace_grant");
    assert_eq!(r["via"]["org"]["id"], w.org.as_str());
    assert_eq!(ask(&w.vendor_member, "billing:manage")["allowed"], false);
    let r = ask(&w.customer, "billing:manage");
    assert_eq!((r["allowed"].as_bool(), r["via"]["kind"].as_str()), (Some(true), Some("workspace_role")));
    assert_eq!(ask(&w.stranger, "workspaces:read"), json!({"allowed": false, "via": null}));
    assert_eq!(ask(&w.other_org_member, "workspaces:read"), json!({"allowed": false, "via": null}));
}

#[test]
fn workspace_invitations_reuse_the_invitation_machinery() {
    let w = world();
    let list = w
        .app
        .get(&format!("/v1/workspaces/{}/invitations?status=accepted", w.ws), Some(&s(&w.customer)))
        .expect(200)
        .body;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let r = w
        .app
        .post(
            &format!("/v1/workspaces/{}/invitations", w.ws),
            Some(&s(&w.customer)),
            json!({"email": "stranger@example.com", "role": "member"}),
        )
        .expect(201)
        .body;
    let token = w.app.token_from_email("stranger@example.com", "/invite");
    let preview = w.app.api().preview_invitation(&token).expect(200).body;
    assert_eq!(preview["workspace"]["name"], "Shop");
    let accepted =
        w.app.post("/v1/invitations/accept", Some(&s(&w.stranger)), json!({"token": token})).expect(200).body;
    assert_eq!(accepted["workspace"]["id"], w.ws.as_str());
    assert_eq!(accepted["role"], "member");
    w.app.get(&format!("/v1/workspaces/{}", w.ws), Some(&s(&w.stranger))).expect(200);
    let _ = r;
    // Members: the owner cannot be removed; admins never touch the owner.
    w.app
        .delete(&format!("/v1/workspaces/{}/members/{}", w.ws, TestApp::user_id(&w.customer)), Some(&s(&w.ws_admin)))
        .expect_problem(403, "forbidden");
    w.app
        .delete(&format!("/v1/workspaces/{}/members/me", w.ws), Some(&s(&w.customer)))
        .expect_problem(409, "last_owner");
}

#[test]
fn invitations_sent_through_a_grant_die_with_it() {
    let w = world();
    // An invitation a grant admin sent under the old rule (seeded directly: the API refuses it now).
    let vm = TestApp::user_id(&w.vendor_member);
    let insert = latchkey::stmt!(
        "INSERT INTO invitations (id, workspace_id, email, role, token_hash, send_nonce, invited_by, created_at, \
         expires_at, last_sent_at) VALUES ('inv_legacy', ?1, 'seat@example.com', 'admin', 'h', 'n', ?2, 1, ?3, 1)",
        &w.ws,
        &vm,
        i64::MAX / 2
    );
    pollster::block_on(latchkey::store::Db::run(w.app.db.as_ref(), insert)).unwrap();
    // And one the customer sent, which stays.
    w.app
        .post(
            &format!("/v1/workspaces/{}/invitations", w.ws),
            Some(&s(&w.customer)),
            json!({"email": "kept@example.com", "role": "member"}),
        )
        .expect(201);
    w.app.delete(&format!("/v1/workspaces/{}/grants/{}", w.ws, w.org), Some(&s(&w.customer))).expect(204);
    let list = w.app.get(&format!("/v1/workspaces/{}/invitations", w.ws), Some(&s(&w.customer))).expect(200).body;
    let status = |email: &str| {
        list["data"].as_array().unwrap().iter().find(|i| i["email"] == email).map(|i| i["status"].clone())
    };
    assert_eq!(status("seat@example.com"), Some(json!("revoked")));
    assert_eq!(status("kept@example.com"), Some(json!("pending")));
}

#[test]
fn leaving_a_workspace_reached_through_a_grant_says_so() {
    let w = world();
    let path = format!("/v1/workspaces/{}/members/me", w.ws);
    w.app.delete(&path, Some(&s(&w.vendor_member))).expect_problem(409, "access_through_grant");
    // Still there through the grant: nothing changed.
    w.app.get(&format!("/v1/workspaces/{}", w.ws), Some(&s(&w.vendor_member))).expect(200);
    // A direct member leaves for real.
    w.app.delete(&path, Some(&s(&w.ws_member))).expect(204);
    w.app.get(&format!("/v1/workspaces/{}", w.ws), Some(&s(&w.ws_member))).expect_problem(404, "not_found");
}

#[test]
fn nobody_invites_themself_to_an_org_or_a_workspace() {
    let w = world();
    let r = w.app.post(
        &format!("/v1/orgs/{}/invitations", w.org),
        Some(&s(&w.vendor_owner)),
        json!({"email": "VENDOR@example.com", "role": "admin"}),
    );
    r.expect_problem(403, "cannot_invite_self");
    w.app
        .post(
            &format!("/v1/workspaces/{}/invitations", w.ws),
            Some(&s(&w.ws_admin)),
            json!({"email": "wsadmin@example.com", "role": "owner"}),
        )
        .expect_problem(403, "cannot_invite_self");
}
