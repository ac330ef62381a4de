//! Runtime tests of SCIM provisioning (issue 24): the built Worker under
//! `wrangler dev`, on a domain verified through the fake DNS resolver. An
//! owner creates a SCIM token; the directory provisions a person, who signs
//! in and reads the org; the directory deactivates them, and their next
//! request to the org is refused. Two owners deactivated at the same moment,
//! from two threads: one of them stays. The console's SCIM section
//! (tests/browser/console-scim.mjs) creates and revokes tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_dns::FakeDns;
use crate::support;

use serde_json::{json, Value};
use support::*;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The owner's org "Acme" with `acme.test` verified: `(owner, org)`.
fn acme_org(w: &Worker, dns: &FakeDns) -> (Person, String) {
    let api = w.api();
    let owner = api.verified("owner@acme.test");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let d = api.add_domain(&owner, &org, "acme.test").expect(201).body;
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    api.verify_domain(&owner, &org, d["id"].as_str().unwrap()).expect(200);
    (owner, org)
}

/// [`acme_org`] and a SCIM token: `(owner, org, token)`.
fn acme(w: &Worker, dns: &FakeDns) -> (Person, String, String) {
    let (owner, org) = acme_org(w, dns);
    let created = w.post(&format!("/v1/orgs/{org}/scim-tokens"), Some(&owner.token()), json!({"name": "Okta"}));
    let token = created.expect(201).body["token"].as_str().unwrap().to_owned();
    (owner, org, token)
}

fn scim(w: &Worker, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
    let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
    let headers = [("Content-Type", "application/scim+json")];
    w.send(method, path, Some(token), &headers, bytes.as_deref())
}

fn deactivate(w: &Worker, token: &str, org: &str, id: &str) -> Resp {
    let off = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    scim(w, token, "PATCH", &format!("/scim/v2/{org}/Users/{id}"), Some(off))
}

