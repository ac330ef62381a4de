//! Runtime tests of organizations and invitations: the built Worker under
//! wrangler dev, invitation emails through the real queue consumer, and
//! concurrency against real D1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::{json, Value};
use std::thread;
use support::*;

fn invite(w: &Worker, org: &str, by: &Value, email: &str, role: &str) -> String {
    w.api().invitation_token(by, Tenant::Org(org), email, role)
}

#[test]
fn invite_by_email_through_the_queue_then_sign_up_with_it() {
    let w = Worker::shared();
    let owner = w.api().verified("owner.orgs1@example.com").session;
    let org = w.api().create_org(&owner, "Acme");
    assert_eq!(org.status, 201, "{}", org.raw);
    let org_id = org.json()["id"].as_str().unwrap().to_owned();

    let token = invite(w, &org_id, &owner, "new@example.com", "admin");
    let email = &w.wait_for_emails("new@example.com", 1)[0];
    assert!(email["subject"].as_str().unwrap().contains("Acme"));
    let preview = w.api().preview_invitation(&token);
    assert_eq!(preview.status, 200, "{}", preview.raw);
    assert_eq!(preview.json()["org"]["name"], "Acme");

    let signup = w.api().signup_invited("new@example.com", PASSWORD, "New", &token);
    assert_eq!(signup.status, 201, "{}", signup.raw);
    let new = signup.json();
    let me = w.api().org(&new, &org_id);
    assert_eq!((me.status, me.json()["role"].as_str()), (200, Some("admin")));
    // One D1 round trip: the membership row rides in the session check's batch.
    let timing = me.header("server-timing").unwrap_or("").to_owned();
    assert!(timing.starts_with("d1;desc=\"1 call\""), "{timing}");

    // Audit rows written with `changes()` guards inside D1 batches.
    let log = w.api().audit_log(&owner, Tenant::Org(&org_id));
    let actions: Vec<String> =
        log.json()["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, ["invitation.accepted", "invitation.created", "org.created"]);

    // Removal acts on the very next request.
    let uid = new["user"]["id"].as_str().unwrap();
    assert_eq!(w.api().remove_member(&owner, Tenant::Org(&org_id), uid).status, 204);
    let gone = w.api().org(&new, &org_id);
    assert_eq!((gone.status, gone.json()["code"].as_str()), (404, Some("not_found")), "{}", gone.raw);
    assert!(gone.header("server-timing").unwrap_or("").starts_with("d1;desc=\"1 call\""));
    // A signed-out session reads nothing of the org, whatever rode along.
    assert_eq!(w.api().logout(&new).status, 204);
    assert_eq!(w.api().org(&owner, &org_id).status, 200);
    let out = w.api().org(&new, &org_id);
    assert_eq!((out.status, out.json()["code"].as_str()), (401, Some("unauthenticated")), "{}", out.raw);
}

#[test]
fn ten_parallel_accepts_of_one_invitation_make_one_membership() {
    let w = Worker::shared();
    let owner = w.api().verified("owner.orgs2@example.com").session;
    let org_id = w.api().create_org(&owner, "Race").id();
    let invitee = w.api().verified("invitee@example.com").session;
    let token = invite(w, &org_id, &owner, "invitee@example.com", "member");

    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..10).map(|_| s.spawn(|| w.api().accept_invitation(&invitee, &token).status)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 409), "losers see invitation_already_accepted: {statuses:?}");
    let members = w.api().members(&owner, Tenant::Org(&org_id)).json();
    let data = members["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{data:?}");
}

#[test]
fn two_owners_demoting_each_other_at_once_leave_exactly_one_owner() {
    let w = Worker::shared();
    let a = w.api().verified("a@example.com").session;
    let org_id = w.api().create_org(&a, "Duel").id();
    let b = w.api().verified("b@example.com").session;
    let token = invite(w, &org_id, &a, "b@example.com", "owner");
    assert_eq!(w.api().accept_invitation(&b, &token).status, 200);
    let a_id = a["user"]["id"].as_str().unwrap().to_owned();
    let b_id = b["user"]["id"].as_str().unwrap().to_owned();

    for round in 0..3 {
        let (ra, rb) = thread::scope(|s| {
            let x = s.spawn(|| w.api().change_role(&a, Tenant::Org(&org_id), &b_id, "admin"));
            let y = s.spawn(|| w.api().change_role(&b, Tenant::Org(&org_id), &a_id, "admin"));
            (x.join().unwrap(), y.join().unwrap())
        });
        let members = w.api().members(if ra.status == 200 { &a } else { &b }, Tenant::Org(&org_id)).json();
        let owners = members["data"].as_array().unwrap().iter().filter(|m| m["role"] == "owner").count();
        assert_eq!(owners, 1, "round {round}: {} / {}", ra.raw, rb.raw);
        let codes: Vec<u16> = vec![ra.status, rb.status];
        assert!(codes.contains(&200), "{codes:?}");
        // The loser was refused: by the last-owner guard (409), or, if the winner's demotion of it landed first, as a non-owner (403).
        assert!(codes.iter().any(|&c| c == 409 || c == 403), "{codes:?}: {} / {}", ra.raw, rb.raw);
        // Restore two owners for the next round.
        let (winner, loser_id) = if ra.status == 200 { (&a, &b_id) } else { (&b, &a_id) };
        let r = w.api().change_role(winner, Tenant::Org(&org_id), loser_id, "owner");
        assert_eq!(r.status, 200, "{}", r.raw);
    }
}

