//! Runtime tests that replay the attacks of the security review against the
//! built Worker (workerd, local D1, the real queue consumer): each rule is
//! tried in the other order, by the other tenant, and by two requests at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::{json, Value};
use std::thread;
use support::*;

const ATTACKER: &str = "attacker passphrase 42";

fn signup(w: &Worker, email: &str, password: &str) {
    let r = w.api().signup(email, password, email);
    assert_eq!(r.status, 202, "{}", r.raw);
}

/// Every verification link emailed to `to` so far, oldest first (waits for `n`).
fn verify_links(w: &Worker, to: &str, n: usize) -> Vec<String> {
    w.wait_for_emails(to, n)
        .iter()
        .filter_map(|e| e["text"].as_str())
        .filter(|t| t.contains("/verify-email#token="))
        .map(|t| extract_token(t, "/verify-email"))
        .collect()
}

fn verify(w: &Worker, token: &str, password: &str) -> Resp {
    w.api().verify_email(token, password)
}

fn login(w: &Worker, email: &str, password: &str) -> Resp {
    w.api().login(email, password)
}

fn code_of(r: &Resp) -> (u16, String) {
    (r.status, r.json()["code"].as_str().unwrap_or("").to_owned())
}

fn verified(w: &Worker, email: &str) -> (String, String) {
    let person = w.api().verified(email);
    (person.token(), person.id())
}

/// Invites `email` to `path` (an org or workspace invitations URL) and accepts
/// it as `bearer` (the invitee, signed in); returns the accept answer.
fn invite_and_accept(w: &Worker, path: &str, inviter: &str, email: &str, role: &str, invitee: &str) -> Resp {
    let before = w.wait_for_emails(email, 0).len();
    let r = w.post(path, Some(inviter), json!({"email": email, "role": role}));
    assert_eq!(r.status, 201, "{}", r.raw);
    let emails = w.wait_for_emails(email, before + 1);
    let token = extract_token(emails.last().unwrap()["text"].as_str().unwrap(), "/invite");
    w.api().accept_invitation(invitee, &token)
}

