//! Join links through the real router over SQLite: who may make one, what it
//! admits (verified addresses, exact domains, uses, lifetime), sign-up
//! through a link, and the attacks on each rule.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::{json, Value};
use testapp::*;

fn world() -> Fixture<TestApp> {
    Fixture::new(TestApp::new())
        .org_owned_by("owner", "Acme", Some("acme"))
        .join_org("admin", "admin")
        .join_org("member", "member")
}

fn member_ids(app: &TestApp, who: &impl Session, org: &str) -> Vec<(String, String)> {
    let list = app.api().members(who.session(), Tenant::Org(org)).expect(200).body;
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
        .collect()
}

fn is_member(app: &TestApp, owner: &impl Session, org: &str, email: &str) -> Option<String> {
    member_ids(app, owner, org).into_iter().find(|(e, _)| e == email).map(|(_, r)| r)
}

fn token(link: &Value) -> String {
    link["token"].as_str().unwrap().to_owned()
}

#[test]
fn an_admin_shares_a_link_and_verified_people_join_with_its_role() {
    let f = world();
    let api = f.api();
    let link = api.create_join_link(f.who("admin"), &f.org, json!({"role": "member", "max_uses": 10})).expect(201).body;
    assert!(link["id"].as_str().unwrap().starts_with("jnl_"), "{link}");
    assert!(link["url"].as_str().unwrap().ends_with(&format!("/join#token={}", token(&link))), "{link}");
    assert_eq!(link["max_uses"], 10);
    // The answer is the link as the list shows it, plus the token and its URL.
    let listed = api.join_links(f.owner(), &f.org).expect(200).body;
    assert_eq!(listed["data"][0], as_listed(&link, &["token", "url"]), "{link}");
    assert_eq!((link["uses"].as_i64(), link["state"].as_str()), (Some(0), Some("active")));
    assert_eq!(link["created_by"].as_str(), Some(user_id(f.who("admin")).as_str()), "{link}");

    // Anonymous: what the link offers, and nothing about the caller.
    let preview = api.preview_join_link(None, &token(&link)).expect(200).body;
    assert_eq!((preview["org"]["name"].as_str(), preview["role"].as_str()), (Some("Acme"), Some("member")));
    assert_eq!(preview["eligibility"], Value::Null);

    let dana = api.verified("dana@example.com");
    let preview = api.preview_join_link(Some(&dana), &token(&link)).expect(200).body;
    assert_eq!(preview["eligibility"], "eligible");
    let joined = api.accept_join_link(&dana, &token(&link)).expect(201).body;
    assert_eq!((joined["org"]["id"].as_str(), joined["role"].as_str()), (Some(f.org.as_str()), Some("member")));
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "dana@example.com").as_deref(), Some("member"));

    // Once in, the link says so and spends nothing more.
    assert_eq!(api.preview_join_link(Some(&dana), &token(&link)).expect(200).body["eligibility"], "already_member");
    api.accept_join_link(&dana, &token(&link)).expect_problem(409, "already_member");
    let listed = api.join_links(f.owner(), &f.org).expect(200).body;
    assert_eq!((listed["data"][0]["uses"].as_i64(), listed["data"][0]["state"].as_str()), (Some(1), Some("active")));
    assert!(listed["data"][0].get("token").is_none(), "a listed link never shows its token: {listed}");

    // The audit log says how she came in; /v1/authorize answers for her at once.
    let log = api.audit_log(f.owner(), Tenant::Org(&f.org)).expect(200).body;
    let joined =
        log["data"].as_array().unwrap().iter().find(|e| e["action"] == "member.joined").expect("member.joined");
    assert_eq!((joined["data"]["via"].as_str(), joined["data"]["role"].as_str()), (Some("join_link"), Some("member")));
    let decision = api.authorize(&dana, "org:read", &f.org).expect(200).body;
    assert_eq!(
        (decision["allowed"].as_bool(), decision["via"]["joined_via"].as_str()),
        (Some(true), Some("join_link"))
    );
    let owner = api.authorize(f.owner(), "org:read", &f.org).expect(200).body;
    assert_eq!(owner["via"]["joined_via"], "created", "{owner}");
}