#[test]
fn a_provisioned_person_signs_in_reads_the_org_and_loses_it_when_the_directory_deactivates_them() {
    let dns = FakeDns::start();
    let w = Worker::start_with(WorkerOptions { vars: dns.worker_vars() });
    let (owner, org, token) = acme(&w, &dns);
    let lee = w.api().verified("lee@acme.test");

    // Okta's sequence: look up, nothing, create.
    let filter = url_encode(r#"userName eq "lee@acme.test""#);
    let found = scim(&w, &token, "GET", &format!("/scim/v2/{org}/Users?filter={filter}&startIndex=1&count=100"), None);
    assert_eq!(found.status, 200, "{}\n{}", found.raw, w.log_tail());
    assert_eq!(found.header("content-type"), Some("application/scim+json"));
    assert_eq!(found.json()["totalResults"], 0);
    let body = json!({"schemas": [USER], "userName": "lee@acme.test", "name": {"givenName": "Lee", "familyName": "Park"},
                      "emails": [{"primary": true, "value": "lee@acme.test", "type": "work"}], "active": true});
    let created = scim(&w, &token, "POST", &format!("/scim/v2/{org}/Users"), Some(body));
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(id, lee.id());

    // The person signs in and reads the org.
    let session = w.api().login("lee@acme.test", PASSWORD).expect(200).body;
    let bearer = access(&session);
    let seen = w.get(&format!("/v1/orgs/{org}"), Some(&bearer)).expect(200).body;
    assert_eq!(seen["role"], "member", "{seen}");
    // Read-only through the API.
    w.api().change_role(&owner, Tenant::Org(&org), &id, "admin").expect_problem(409, "managed_by_scim");

    // Entra's deactivation; the very next request is refused.
    let off = deactivate(&w, &token, &org, &id);
    assert_eq!(off.status, 200, "{}", off.raw);
    assert_eq!(off.json()["active"], false);
    w.get(&format!("/v1/orgs/{org}"), Some(&bearer)).expect_problem(404, "not_found");

    // Audited, the token the actor.
    let log = w.get(&format!("/v1/orgs/{org}/audit-log"), Some(&owner.token())).expect(200).body;
    let removed = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "member.removed").unwrap().clone();
    assert_eq!(removed["actor"]["kind"], "scim_token", "{removed}");

    // The owner revokes the token: the directory is refused, in SCIM's shape.
    let tokens = w.get(&format!("/v1/orgs/{org}/scim-tokens"), Some(&owner.token())).expect(200).body;
    let token_id = tokens["data"][0]["id"].as_str().unwrap();
    w.send("DELETE", &format!("/v1/orgs/{org}/scim-tokens/{token_id}"), Some(&owner.token()), &[], None).expect(204);
    let refused = scim(&w, &token, "GET", &format!("/scim/v2/{org}/Users"), None);
    assert_eq!((refused.status, refused.code()), (401, "invalid_scim_token"), "{}", refused.raw);
    assert_eq!(refused.json()["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(refused.json()["status"], "401");
}

#[test]
fn the_owner_creates_and_revokes_scim_tokens_in_the_console() {
    let dns = FakeDns::start();
    let w = Worker::start_with(WorkerOptions { vars: dns.worker_vars() });
    let (owner, org) = acme_org(&w, &dns);
    let said = browser("console-scim.mjs", &[&w.url(""), &owner.email, PASSWORD, &org], "console-scim");
    let token = said.trim();
    assert!(token.starts_with("lk_scim_"), "{said}");
    // The token the console showed works for the directory.
    let r = scim(&w, token, "GET", &format!("/scim/v2/{org}/ServiceProviderConfig"), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    // The spare one was revoked: one token left, the one shown.
    let listed = w.get(&format!("/v1/orgs/{org}/scim-tokens"), Some(&owner.token())).expect(200).body;
    let data = listed["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{listed}");
    assert_eq!(data[0]["name"], "Okta");
    assert!(token.starts_with(data[0]["start"].as_str().unwrap()));
}

#[test]
fn two_owners_deactivated_at_the_same_moment_leave_one_owner() {
    let dns = FakeDns::start();
    let w = Worker::start_with(WorkerOptions { vars: dns.worker_vars() });
    let (owner, org, token) = acme(&w, &dns);
    let api = w.api();
    let second = api.join(&owner, Tenant::Org(&org), "second@acme.test", "admin");
    api.transfer_ownership(&owner, &org, &second.id()).expect(200);
    // Both owners now (the first became admin by the transfer; make them owner again).
    api.change_role(&second, Tenant::Org(&org), &owner.id(), "owner").expect(200);
    let mut ids = Vec::new();
    for email in ["owner@acme.test", "second@acme.test"] {
        let r = scim(&w, &token, "POST", &format!("/scim/v2/{org}/Users"), Some(json!({"userName": email})));
        assert_eq!(r.status, 201, "{}", r.raw);
        assert_eq!(r.json()["roles"][0]["value"], "owner");
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let (wr, tr, or) = (&w, token.as_str(), org.as_str());
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let handles: Vec<_> = ids.iter().map(|id| s.spawn(move || deactivate(wr, tr, or, id))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{:?}", answers.iter().map(|r| &r.raw).collect::<Vec<_>>());
    let refused = answers.iter().find(|r| r.status == 409).unwrap();
    assert_eq!(refused.code(), "last_owner", "{}", refused.raw);
    let kept = kept_owner(&owner, &second, &answers, &ids);
    let members = api.members(&kept, Tenant::Org(&org)).expect(200).body;
    let owners = members["data"].as_array().unwrap().iter().filter(|m| m["role"] == "owner").count();
    assert_eq!(owners, 1, "{members}");
}

/// The owner who stayed (the one whose deactivation was refused).
fn kept_owner(first: &Person, second: &Person, answers: &[Resp], ids: &[String]) -> Person {
    let kept = ids.iter().zip(answers).find(|(_, r)| r.status == 409).map(|(id, _)| id.clone()).unwrap();
    if kept == first.id() {
        first.clone()
    } else {
        second.clone()
    }
}
