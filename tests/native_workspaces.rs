//! Customer workspaces, grants to organizations, install links, through the real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::{json, Value};
use testapp::*;

type World = Fixture<TestApp>;

fn s(v: &impl Session) -> String {
    access(v)
}

/// [`Fixture::shop_shared_with_vendor`], with a member of another org and a
/// stranger.
fn world() -> World {
    let w = Fixture::new(TestApp::new()).shop_shared_with_vendor();
    let api = w.api();
    let other_owner = api.verified("other@example.com");
    let other = api.create_org(&other_owner, "Other").expect(201).id();
    let other_org_member = api.join(&other_owner, Tenant::Org(&other), "om@example.com", "member");
    w.with_person("other_org_member", other_org_member).with_stranger()
}

fn ws_join(app: &TestApp, ws: &str, by: &impl Session, email: &str, role: &str) -> Value {
    app.api().join(by.session(), Tenant::Workspace(ws), email, role).session
}

#[test]
fn grant_admins_see_it_shared_with_them_and_manage_but_never_seat_bill_or_delete() {
    let w = world();
    let list = w.app.api().workspaces(w.who("vm")).expect(200).body;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let shared = &list["shared_with_me"][0];
    assert_eq!(shared["workspace"]["id"], w.ws.as_str());
    assert_eq!(shared["via_org"], json!({"id": w.org, "name": "Vendor"}));
    assert_eq!(shared["role"], "admin");

    let got = w.app.api().workspace(w.who("vm"), &w.ws).expect(200).body;
    assert_eq!(got["role"], "admin");
    w.app.api().rename_workspace(w.who("vm"), &w.ws, "Shop 2").expect(200);
    // Direct seats are the customer's: a grant admin changes none of them.
    w.app
        .api()
        .change_role(w.who("vm"), Tenant::Workspace(&w.ws), &TestApp::user_id(w.who("wsmember")), "admin")
        .expect_problem(403, "forbidden");
    w.app
        .api()
        .remove_member(w.who("vm"), Tenant::Workspace(&w.ws), &TestApp::user_id(w.who("wsmember")))
        .expect_problem(403, "forbidden");
    w.app.api().update_billing(w.who("vm"), &w.ws, "pro", "x@example.com").expect_problem(403, "forbidden");
    w.app.api().delete_workspace(w.who("vm"), &w.ws).expect_problem(403, "forbidden");
    w.app.api().revoke_grant(w.who("vm"), &w.ws, &w.org).expect_problem(403, "forbidden");
    w.app.api().audit_log(w.who("vm"), Tenant::Workspace(&w.ws)).expect_problem(403, "forbidden");
    // The customer keeps billing.
    let b = w.app.api().update_billing(w.customer(), &w.ws, "pro", "Billing@Shop.com").expect(200).body;
    assert_eq!((b["plan"].as_str(), b["billing_email"].as_str()), (Some("pro"), Some("billing@shop.com")));
}

