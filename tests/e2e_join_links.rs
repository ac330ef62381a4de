//! Runtime tests of join links against the built Worker in workerd with
//! local D1: the last-use race, and sign-up through a link (the real queue
//! consumer mails the verification link).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::json;
use support::*;

fn emails_of_members(w: &Worker, owner: &str, org: &str) -> Vec<String> {
    let list = w.api().members(owner, Tenant::Org(org)).expect(200).body;
    list["data"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn eight_people_racing_for_three_uses_make_exactly_three_members() {
    let w = Worker::shared();
    let owner = w.api().verified("owner.joinlinks1@example.com").token();
    let org = w.api().create_org(&owner, "Acme").id();
    let link = w.api().create_join_link(&owner, &org, json!({"role": "member", "max_uses": 3})).expect(201).body;
    let token = link["token"].as_str().unwrap().to_owned();
    let people: Vec<String> = (0..8).map(|i| w.api().verified(&format!("racer{i}@example.com")).token()).collect();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = people
            .iter()
            .map(|p| {
                let (w, token) = (w, &token);
                s.spawn(move || {
                    let r = w.api().accept_join_link(p.as_str(), token);
                    (r.status, r.code().to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won = answers.iter().filter(|(s, _)| *s == 201).count();
    let lost = answers.iter().filter(|(s, c)| *s == 410 && c == "join_link_unavailable").count();
    assert_eq!((won, lost), (3, 5), "{answers:?}");
    let members = emails_of_members(w, &owner, &org);
    assert_eq!(members.iter().filter(|e| e.starts_with("racer")).count(), 3, "{members:?}");
    let listed = w.api().join_links(&owner, &org).expect(200).body;
    assert_eq!((listed["data"][0]["uses"].as_i64(), listed["data"][0]["state"].as_str()), (Some(3), Some("used_up")));
}

#[test]
fn a_sign_up_through_a_domain_restricted_link_joins_at_verification_only_on_the_domain() {
    let w = Worker::shared();
    let owner = w.api().verified("owner@acme.test").token();
    let org = w.api().create_org(&owner, "Acme").id();
    let body = json!({"role": "member", "allowed_domains": ["acme.test"], "expires_in_days": 3});
    let link = w.api().create_join_link(&owner, &org, body).expect(201).body;
    let token = link["token"].as_str().unwrap();
    assert_eq!(w.api().preview_join_link(None, token).expect(200).body["allowed_domains"], json!(["acme.test"]));

    for (email, joins) in [("colleague@acme.test", true), ("outsider@other.test", false)] {
        w.api().signup_through_join_link(email, PASSWORD, token).expect(202);
        assert!(!emails_of_members(w, &owner, &org).contains(&email.to_owned()), "{email}: not before verification");
        let verify = w.api().emailed_token(email, "/verify-email", 1);
        let session = w.api().verify_email(&verify, PASSWORD).expect(200).body;
        assert_eq!(emails_of_members(w, &owner, &org).contains(&email.to_owned()), joins, "{email}");
        let orgs = w.api().orgs(&session).expect(200).body;
        assert_eq!(orgs["data"].as_array().unwrap().len(), usize::from(joins), "{email}: {orgs}");
    }
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let joined: Vec<_> = log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "member.joined").collect();
    assert_eq!(joined.len(), 1, "{log}");
    assert_eq!(joined[0]["data"]["via"], "join_link");
}

#[test]
fn requests_through_an_approval_link_are_approved_or_denied_and_the_people_are_emailed() {
    let w = Worker::shared();
    let owner = w.api().verified("owner.joinlinks3@example.com").token();
    let org = w.api().create_org(&owner, "Acme").id();
    let link = w.api().create_join_link(&owner, &org, json!({"role": "member", "approval": true})).expect(201).body;
    let token = link["token"].as_str().unwrap();
    let (ann, bob) = (w.api().verified("ann@example.com").token(), w.api().verified("bob@example.com").token());
    let asked = w.api().accept_join_link(ann.as_str(), token).expect(202).body;
    assert_eq!(asked["status"], "pending");
    let bobs = w.api().accept_join_link(bob.as_str(), token).expect(202).body;
    w.api().accept_join_link(ann.as_str(), token).expect_problem(409, "membership_request_exists");
    assert!(!emails_of_members(w, &owner, &org).contains(&"ann@example.com".to_owned()), "asking is not joining");

    let pending = w.api().membership_requests(&owner, &org, Some("pending")).expect(200).body;
    assert_eq!(pending["data"].as_array().unwrap().len(), 2, "{pending}");
    let ann_id = asked["id"].as_str().unwrap();
    w.api().approve_membership_request(&owner, &org, ann_id, "admin").expect(200);
    w.api().deny_membership_request(&owner, &org, ann_id).expect_problem(409, "membership_request_not_pending");
    w.api().deny_membership_request(&owner, &org, bobs["id"].as_str().unwrap()).expect(200);
    let members = w.api().members(&owner, Tenant::Org(&org)).expect(200).body;
    let roles: Vec<(&str, &str)> = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert!(
        roles.contains(&("ann@example.com", "admin")) && !roles.iter().any(|(e, _)| *e == "bob@example.com"),
        "{roles:?}"
    );
    assert_eq!(w.api().authorize(ann.as_str(), "org:read", &org).expect(200).body["via"]["joined_via"], "request");

    // The real queue consumer mails both answers.
    let approved = w.wait_for_emails("ann@example.com", 2);
    assert!(approved.iter().any(|m| m["subject"].as_str().unwrap_or("").contains("You joined Acme")), "{approved:?}");
    let denied = w.wait_for_emails("bob@example.com", 2);
    assert!(denied.iter().any(|m| m["text"].as_str().unwrap_or("").contains("was declined")), "{denied:?}");

    // Revoking the link stops new requests; decided ones stand.
    w.api().revoke_join_link(&owner, &org, link["id"].as_str().unwrap()).expect(204);
    let cy = w.api().verified("cy@example.com").token();
    w.api().accept_join_link(cy.as_str(), token).expect_problem(410, "join_link_unavailable");
    let mine = w.api().my_membership_requests(bob.as_str()).expect(200).body;
    assert_eq!(mine["data"][0]["status"], "denied");
}