#[test]
fn pre_account_takeover_fails_in_both_orders_through_resend_and_leftover_links() {
    let w = Worker::shared();

    // Victim first, attacker second: the victim opens the newest email (the attacker's link).
    signup(w, "v1@example.com", PASSWORD);
    verify_links(w, "v1@example.com", 1);
    signup(w, "v1@example.com", ATTACKER);
    let links = verify_links(w, "v1@example.com", 2);
    assert_eq!(code_of(&verify(w, &links[1], PASSWORD)), (401, "password_mismatch".into()));
    assert_eq!(code_of(&login(w, "v1@example.com", PASSWORD)), (403, "email_not_verified".into()), "nothing changed");
    assert_eq!(verify(w, &links[0], PASSWORD).status, 200);
    assert_eq!(login(w, "v1@example.com", PASSWORD).status, 200);
    assert_eq!(code_of(&login(w, "v1@example.com", ATTACKER)), (401, "invalid_credentials".into()));
    // The attacker's own link died with the verification: no session, no password.
    assert_eq!(code_of(&verify(w, &links[1], ATTACKER)), (400, "invalid_token".into()));
    assert_eq!(login(w, "v1@example.com", PASSWORD).status, 200);

    // Attacker first, victim second.
    signup(w, "v2@example.com", ATTACKER);
    verify_links(w, "v2@example.com", 1);
    let r = w.api().signup("v2@example.com", PASSWORD, "v2@example.com#2");
    assert_eq!(r.status, 202, "{}", r.raw);
    let links = verify_links(w, "v2@example.com", 2);
    assert_eq!(code_of(&verify(w, &links[0], PASSWORD)), (401, "password_mismatch".into()));
    let session = verify(w, &links[1], PASSWORD);
    assert_eq!(session.status, 200, "{}", session.raw);
    // Nor does the stranger's name stay: the verifier's sign-up sets it.
    assert_eq!(session.json()["user"]["name"], "v2@example.com#2", "{}", session.raw);
    assert_eq!(code_of(&login(w, "v2@example.com", ATTACKER)), (401, "invalid_credentials".into()));
    assert_eq!(login(w, "v2@example.com", PASSWORD).status, 200);

    // A resend after both: its link takes a password chosen at sign-up, never a guess,
    // and the account ends up with the one the verifier typed.
    signup(w, "v3@example.com", ATTACKER);
    signup(w, "v3@example.com", PASSWORD);
    verify_links(w, "v3@example.com", 2);
    assert_eq!(w.api().resend_verification("v3@example.com").status, 202);
    let resent = verify_links(w, "v3@example.com", 3).pop().unwrap();
    assert_eq!(code_of(&verify(w, &resent, "not a password anyone chose")), (401, "password_mismatch".into()));
    let missing = w.post("/v1/auth/verify-email", None, json!({"token": resent}));
    assert_eq!((missing.status, missing.json()["errors"][0]["field"].as_str()), (422, Some("password")));
    assert_eq!(verify(w, &resent, PASSWORD).status, 200);
    assert_eq!(code_of(&login(w, "v3@example.com", ATTACKER)), (401, "invalid_credentials".into()));

    // Leftover links: a reset requested before verification dies with it, and
    // one requested before a reset dies with that reset.
    signup(w, "v4@example.com", PASSWORD);
    assert_eq!(w.api().request_password_reset("v4@example.com").status, 202);
    assert_eq!(w.api().request_password_reset("v4@example.com").status, 202);
    let emails = w.wait_for_emails("v4@example.com", 3);
    let resets: Vec<String> = emails
        .iter()
        .filter_map(|e| e["text"].as_str())
        .filter(|t| t.contains("/reset-password#token="))
        .map(|t| extract_token(t, "/reset-password"))
        .collect();
    assert_eq!(resets.len(), 2);
    let link = verify_links(w, "v4@example.com", 3).remove(0);
    let r = w.api().confirm_password_reset(&resets[1], "a brand new passphrase");
    assert_eq!(r.status, 204, "{}", r.raw);
    let r = w.api().confirm_password_reset(&resets[0], ATTACKER);
    assert_eq!(code_of(&r), (400, "invalid_token".into()));
    // The verification link of an account that is verified now gives no session.
    let r = verify(w, &link, PASSWORD);
    assert_eq!(code_of(&r), (400, "invalid_token".into()));
    assert!(r.json().get("access_token").is_none());
    assert_eq!(login(w, "v4@example.com", "a brand new passphrase").status, 200);
}

/// A customer's workspace "Shop" granted to the org "Vendor" (slug `vendor`),
/// whose owner signs in as `owner_email`, with M (`m@example.com`), who had
/// an account already, accepting an invitation to it as a member.
struct Granted {
    customer: String,
    ws: String,
    owner: String,
    org: String,
    m: String,
    m_id: String,
}

fn granted(w: &Worker, owner_email: &str) -> Granted {
    let api = w.api();
    let (customer, _) = verified(w, "customer@example.com");
    let ws = api.create_workspace(&customer, "Shop").id();
    let (owner, _) = verified(w, owner_email);
    let org = api.create_org_with_slug(&owner, "Vendor", "vendor").id();
    let (m, m_id) = verified(w, "m@example.com");
    let r = invite_and_accept(w, &format!("/v1/orgs/{org}/invitations"), &owner, "m@example.com", "member", &m);
    assert_eq!(r.status, 200, "{}", r.raw);
    api.grant(&customer, &ws, "vendor").expect(201);
    Granted { customer, ws, owner, org, m, m_id }
}