#[test]
fn a_person_opens_the_invite_link_in_a_browser_signs_up_and_joins() {
    let w = Worker::shared();
    let owner = w.api().verified("owner.orgs4@example.com").session;
    let org_id = w.api().create_org(&owner, "Acme").id();
    let token = invite(w, &org_id, &owner, "browser@example.com", "member");

    let said = browser("invite.mjs", &[&w.url(&format!("/invite#token={token}")), "signup"], "signup");
    assert!(said.contains("You joined Acme as member"), "{said}");
    let members = w.api().members(&owner, Tenant::Org(&org_id)).json();
    let emails: Vec<&str> = members["data"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert!(emails.contains(&"browser@example.com"), "{emails:?}");

    // A revoked link says so.
    let r = w.api().invite(&owner, Tenant::Org(&org_id), "late@example.com", "member");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let late = extract_token(w.wait_for_emails("late@example.com", 1)[0]["text"].as_str().unwrap(), "/invite");
    assert_eq!(w.api().revoke_invitation(&owner, Tenant::Org(&org_id), &id).status, 204);
    browser("invite.mjs", &[&w.url(&format!("/invite#token={late}")), "revoked"], "revoked");

    // Declining from the link, without an account: the invitation is listed
    // as declined, the link says so, and it signs nobody up.
    let no = invite(w, &org_id, &owner, "no@example.com", "admin");
    let said = browser("invite.mjs", &[&w.url(&format!("/invite#token={no}")), "decline"], "decline");
    assert!(said.contains("You declined"), "{said}");
    let list = w.api().invitations(&owner, Tenant::Org(&org_id)).expect(200).body;
    let declined = list["data"].as_array().unwrap().iter().find(|i| i["email"] == "no@example.com");
    assert_eq!(declined.map(|i| i["status"].clone()), Some(serde_json::json!("declined")), "{list}");
    browser("invite.mjs", &[&w.url(&format!("/invite#token={no}")), "declined"], "declined");
    let r = w.api().signup_invited("no@example.com", PASSWORD, "No", &no);
    assert_ne!(r.status, 201, "a declined invitation signs nobody up: {}", r.raw);
}

/// The resolver in workerd with local D1: each read below is one D1 round
/// trip (`Server-Timing`), and so is each person's write whose rule the
/// write guard carries; a refused write costs a second trip (which names
/// the refusal) and writes nothing.
#[test]
fn the_resolvers_routes_make_one_d1_round_trip_in_workerd() {
    let w = Worker::shared();
    let api = w.api();
    let owner = api.verified("rt-owner@example.com");
    let calls = |what: &str, r: Resp, status: u16| -> String {
        assert_eq!(r.status, status, "{what}: {}", r.raw);
        let timing = r.header("server-timing").unwrap_or("").to_owned();
        timing.split(';').nth(1).unwrap_or("").to_owned()
    };
    let created = api.create_org(&owner, "Round trips");
    let org = created.id();
    assert_eq!(calls("create an org", created, 201), "desc=\"1 call\"");
    let member = api.join(&owner, Tenant::Org(&org), "rt-member@example.com", "member");
    let ws = api.create_workspace(&owner, "Shop");
    let ws_id = ws.id();
    let one_trip: Vec<(&str, Resp, u16)> = vec![
        ("create a workspace", ws, 201),
        ("read the org", api.org(&owner, &org), 200),
        ("rename the org", api.update_org(&owner, &org, json!({"name": "Renamed"})), 200),
        ("list members", api.members(&owner, Tenant::Org(&org)), 200),
        ("read the audit log", api.audit_log(&owner, Tenant::Org(&org)), 200),
        ("list invitations", api.invitations(&owner, Tenant::Org(&org)), 200),
        ("list API keys", api.keys(&owner, &org), 200),
        ("create an install link", api.create_install_link(&owner, &org), 201),
        ("list orgs", api.orgs(&owner), 200),
        ("rename me", api.rename_me(&owner, "Renamed Person"), 200),
        ("list my sessions", api.sessions(&owner), 200),
        ("list workspaces", api.workspaces(&owner), 200),
        ("rename the workspace", api.rename_workspace(&owner, &ws_id, "Shop 2"), 200),
        ("set billing", api.update_billing(&owner, &ws_id, "pro", "billing@example.com"), 200),
        ("list the workspace's members", api.members(&owner, Tenant::Workspace(&ws_id)), 200),
    ];
    for (what, reply, status) in one_trip {
        assert_eq!(calls(what, reply, status), "desc=\"1 call\"", "{what}");
    }
    // A member's rename is refused by the guard; the second trip names the refusal.
    let refused = api.update_org(&member, &org, json!({"name": "Mine"}));
    assert_eq!(refused.code(), "forbidden", "{}", refused.raw);
    assert_eq!(calls("a refused rename", refused, 403), "desc=\"2 calls\"");
    assert_eq!(api.org(&owner, &org).expect(200).body["name"], "Renamed");
}