#[test]
fn a_link_never_makes_owners_nor_comes_from_a_member() {
    let f = world();
    let api = f.api();
    api.create_join_link(f.owner(), &f.org, json!({"role": "owner"})).expect_problem(422, "validation_failed");
    api.create_join_link(f.who("member"), &f.org, json!({"role": "member"})).expect_problem(403, "forbidden");
    for bad in [
        json!({"role": "member", "expires_in_days": 31}),
        json!({"role": "member", "expires_in_days": 0}),
        json!({"role": "member", "max_uses": 0}),
        json!({"role": "member", "allowed_domains": ["*.example.com"]}),
        json!({"role": "member", "allowed_domains": ["not a domain"]}),
        json!({"role": "king"}),
    ] {
        api.create_join_link(f.owner(), &f.org, bad.clone()).expect_problem(422, "validation_failed");
    }
    // An admin may share admin links (admins invite admins).
    let admin_link = api.create_join_link(f.who("admin"), &f.org, json!({"role": "admin"})).expect(201).body;
    let eve = api.verified("eve@example.com");
    assert_eq!(api.accept_join_link(&eve, &token(&admin_link)).expect(201).body["role"], "admin");
    // A key hands out only roles its scopes cover (as for invitations): one
    // with a member's permissions shares member links, never admin ones.
    let key = api.create_key(f.owner(), &f.org, "ci", &MEMBER_SCOPES).expect(201).body;
    let key = key["key"].as_str().unwrap();
    api.create_join_link(key, &f.org, json!({"role": "admin"})).expect_problem(403, "scope_exceeds_role");
    let by_key = api.create_join_link(key, &f.org, json!({"role": "member"})).expect(201).body;
    assert_eq!(by_key["created_by"], Value::Null, "a key's link has no creator: {by_key}");
    let listed = api.join_links(f.owner(), &f.org).expect(200).body;
    let listed = listed["data"].as_array().unwrap().iter().find(|l| l["id"] == by_key["id"]).cloned();
    assert_eq!(listed, Some(as_listed(&by_key, &["token", "url"])));
}

#[test]
fn a_restricted_link_admits_only_verified_addresses_on_its_exact_domains() {
    let f = world();
    let api = f.api();
    let body = json!({"role": "member", "allowed_domains": ["Acme.test", "acme.test"]});
    let link = api.create_join_link(f.owner(), &f.org, body).expect(201).body;
    assert_eq!(link["allowed_domains"], json!(["acme.test"]), "lower-cased, once");
    let sub = api.verified("sam@eu.acme.test");
    assert_eq!(api.preview_join_link(Some(&sub), &token(&link)).expect(200).body["eligibility"], "domain_not_allowed");
    api.accept_join_link(&sub, &token(&link)).expect_problem(403, "join_link_domain_mismatch");
    let lookalike = api.verified("lou@acme.test.evil.example");
    api.accept_join_link(&lookalike, &token(&link)).expect_problem(403, "join_link_domain_mismatch");
    let ann = api.verified("ann@acme.test");
    api.accept_join_link(&ann, &token(&link)).expect(201);
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "sam@eu.acme.test"), None);
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "lou@acme.test.evil.example"), None);
    let listed = api.join_links(f.owner(), &f.org).expect(200).body;
    assert_eq!(listed["data"][0]["uses"], 1, "refusals spend no use: {listed}");
}

#[test]
fn caps_expiry_and_revocation_stop_new_joins_and_keep_those_who_joined() {
    let f = world();
    let api = f.api();
    let capped = api.create_join_link(f.owner(), &f.org, json!({"role": "member", "max_uses": 1})).expect(201).body;
    let first = api.verified("first@example.com");
    let second = api.verified("second@example.com");
    api.accept_join_link(&first, &token(&capped)).expect(201);
    api.accept_join_link(&second, &token(&capped)).expect_problem(410, "join_link_unavailable");
    api.preview_join_link(None, &token(&capped)).expect_problem(410, "join_link_unavailable");
    assert_eq!(api.join_links(f.owner(), &f.org).expect(200).body["data"][0]["state"], "used_up");

    let open = api.create_join_link(f.owner(), &f.org, json!({"role": "member"})).expect(201).body;
    api.accept_join_link(&second, &token(&open)).expect(201);
    api.revoke_join_link(f.owner(), &f.org, open["id"].as_str().unwrap()).expect(204);
    api.revoke_join_link(f.owner(), &f.org, open["id"].as_str().unwrap()).expect_problem(404, "not_found");
    let third = api.verified("third@example.com");
    api.accept_join_link(&third, &token(&open)).expect_problem(410, "join_link_unavailable");
    assert!(is_member(&f.app, f.owner(), &f.org, "second@example.com").is_some(), "revoking keeps who joined");
    assert!(is_member(&f.app, f.owner(), &f.org, "first@example.com").is_some());
    api.accept_join_link(&third, "not-a-token").expect_problem(404, "join_link_not_found");

    // A day's link, a day later (signed in again: access tokens are short).
    let short =
        api.create_join_link(f.owner(), &f.org, json!({"role": "member", "expires_in_days": 1})).expect(201).body;
    f.app.advance(86_400);
    let third = api.login("third@example.com", PASSWORD).expect(200).body;
    api.accept_join_link(&third, &token(&short)).expect_problem(410, "join_link_unavailable");
}