#[test]
fn revoking_the_grant_or_leaving_the_org_ends_access_on_the_next_request() {
    let w = world();
    let path = format!("/v1/workspaces/{}", w.ws);
    w.app.get(&path, Some(&s(w.who("vm")))).expect(200);
    w.app.api().remove_member(w.who("vm"), Tenant::Org(&w.org), "me").expect(204);
    w.app.get(&path, Some(&s(w.who("vm")))).expect_problem(404, "not_found");

    w.app.get(&path, Some(&s(w.who("vendor")))).expect(200);
    w.app.api().revoke_grant(w.customer(), &w.ws, &w.org).expect(204);
    w.app.get(&path, Some(&s(w.who("vendor")))).expect_problem(404, "not_found");
    let list = w.app.api().workspaces(w.who("vendor")).expect(200).body;
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
            Some(s(w.customer())),
            Some(s(w.who("wsadmin"))),
            Some(s(w.who("vm"))),
            Some(s(w.who("wsmember"))),
            Some(s(w.who("other_org_member"))),
            Some(s(w.stranger())),
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
    let link = app.api().create_install_link(&vendor, &org).expect(201).body;
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(link["url"].as_str().unwrap().ends_with(&format!("/install#token={token}")));
    // The answer is the link as the list shows it, plus the token and its URL.
    let shown = as_listed(&link, &["token", "url"]);
    assert_eq!(app.api().install_links(&vendor, &org).expect(200).body["data"][0], shown, "{link}");
    assert_eq!(
        (link["status"].as_str(), link["created_by"].as_str()),
        (Some("active"), Some(TestApp::user_id(&vendor).as_str()))
    );
    let preview = app.post("/v1/install-links/preview", None, json!({"token": token})).expect(200).body;
    assert_eq!(preview["org"]["name"], "Vendor");

    // Many customers can use the same link.
    for email in ["c1@example.com", "c2@example.com"] {
        let c = app.verified_user(email);
        let ws = app.api().create_workspace(&c, email).expect(201).body["id"].as_str().unwrap().to_owned();
        let g = app.api().accept_install_link(&c, &token, &ws).expect(201).body;
        assert_eq!((g["org"]["id"].as_str(), g["role"].as_str()), (Some(org.as_str()), Some("admin")));
        app.api().workspace(&vendor, &ws).expect(200);
    }
    let managed = app.api().managed_workspaces(&vendor, &org).expect(200).body;
    assert_eq!(managed["data"].as_array().unwrap().len(), 2);

    // Only the workspace's owner can approve; another's workspace is 404.
    let c3 = app.verified_user("c3@example.com");
    let ws3 = app.api().create_workspace(&c3, "Three").expect(201).body["id"].as_str().unwrap().to_owned();
    let admin3 = ws_join(&app, &ws3, &c3, "admin3@example.com", "admin");
    app.api().accept_install_link(&admin3, &token, &ws3).expect_problem(403, "forbidden");
    app.api().accept_install_link(&vendor, &token, &ws3).expect_problem(404, "not_found");

    // Revoked links are unavailable.
    let id = link["id"].as_str().unwrap();
    app.api().revoke_install_link(&vendor, &org, id).expect(204);
    app.post("/v1/install-links/preview", None, json!({"token": token}))
        .expect_problem(410, "install_link_unavailable");
    app.api().accept_install_link(&c3, &token, &ws3).expect_problem(410, "install_link_unavailable");
}

#[test]
fn install_links_expire_after_7_days_by_default() {
    let app = TestApp::new();
    let vendor = app.verified_user("vendor@example.com");
    let org = app.create_org(&vendor, "Vendor")["id"].as_str().unwrap().to_owned();
    let token = app.api().create_install_link(&vendor, &org).expect(201).body["token"].as_str().unwrap().to_owned();
    app.advance(7 * 24 * 3600 + 1);
    app.post("/v1/install-links/preview", None, json!({"token": token}))
        .expect_problem(410, "install_link_unavailable");
}

#[test]
fn the_org_can_give_access_back_and_both_audit_logs_record_grants() {
    let w = world();
    w.app.api().relinquish(w.who("vm"), &w.org, &w.ws).expect_problem(403, "forbidden");
    w.app.api().relinquish(w.who("vendor"), &w.org, &w.ws).expect(204);
    w.app.api().workspace(w.who("vm"), &w.ws).expect(404);
    let ws_log = w.app.api().audit_log(w.customer(), Tenant::Workspace(&w.ws)).expect(200).body;
    let actions: Vec<&str> = ws_log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"grant.relinquished") && actions.contains(&"grant.created"), "{actions:?}");
    let org_log = w.app.api().audit_log(w.who("vendor"), Tenant::Org(&w.org)).expect(200).body;
    let actions: Vec<&str> =
        org_log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[0], "grant.relinquished", "{actions:?}");
    assert!(actions.contains(&"grant.created"), "{actions:?}");
}

#[test]
fn authorize_explains_workspace_decisions() {
    let w = world();
    let ask = |who: &Person, perm: &str| w.api().authorize_in_workspace(who, perm, &w.ws).expect(200).body;
    let r = ask(w.who("vm"), "workspaces:write");
    assert_eq!(r["allowed"], true);
    assert_eq!(r["via"]["kind"], "workspace_grant");
    assert_eq!(r["via"]["org"]["id"], w.org.as_str());
    assert_eq!(ask(w.who("vm"), "billing:manage")["allowed"], false);
    let r = ask(w.customer(), "billing:manage");
    assert_eq!((r["allowed"].as_bool(), r["via"]["kind"].as_str()), (Some(true), Some("workspace_role")));
    assert_eq!(ask(w.stranger(), "workspaces:read"), json!({"allowed": false, "via": null}));
    assert_eq!(ask(w.who("other_org_member"), "workspaces:read"), json!({"allowed": false, "via": null}));
}