#[test]
fn access_through_a_grant_never_becomes_a_seat_and_grant_events_name_both_sides() {
    let w = Worker::start();
    let Granted { customer, ws, owner: vendor, org, m, m_id } = granted(&w, "vendor@example.com");
    assert_eq!(w.api().workspace(&m, &ws).json()["role"], "admin");

    // The reviewed attack: M invites their own address as admin, to accept after the grant ends.
    let r = w.api().invite(&m, Tenant::Workspace(&ws), "m@example.com", "admin");
    assert_eq!(r.status, 403, "{}", r.raw);
    // Nor anyone else, nor any change to the customer's own seats.
    let r = w.api().invite(&m, Tenant::Workspace(&ws), "friend@example.com", "member");
    assert_eq!(code_of(&r), (403, "forbidden".into()));
    assert_eq!(w.api().invitations(&m, Tenant::Workspace(&ws)).status, 403);
    // Leaving a workspace one is not a member of says what happened.
    assert_eq!(code_of(&w.api().remove_member(&m, Tenant::Workspace(&ws), "me")), (409, "access_through_grant".into()));

    // The customer seats M directly as a member: the grant still raises M to admin,
    // but M's own seat stays a member's, and M cannot raise it by any path.
    let r =
        invite_and_accept(&w, &format!("/v1/workspaces/{ws}/invitations"), &customer, "m@example.com", "member", &m);
    assert_eq!(r.status, 200, "{}", r.raw);
    let r = w.api().change_role(&m, Tenant::Workspace(&ws), &m_id, "admin");
    assert_eq!(r.status, 403, "{}", r.raw);
    let r = w.api().invite(&m, Tenant::Workspace(&ws), "m@example.com", "admin");
    assert_eq!(r.status, 403, "{}", r.raw);

    // The grant ends: M is back to the seat the customer gave, nothing more.
    assert_eq!(w.api().revoke_grant(&customer, &ws, &org).status, 204);
    let r = w.api().workspace(&m, &ws);
    assert_eq!((r.status, r.json()["role"].as_str()), (200, Some("member")), "{}", r.raw);
    let r = w.api().authorize_in_workspace(&m, "members:write", &ws);
    assert_eq!(r.json()["allowed"], false, "{}", r.raw);
    // The vendor's owner, who never had a seat, has nothing at all.
    assert_eq!(w.api().workspace(&vendor, &ws).status, 404);

    // A direct admin cannot invite themself as owner, nor promote themself.
    let (a, a_id) = verified(&w, "a@example.com");
    let r = invite_and_accept(&w, &format!("/v1/workspaces/{ws}/invitations"), &customer, "a@example.com", "admin", &a);
    assert_eq!(r.status, 200, "{}", r.raw);
    let r = w.api().invite(&a, Tenant::Workspace(&ws), "a@example.com", "owner");
    assert_eq!(code_of(&r), (403, "cannot_invite_self".into()));
    let r = w.api().change_role(&a, Tenant::Workspace(&ws), &a_id, "owner");
    assert_eq!(r.status, 403, "{}", r.raw);

    // Grant events carry both sides, in both logs, for create, revoke and relinquish.
    assert_eq!(w.api().grant(&customer, &ws, "vendor").status, 201);
    assert_eq!(w.api().relinquish(&vendor, &org, &ws).status, 204);
    let ws_log = w.api().audit_log(&customer, Tenant::Workspace(&ws)).json();
    let org_log = w.api().audit_log(&vendor, Tenant::Org(&org)).json();
    for (name, log) in [("workspace", &ws_log), ("org", &org_log)] {
        let grants: Vec<&Value> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"].as_str().unwrap_or("").starts_with("grant."))
            .collect();
        let actions: Vec<&str> = grants.iter().map(|e| e["action"].as_str().unwrap()).collect();
        for wanted in ["grant.created", "grant.revoked", "grant.relinquished"] {
            assert!(actions.contains(&wanted), "{name} log lacks {wanted}: {actions:?}");
        }
        for e in grants {
            let data = &e["data"];
            assert_eq!(data["org"]["id"], org.as_str(), "{name} log: {e}");
            assert_eq!(data["org"]["slug"], "vendor", "{name} log: {e}");
            assert_eq!(data["workspace"]["id"], ws.as_str(), "{name} log: {e}");
            assert_eq!(data["workspace"]["name"], "Shop", "{name} log: {e}");
        }
    }
}