#[test]
fn another_orgs_admin_can_neither_see_nor_revoke_a_link() {
    let f = world();
    let api = f.api();
    let link = api.create_join_link(f.owner(), &f.org, json!({"role": "member"})).expect(201).body;
    let mallory = api.verified("mallory@example.com");
    let other = api.create_org(&mallory, "Other").expect(201).id();
    let id = link["id"].as_str().unwrap();
    api.revoke_join_link(&mallory, &other, id).expect_problem(404, "not_found");
    api.revoke_join_link(&mallory, &f.org, id).expect_problem(404, "not_found");
    api.join_links(&mallory, &f.org).expect_problem(404, "not_found");
    assert_eq!(api.join_links(&mallory, &other).expect(200).body["data"], json!([]));
    assert_eq!(api.join_links(f.owner(), &f.org).expect(200).body["data"][0]["state"], "active");
}

#[test]
fn signing_up_through_a_link_joins_once_the_address_is_verified() {
    let f = world();
    let api = f.api();
    let link = api.create_join_link(f.owner(), &f.org, json!({"role": "member"})).expect(201).body;
    api.signup_through_join_link("new@example.com", PASSWORD, &token(&link)).expect(202);
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "new@example.com"), None, "not before the address is proven");
    let verify = api.emailed_token("new@example.com", "/verify-email", 1);
    let session = api.verify_email(&verify, PASSWORD).expect(200).body;
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "new@example.com").as_deref(), Some("member"));
    assert_eq!(api.authorize(&session, "org:read", &f.org).expect(200).body["allowed"], true);
}

#[test]
fn someone_elses_sign_up_with_a_link_cannot_make_the_address_owner_join() {
    let f = world();
    let api = f.api();
    // Mallory's org and link; the victim signs up on her own.
    let mallory = api.verified("mallory@example.com");
    let trap = api.create_org(&mallory, "Trap").expect(201).id();
    let link = api.create_join_link(&mallory, &trap, json!({"role": "member"})).expect(201).body;
    api.signup("victim@example.com", PASSWORD, "Victim").expect(202);
    let own = api.emailed_token("victim@example.com", "/verify-email", 1);
    // Mallory signs up again with the victim's address and her link.
    api.signup_through_join_link("victim@example.com", "mallorys password 1", &token(&link)).expect(202);
    // The victim verifies with her own link: she joins nothing.
    let session = api.verify_email(&own, PASSWORD).expect(200).body;
    let members = member_ids(&f.app, &mallory, &trap);
    assert!(!members.iter().any(|(e, _)| e == "victim@example.com"), "{members:?}");
    assert_eq!(api.orgs(&session).expect(200).body["data"], json!([]));
}

#[test]
fn a_sign_up_whose_link_stopped_working_is_verified_but_joins_nothing() {
    let f = world();
    let api = f.api();
    let link = api
        .create_join_link(f.owner(), &f.org, json!({"role": "member", "allowed_domains": ["acme.test"]}))
        .expect(201)
        .body;
    api.signup_through_join_link("out@elsewhere.test", PASSWORD, &token(&link)).expect(202);
    let verify = api.emailed_token("out@elsewhere.test", "/verify-email", 1);
    api.verify_email(&verify, PASSWORD).expect(200);
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "out@elsewhere.test"), None);
    let listed = api.join_links(f.owner(), &f.org).expect(200).body;
    assert_eq!(listed["data"][0]["uses"], 0);
}

