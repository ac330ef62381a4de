//! Runtime tests of verified domains: the built Worker under `wrangler dev`
//! (real outgoing fetches from workerd, real D1), its `DNS_OVER_HTTPS_URL`
//! pointing at the fake resolver this test serves on a loopback port
//! (tests/support/fake_dns.rs), started before the Worker; the daily
//! re-check through the Cron Trigger (`/__scheduled`, the harness runs
//! `wrangler dev --test-scheduled`) with `DOMAIN_RECHECK_SECONDS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_dns::FakeDns;
use crate::fake_provider::{FakeProvider, FakeUser};
use crate::support;

use serde_json::{json, Value};
use std::thread;
use std::time::{Duration, Instant};
use support::*;

fn worker(dns: &FakeDns, extra: Vec<(String, String)>) -> Worker {
    let mut vars = dns.worker_vars();
    vars.push(("DOMAIN_RECHECK_SECONDS".into(), "1".into()));
    vars.extend(extra);
    Worker::start_with(WorkerOptions { vars })
}

/// Adds `domain` to `org` and publishes its record: the domain's id.
fn add_and_publish(w: &Worker, dns: &FakeDns, owner: &Person, org: &str, domain: &str) -> String {
    let d = w.api().add_domain(owner, org, domain).expect(201).body;
    assert_eq!(d["state"], "pending");
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    d["id"].as_str().unwrap().to_owned()
}

fn member_ids(w: &Worker, owner: &Person, org: &str) -> Vec<String> {
    let r = w.api().members(owner, Tenant::Org(org)).expect(200).body;
    r["data"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap_or_default().to_owned()).collect()
}

fn actions(w: &Worker, owner: &Person, org: &str) -> Vec<Value> {
    w.api().audit_log(owner, Tenant::Org(org)).expect(200).body["data"].as_array().unwrap().clone()
}