#[test]
fn an_orgs_2fa_rule_holds_on_its_granted_workspaces_and_workspace_role_changes_recheck_the_caller() {
    let w = Worker::start();
    let Granted { customer, ws, owner, org, m, .. } = granted(&w, "owner@example.com");
    assert_eq!(w.api().workspace(&m, &ws).status, 200);

    // The owner turns on 2FA and requires it of the org.
    let e = w.api().enrol_totp(&owner);
    let secret = e.json()["secret"].as_str().unwrap().to_owned();
    let c = w.api().confirm_totp(&owner, &totp_code(&secret, unix_now()));
    assert_eq!(c.status, 200, "{}", c.raw);
    let r = w.patch(&format!("/v1/orgs/{org}"), Some(&owner), json!({"require_2fa": true}));
    assert_eq!(r.status, 200, "{}", r.raw);

    // M, without 2FA, is refused on the org and on the workspace it manages, alike.
    assert_eq!(code_of(&w.api().org(&m, &org)), (403, "two_factor_required".into()));
    assert_eq!(code_of(&w.api().workspace(&m, &ws)), (403, "two_factor_required".into()));
    let r = w.api().authorize_in_workspace(&m, "workspaces:read", &ws);
    assert_eq!(r.json()["allowed"], false, "{}", r.raw);
    assert_eq!(r.json()["via"]["requires"], "two_factor", "{}", r.raw);
    assert_eq!(r.json()["via"]["org"]["id"], org.as_str(), "{}", r.raw);
    // The owner, who has 2FA, keeps access.
    let r = w.api().authorize_in_workspace(&owner, "workspaces:read", &ws);
    assert_eq!(r.json()["allowed"], true, "{}", r.raw);
    assert_eq!(w.api().workspace(&owner, &ws).status, 200);

    // Two direct admins demote each other at the same moment: the caller's own
    // role is re-checked inside each statement, so never both succeed.
    let mut admins = Vec::new();
    for email in ["x@example.com", "y@example.com"] {
        let (b, uid) = verified(&w, email);
        let r = invite_and_accept(&w, &format!("/v1/workspaces/{ws}/invitations"), &customer, email, "admin", &b);
        assert_eq!(r.status, 200, "{}", r.raw);
        admins.push((b, uid));
    }
    for round in 0..6 {
        let (x, y) = (&admins[0], &admins[1]);
        let (rx, ry) = thread::scope(|s| {
            let a = s.spawn(|| w.api().change_role(&x.0, Tenant::Workspace(&ws), &y.1, "member"));
            let b = s.spawn(|| w.api().change_role(&y.0, Tenant::Workspace(&ws), &x.1, "member"));
            (a.join().unwrap(), b.join().unwrap())
        });
        assert!(rx.status < 500 && ry.status < 500, "round {round}: {} / {}", rx.raw, ry.raw);
        let members = w.api().members(&customer, Tenant::Workspace(&ws)).json();
        let demoted = members["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| (m["user_id"] == x.1.as_str() || m["user_id"] == y.1.as_str()) && m["role"] == "member")
            .count();
        assert!(demoted <= 1, "round {round}: both admins demoted each other: {rx:?} {ry:?}");
        assert!(!(rx.status == 200 && ry.status == 200), "round {round}: both succeeded");
        for (_, uid) in &admins {
            let r = w.api().change_role(&customer, Tenant::Workspace(&ws), uid, "admin");
            assert_eq!(r.status, 200, "{}", r.raw);
        }
    }
}

#[test]
fn the_verify_page_asks_for_the_signup_password_in_the_browser() {
    let w = Worker::shared();
    signup(w, "page.trust2@example.com", PASSWORD);
    let token = verify_links(w, "page.trust2@example.com", 1).remove(0);
    let said = browser("verify.mjs", &[&w.url(&format!("/verify-email#token={token}")), ATTACKER, PASSWORD], "verify");
    assert!(said.contains("page.trust2@example.com is verified"), "{said}");
    assert_eq!(login(w, "page.trust2@example.com", PASSWORD).status, 200);
}
