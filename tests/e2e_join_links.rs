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
    let w = Worker::start();
    let owner = w.api().verified("owner@example.com").token();
    let org = w.api().create_org(&owner, "Acme").id();
    let link = w.api().create_join_link(&owner, &org, json!({"role": "member", "max_uses": 3})).expect(201).body;
    let token = link["token"].as_str().unwrap().to_owned();
    let people: Vec<String> = (0..8).map(|i| w.api().verified(&format!("racer{i}@example.com")).token()).collect();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = people
            .iter()
            .map(|p| {
                let (w, token) = (&w, &token);
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
    let members = emails_of_members(&w, &owner, &org);
    assert_eq!(members.iter().filter(|e| e.starts_with("racer")).count(), 3, "{members:?}");
    let listed = w.api().join_links(&owner, &org).expect(200).body;
    assert_eq!((listed["data"][0]["uses"].as_i64(), listed["data"][0]["state"].as_str()), (Some(3), Some("used_up")));
}

#[test]
fn a_sign_up_through_a_domain_restricted_link_joins_at_verification_only_on_the_domain() {
    let w = Worker::start();
    let owner = w.api().verified("owner@acme.test").token();
    let org = w.api().create_org(&owner, "Acme").id();
    let body = json!({"role": "member", "allowed_domains": ["acme.test"], "expires_in_days": 3});
    let link = w.api().create_join_link(&owner, &org, body).expect(201).body;
    let token = link["token"].as_str().unwrap();
    assert_eq!(w.api().preview_join_link(None, token).expect(200).body["allowed_domains"], json!(["acme.test"]));

    for (email, joins) in [("colleague@acme.test", true), ("outsider@other.test", false)] {
        w.api().signup_through_join_link(email, PASSWORD, token).expect(202);
        assert!(!emails_of_members(&w, &owner, &org).contains(&email.to_owned()), "{email}: not before verification");
        let verify = w.api().emailed_token(email, "/verify-email", 1);
        let session = w.api().verify_email(&verify, PASSWORD).expect(200).body;
        assert_eq!(emails_of_members(&w, &owner, &org).contains(&email.to_owned()), joins, "{email}");
        let orgs = w.api().orgs(&session).expect(200).body;
        assert_eq!(orgs["data"].as_array().unwrap().len(), usize::from(joins), "{email}: {orgs}");
    }
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let joined: Vec<_> = log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "member.joined").collect();
    assert_eq!(joined.len(), 1, "{log}");
    assert_eq!(joined[0]["data"]["via"], "join_link");
}