#[test]
fn workspace_invitations_reuse_the_invitation_machinery() {
    let w = world();
    let list = w
        .app
        .get(&format!("/v1/workspaces/{}/invitations?status=accepted", w.ws), Some(&s(w.customer())))
        .expect(200)
        .body;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let r =
        w.app.api().invite(w.customer(), Tenant::Workspace(&w.ws), "stranger@example.com", "member").expect(201).body;
    let token = w.app.token_from_email("stranger@example.com", "/invite");
    let preview = w.app.api().preview_invitation(&token).expect(200).body;
    assert_eq!(preview["workspace"]["name"], "Shop");
    let accepted = w.app.api().accept_invitation(w.stranger(), &token).expect(200).body;
    assert_eq!(accepted["workspace"]["id"], w.ws.as_str());
    assert_eq!(accepted["role"], "member");
    w.app.api().workspace(w.stranger(), &w.ws).expect(200);
    let _ = r;
    // Members: the owner cannot be removed; admins never touch the owner.
    w.app
        .api()
        .remove_member(w.who("wsadmin"), Tenant::Workspace(&w.ws), &TestApp::user_id(w.customer()))
        .expect_problem(403, "forbidden");
    w.app.api().remove_member(w.customer(), Tenant::Workspace(&w.ws), "me").expect_problem(409, "last_owner");
}

#[test]
fn invitations_sent_through_a_grant_die_with_it() {
    let w = world();
    // An invitation a grant admin sent under the old rule (seeded directly: the API refuses it now).
    let vm = TestApp::user_id(w.who("vm"));
    let insert = latchkey::stmt!(
        "INSERT INTO invitations (id, workspace_id, email, role, token_hash, send_nonce, invited_by, created_at, \
         expires_at, last_sent_at) VALUES ('inv_legacy', ?1, 'seat@example.com', 'admin', 'h', 'n', ?2, 1, ?3, 1)",
        &w.ws,
        &vm,
        i64::MAX / 2
    );
    pollster::block_on(latchkey::store::Db::run(w.app.db.as_ref(), insert)).unwrap();
    // And one the customer sent, which stays.
    w.app.api().invite(w.customer(), Tenant::Workspace(&w.ws), "kept@example.com", "member").expect(201);
    w.app.api().revoke_grant(w.customer(), &w.ws, &w.org).expect(204);
    let list = w.app.api().invitations(w.customer(), Tenant::Workspace(&w.ws)).expect(200).body;
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
    w.app.delete(&path, Some(&s(w.who("vm")))).expect_problem(409, "access_through_grant");
    // Still there through the grant: nothing changed.
    w.app.api().workspace(w.who("vm"), &w.ws).expect(200);
    // A direct member leaves for real.
    w.app.delete(&path, Some(&s(w.who("wsmember")))).expect(204);
    w.app.api().workspace(w.who("wsmember"), &w.ws).expect_problem(404, "not_found");
}

#[test]
fn nobody_invites_themself_to_an_org_or_a_workspace() {
    let w = world();
    let r = w.app.api().invite(w.who("vendor"), Tenant::Org(&w.org), "VENDOR@example.com", "admin");
    r.expect_problem(403, "cannot_invite_self");
    w.app
        .api()
        .invite(w.who("wsadmin"), Tenant::Workspace(&w.ws), "wsadmin@example.com", "owner")
        .expect_problem(403, "cannot_invite_self");
}

/// The shared fixture builder gives everyone the access it says it does, and
/// nothing more: what every test built on it relies on.
#[test]
fn the_fixture_builder_makes_the_roles_it_names() {
    let f = Fixture::new(TestApp::new())
        .org_owned_by("vendor", "Vendor", Some("vendor"))
        .join_org("admin", "admin")
        .workspace_with_grant("vendor")
        .join_workspace("seat", "member")
        .key_with_scopes(&["org:read"])
        .with_stranger();
    let api = f.api();
    assert_eq!(f.owner().email, "vendor@example.com");
    assert_eq!(api.org(f.owner(), &f.org).expect(200).body["role"], "owner");
    assert_eq!(api.org(f.who("admin"), &f.org).expect(200).body["role"], "admin");
    assert_eq!(api.workspace(f.customer(), &f.ws).expect(200).body["role"], "owner");
    assert_eq!(api.workspace(f.who("seat"), &f.ws).expect(200).body["role"], "member");
    // The grant makes the org's people admins of the workspace.
    assert_eq!(api.workspace(f.who("admin"), &f.ws).expect(200).body["role"], "admin");
    let grants = api.grants(f.customer(), &f.ws).expect(200).body;
    assert_eq!(grants["data"].as_array().unwrap().len(), 1, "{grants}");
    // The key acts in the org with its scopes, created by the owner.
    assert_eq!(f.key_body["scopes"], json!(["org:read"]));
    api.org(&f.key, &f.org).expect(200);
    api.members(&f.key, f.tenant()).expect_problem(403, "insufficient_scope");
    // The stranger sees neither.
    api.org(f.stranger(), &f.org).expect_problem(404, "not_found");
    api.workspace(f.stranger(), &f.ws).expect_problem(404, "not_found");
}