#[test]
fn a_link_that_needs_approval_makes_requests_an_admin_approves_or_denies() {
    let f = world();
    let api = f.api();
    let body = json!({"role": "member", "approval": true, "max_uses": 2});
    let link = api.create_join_link(f.who("admin"), &f.org, body).expect(201).body;
    assert_eq!(link["approval"], true);
    let (ann, bob, cy) =
        (api.verified("ann@example.com"), api.verified("bob@example.com"), api.verified("cy@example.com"));
    assert_eq!(api.preview_join_link(Some(&ann), &token(&link)).expect(200).body["approval"], true);
    let asked = api.accept_join_link(&ann, &token(&link)).expect(202).body;
    assert_eq!((asked["status"].as_str(), asked["via"].as_str()), (Some("pending"), Some("join_link")));
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "ann@example.com"), None, "asking is not joining");
    // One pending request per person and org.
    assert_eq!(api.preview_join_link(Some(&ann), &token(&link)).expect(200).body["eligibility"], "request_pending");
    api.accept_join_link(&ann, &token(&link)).expect_problem(409, "membership_request_exists");
    let bobs = api.accept_join_link(&bob, &token(&link)).expect(202).body;
    // The requests take the uses: a third person finds the link used up.
    api.accept_join_link(&cy, &token(&link)).expect_problem(410, "join_link_unavailable");

    // Members do not decide; admins see the pending requests.
    let ann_req = asked["id"].as_str().unwrap();
    api.approve_membership_request(f.who("member"), &f.org, ann_req, "member").expect_problem(403, "forbidden");
    api.membership_requests(f.who("member"), &f.org, None).expect_problem(403, "forbidden");
    let pending = api.membership_requests(f.who("admin"), &f.org, Some("pending")).expect(200).body;
    assert_eq!(pending["data"].as_array().unwrap().len(), 2, "{pending}");
    api.approve_membership_request(f.who("admin"), &f.org, ann_req, "owner").expect_problem(422, "validation_failed");
    let approved = api.approve_membership_request(f.who("admin"), &f.org, ann_req, "admin").expect(200).body;
    assert_eq!((approved["status"].as_str(), approved["role"].as_str()), (Some("approved"), Some("admin")));
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "ann@example.com").as_deref(), Some("admin"));
    // Decided once, whoever clicks next.
    api.deny_membership_request(f.owner(), &f.org, ann_req).expect_problem(409, "membership_request_not_pending");
    api.approve_membership_request(f.owner(), &f.org, ann_req, "member")
        .expect_problem(409, "membership_request_not_pending");
    let bob_req = bobs["id"].as_str().unwrap();
    assert_eq!(api.deny_membership_request(f.owner(), &f.org, bob_req).expect(200).body["status"], "denied");
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "bob@example.com"), None);

    // Each person sees their own requests, and is told by email.
    let mine = api.my_membership_requests(&bob).expect(200).body;
    assert_eq!(
        (mine["data"][0]["status"].as_str(), mine["data"][0]["org"]["name"].as_str()),
        (Some("denied"), Some("Acme"))
    );
    let mails = f.app.emails_to("ann@example.com");
    assert!(mails.iter().any(|m| m["subject"].as_str().unwrap_or("").contains("You joined Acme")), "{mails:?}");
    let mails = f.app.emails_to("bob@example.com");
    assert!(mails.iter().any(|m| m["text"].as_str().unwrap_or("").contains("was declined")), "{mails:?}");
    // The log says who joined how.
    let log = api.audit_log(f.owner(), Tenant::Org(&f.org)).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["membership_request.created", "membership_request.approved", "membership_request.denied"] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
}

#[test]
fn a_person_withdraws_only_their_own_pending_request_and_another_org_cannot_decide_it() {
    let f = world();
    let api = f.api();
    let link = api.create_join_link(f.owner(), &f.org, json!({"role": "member", "approval": true})).expect(201).body;
    let ann = api.verified("ann@example.com");
    let id = api.accept_join_link(&ann, &token(&link)).expect(202).body["id"].as_str().unwrap().to_owned();
    let mallory = api.verified("mallory@example.com");
    let other = api.create_org(&mallory, "Other").expect(201).id();
    api.approve_membership_request(&mallory, &other, &id, "member").expect_problem(404, "not_found");
    api.deny_membership_request(&mallory, &f.org, &id).expect_problem(404, "not_found");
    api.withdraw_membership_request(&mallory, &id).expect_problem(404, "not_found");
    assert_eq!(api.my_membership_requests(&mallory).expect(200).body["data"], json!([]));
    api.withdraw_membership_request(&ann, &id).expect(204);
    api.withdraw_membership_request(&ann, &id).expect_problem(409, "membership_request_not_pending");
    api.approve_membership_request(f.owner(), &f.org, &id, "member")
        .expect_problem(409, "membership_request_not_pending");
    assert_eq!(is_member(&f.app, f.owner(), &f.org, "ann@example.com"), None);
    // Withdrawn, she may ask again.
    api.accept_join_link(&ann, &token(&link)).expect(202);
}