#[test]
fn verify_claim_lapse_auto_join_and_suggest_in_workerd() {
    let dns = FakeDns::start();
    let w = worker(&dns, Vec::new());
    let api = w.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();

    // Verify: nothing published, then the record.
    let d = api.add_domain(&owner, &org, "Acme.Test").expect(201).body;
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(d["txt_name"], "_latchkey-verification.acme.test");
    api.verify_domain(&owner, &org, &id).expect_problem(422, "domain_not_verified");
    dns.set_txt("_latchkey-verification.acme.test", &[d["txt_value"].as_str().unwrap()]);
    assert_eq!(api.verify_domain(&owner, &org, &id).expect(200).body["state"], "verified");
    assert!(dns.asked().contains(&"_latchkey-verification.acme.test".to_owned()), "workerd asked the fake");
    api.add_domain(&owner, &org, "gmail.com").expect_problem(422, "public_email_domain");

    // Two orgs verifying one domain at the same moment: one wins.
    let a = api.verified("a@example.org");
    let b = api.verified("b@example.org");
    let (org_a, org_b) = (api.create_org(&a, "A").expect(201).id(), api.create_org(&b, "B").expect(201).id());
    let da = api.add_domain(&a, &org_a, "contested.test").expect(201).body;
    let db = api.add_domain(&b, &org_b, "contested.test").expect(201).body;
    dns.set_txt(
        "_latchkey-verification.contested.test",
        &[da["txt_value"].as_str().unwrap(), db["txt_value"].as_str().unwrap()],
    );
    let (ra, rb) = thread::scope(|s| {
        let ta = s.spawn(|| w.api().verify_domain(&a, &org_a, da["id"].as_str().unwrap()));
        let tb = s.spawn(|| w.api().verify_domain(&b, &org_b, db["id"].as_str().unwrap()));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let mut statuses = [(ra.status, ra.code().to_owned()), (rb.status, rb.code().to_owned())];
    statuses.sort();
    assert_eq!(statuses, [(200, String::new()), (409, "domain_claimed".into())], "{} / {}", ra.raw, rb.raw);

    // Auto-join at sign-up + verification, with the domain's role.
    api.update_domain(&owner, &org, &id, json!({"enrollment": "auto_join", "role": "member"})).expect(200);
    let ada = api.verified("ada@acme.test");
    assert!(member_ids(&w, &owner, &org).contains(&ada.id()), "ada joined");
    api.org(&ada, &org).expect(200);
    let joined = actions(&w, &owner, &org).into_iter().find(|e| e["action"] == "member.joined").expect("joined");
    assert_eq!(joined["data"], json!({"via": "domain", "domain": "acme.test", "role": "member"}));
    // An attacker with an unverified address on the domain gets nothing.
    api.signup("mallory@acme.test", PASSWORD, "Mallory").expect(202);
    api.login("mallory@acme.test", PASSWORD).expect_problem(403, "email_not_verified");
    assert_eq!(member_ids(&w, &owner, &org).len(), 2, "owner and ada only");
    // Removed, not re-added at the next sign-in.
    api.remove_member(&owner, Tenant::Org(&org), &ada.id()).expect(204);
    api.login("ada@acme.test", PASSWORD).expect(200);
    assert!(!member_ids(&w, &owner, &org).contains(&ada.id()), "ada stays out");

    // Suggest: listed for verified people on the domain who are not members.
    api.update_domain(&owner, &org, &id, json!({"enrollment": "suggest"})).expect(200);
    let bo = api.verified("bo@acme.test");
    assert!(!member_ids(&w, &owner, &org).contains(&bo.id()));
    let s = api.suggested_orgs(&bo).expect(200).body;
    assert_eq!((s["data"][0]["id"].as_str(), s["data"][0]["domain"].as_str()), (Some(&*org), Some("acme.test")));
    assert_eq!(api.suggested_orgs(&owner).expect(200).body["data"], json!([]));

    // Lapse: the record goes; the Cron Trigger's re-check (due after 1 s here) lapses it.
    dns.clear("_latchkey-verification.acme.test");
    thread::sleep(Duration::from_millis(1_100));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = w.get("/__scheduled?cron=*+*+*+*+*", None);
        assert_eq!(r.status, 200, "{}", r.raw);
        if api.domain(&owner, &org, &id).expect(200).body["state"] == "lapsed" {
            break;
        }
        assert!(Instant::now() < deadline, "not lapsed; log:\n{}", w.log_tail());
        thread::sleep(Duration::from_millis(300));
    }
    assert!(!w.log_tail().contains("domain re-check failed"), "{}", w.log_tail());
    let lapsed = actions(&w, &owner, &org).into_iter().find(|e| e["action"] == "domain.lapsed").expect("lapsed");
    assert_eq!(lapsed["actor"]["kind"], "system");
    assert_eq!(api.suggested_orgs(&bo).expect(200).body["data"], json!([]), "a lapsed domain suggests nothing");
}

#[test]
fn oauth_sign_in_joins_with_a_provider_verified_address_only() {
    let dns = FakeDns::start();
    let fake = FakeProvider::start();
    let w = worker(&dns, fake.worker_vars());
    let api = w.api();
    let owner = api.verified("owner@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let id = add_and_publish(&w, &dns, &owner, &org, "acme.test");
    api.verify_domain(&owner, &org, &id).expect(200);
    api.update_domain(&owner, &org, &id, json!({"enrollment": "auto_join"})).expect(200);

    let page = w.url("/signin");
    let sign_in = |user: FakeUser| -> Resp {
        fake.sign_in("github", user);
        let r = w.get(&format!("/v1/auth/oauth/github/authorize?redirect_uri={}", url_encode(&page)), None);
        assert_eq!(r.status, 302, "{}", r.raw);
        let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
        let back = fake.approve(r.header("location").unwrap());
        let path = back.strip_prefix(&w.url("")).unwrap().to_owned();
        let back = w.send("GET", &path, None, &[("Cookie", &cookie)], None);
        assert_eq!(back.status, 302, "{}", back.raw);
        let location = back.header("location").unwrap().to_owned();
        let code = location.split("login_code=").nth(1).unwrap_or_else(|| panic!("no code: {location}")).to_owned();
        let body = json!({"login_code": code}).to_string();
        let headers = [("Cookie", cookie.as_str()), ("Content-Type", "application/json")];
        w.send("POST", "/v1/auth/oauth/complete", None, &headers, Some(body.as_bytes()))
    };
    sign_in(FakeUser::unverified("7001", "mallory@acme.test")).expect_problem(403, "provider_email_unverified");
    assert_eq!(member_ids(&w, &owner, &org).len(), 1, "the owner only");
    let ada = sign_in(FakeUser::verified("7002", "ada@acme.test")).expect(200).body;
    assert!(member_ids(&w, &owner, &org).contains(&user_id(&ada)), "a provider-verified address joins");
}