#[test]
fn shared_with_me_names_a_workspace_only_by_id_while_its_orgs_2fa_rule_hides_it() {
    let app = TestApp::new();
    let TwoFactor { person: owner, .. } = app.api().verified_with_2fa("owner@example.com");
    let org = app.api().create_org_with_slug(&owner, "Strict", "strict").expect(201).id();
    let member = app.api().join(&owner, Tenant::Org(&org), "m@example.com", "member");
    let customer = app.api().verified("customer@example.com");
    let ws = app.api().create_workspace(&customer, "Secret Project").expect(201).id();
    app.api().grant(&customer, &ws, "strict").expect(201);
    app.api().update_billing(&customer, &ws, "enterprise", "ap@customer.example").expect(200);
    app.api().update_org(&owner, &org, json!({"require_2fa": true})).expect(200);

    // Opening it is refused, and the list shows no more than that refusal says.
    app.api().workspace(&member, &ws).expect_problem(403, "two_factor_required");
    let list = app.api().workspaces(&member).expect(200).body;
    assert_eq!(
        list["shared_with_me"],
        json!([{"id": ws, "org": {"id": org, "name": "Strict"}, "requires": "two_factor"}]),
        "no name, plan or role"
    );
    let raw = list.to_string();
    for hidden in ["Secret Project", "enterprise", "admin"] {
        assert!(!raw.contains(hidden), "{hidden} leaks: {raw}");
    }
    // The owner, who has 2FA, sees it whole.
    let list = app.api().workspaces(&owner).expect(200).body;
    assert_eq!(list["shared_with_me"][0]["workspace"]["name"], "Secret Project");
    assert_eq!(list["shared_with_me"][0]["role"], "admin");

    // With 2FA on, the member sees it whole too.
    let secret = app.api().enrol_totp(&member).expect(200).body["secret"].as_str().unwrap().to_owned();
    app.api().confirm_totp(&member, &totp_code(&secret, app.clock_now())).expect(200);
    let list = app.api().workspaces(&member).expect(200).body;
    assert_eq!(list["shared_with_me"][0]["workspace"]["id"], ws.as_str());
    assert_eq!(list["shared_with_me"][0]["via_org"]["name"], "Strict");
}

#[test]
fn an_org_that_does_not_require_2fa_opens_the_workspace_even_when_another_granted_org_does() {
    let app = TestApp::new();
    let TwoFactor { person: owner, .. } = app.api().verified_with_2fa("owner@example.com");
    let strict = app.api().create_org_with_slug(&owner, "Strict", "strict").expect(201).id();
    let member = app.api().join(&owner, Tenant::Org(&strict), "m@example.com", "member");
    let relaxed = app.api().create_org_with_slug(&member, "Relaxed", "relaxed").expect(201).id();
    app.api().update_org(&owner, &strict, json!({"require_2fa": true})).expect(200);
    let customer = app.api().verified("customer@example.com");
    let ws = app.api().create_workspace(&customer, "Shop").expect(201).id();
    app.api().grant(&customer, &ws, "strict").expect(201);
    app.api().grant(&customer, &ws, "relaxed").expect(201);
    app.api().workspace(&member, &ws).expect(200);
    let list = app.api().workspaces(&member).expect(200).body;
    assert_eq!(list["shared_with_me"][0]["workspace"]["name"], "Shop");
    assert_eq!(list["shared_with_me"][0]["via_org"]["id"], relaxed.as_str());
    // The one-trip write's guard reads the same rule: the relaxed org's grant lets them write.
    app.api().rename_workspace(&member, &ws, "Renamed through Relaxed").expect(200);
    // Without it, only the strict org's grant reaches them, and its rule keeps them out.
    app.api().revoke_grant(&customer, &ws, &relaxed).expect(204);
    app.api().rename_workspace(&member, &ws, "Renamed through Strict").expect_problem(403, "two_factor_required");
}

/// A verified stranger's workspace, and the target org "Vendor" (slug `vendor`).
fn spam_world() -> (TestApp, Person, String, Person, String) {
    let app = TestApp::new();
    let vendor = app.api().verified("vendor@example.com");
    let org = app.api().create_org_with_slug(&vendor, "Vendor", "vendor").expect(201).id();
    let stranger = app.api().verified("stranger@example.com");
    let ws = app.api().create_workspace(&stranger, "URGENT: re-verify at evil.example").expect(201).id();
    (app, vendor, org, stranger, ws)
}

#[test]
fn a_grant_and_revoke_loop_is_cut_off_with_retry_after_and_the_window_reopens() {
    let (app, vendor, org, stranger, ws) = spam_world();
    let mut refused = None;
    for cycle in 0..20 {
        let r = app.api().grant(&stranger, &ws, "vendor");
        if r.status == 429 {
            refused = Some((cycle, r));
            break;
        }
        r.expect(201);
        app.api().revoke_grant(&stranger, &ws, &org).expect(204);
        app.advance(60);
    }
    let (cycle, r) = refused.expect("the loop was never cut off");
    assert_eq!(cycle, 5, "five grants an hour per workspace");
    assert_eq!(r.code(), "rate_limited");
    // The first grant (at t0) leaves the hour at t0 + 3600; it is now t0 + 300.
    assert_eq!(r.header("retry-after"), Some("3300"), "{:?}", r.headers);
    // The org saw five grants and five revocations, no more.
    let log = app.api().audit_log(&vendor, Tenant::Org(&org)).expect(200).body;
    let grants = log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "grant.created").count();
    assert_eq!(grants, 5);
    // Still refused one second before the hour is over, and then room again.
    app.advance(3300 - 1);
    let stranger = app.login("stranger@example.com", PASSWORD).expect(200).body;
    app.api().grant(&stranger, &ws, "vendor").expect_problem(429, "rate_limited");
    app.advance(1);
    app.api().grant(&stranger, &ws, "vendor").expect(201);
}

#[test]
fn grants_by_slug_to_one_org_are_limited_across_workspaces_but_its_install_links_are_not() {
    let (app, vendor, org, stranger, _) = spam_world();
    let mut workspaces = Vec::new();
    for i in 0..21 {
        let ws = app.api().create_workspace(&stranger, &format!("Spam {i}")).expect(201).id();
        workspaces.push(ws);
    }
    for ws in &workspaces[..20] {
        app.api().grant(&stranger, ws, "vendor").expect(201);
    }
    let r = app.api().grant(&stranger, &workspaces[20], "vendor").expect_problem(429, "rate_limited");
    assert_eq!(r.header("retry-after"), Some("3600"));
    // A customer the org invited is not blocked by the flood.
    let token = app.api().create_install_link(&vendor, &org).expect(201).body["token"].as_str().unwrap().to_owned();
    let customer = app.api().verified("customer@example.com");
    let ws = app.api().create_workspace(&customer, "Shop").expect(201).id();
    app.api().accept_install_link(&customer, &token, &ws).expect(201);
}

#[test]
fn an_org_that_relinquished_a_workspace_refuses_its_grants_by_slug_until_its_install_link_is_used() {
    let (app, vendor, org, stranger, ws) = spam_world();
    app.api().grant(&stranger, &ws, "vendor").expect(201);
    app.api().relinquish(&vendor, &org, &ws).expect(204);
    let r = app.api().grant(&stranger, &ws, "vendor").expect_problem(403, "grant_refused");
    assert!(r.body["detail"].as_str().unwrap().contains("install link"), "{}", r.raw);
    app.advance(2 * 3600);
    let stranger = app.login("stranger@example.com", PASSWORD).expect(200).body;
    let vendor = app.login("vendor@example.com", PASSWORD).expect(200).body;
    app.api().grant(&stranger, &ws, "vendor").expect_problem(403, "grant_refused");
    // Other workspaces, and other orgs, are not affected.
    let other = app.api().create_workspace(&stranger, "Other").expect(201).id();
    app.api().grant(&stranger, &other, "vendor").expect(201);
    // The org asks again with an install link: that works, and lifts the refusal.
    let token = app.api().create_install_link(&vendor, &org).expect(201).body["token"].as_str().unwrap().to_owned();
    app.api().accept_install_link(&stranger, &token, &ws).expect(201);
    app.api().revoke_grant(&stranger, &ws, &org).expect(204);
    app.api().grant(&stranger, &ws, "vendor").expect(201);
}
