//! Runtime tests of single sign-on (issue 24): the built Worker under
//! `wrangler dev` reads the fake IdP's discovery document and exchanges the
//! code with it over real fetches from workerd (tests/support/fake_provider.rs,
//! `/idp`, on loopback: development only), on a domain verified through the
//! fake DNS resolver; Chromium signs in from the console's sign-in page.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_dns::FakeDns;
use crate::fake_provider::{FakeProvider, FakeUser, IDP_CLIENT};
use crate::support;

use serde_json::{json, Value};
use support::*;

/// The owner's org "Acme" with `acme.test` verified: `(owner, org)`.
fn acme(w: &Worker, dns: &FakeDns) -> (Person, String) {
    let api = w.api();
    let owner = api.verified("owner@acme.test");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let d = api.add_domain(&owner, &org, "acme.test").expect(201).body;
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    api.verify_domain(&owner, &org, d["id"].as_str().unwrap()).expect(200);
    (owner, org)
}

fn cookie_of(r: &Resp) -> String {
    r.header("set-cookie").unwrap_or_else(|| panic!("no set-cookie: {:?}", r.headers)).split(';').next().unwrap().into()
}

#[test]
fn an_sso_sign_in_in_workerd_joins_just_in_time_and_sso_required_refuses_passwords() {
    let (dns, fake) = (FakeDns::start(), FakeProvider::start());
    let w = Worker::start_with(WorkerOptions { vars: dns.worker_vars() });
    let (owner, org) = acme(&w, &dns);
    w.api().verified("lee@acme.test");
    // The owner connects the org's provider in the console.
    let said = browser(
        "console-sso.mjs",
        &[&w.url(""), &owner.email, PASSWORD, &org, &fake.idp_issuer(), IDP_CLIENT.1, IDP_CLIENT.2],
        "console-sso",
    );
    let list = w.get(&format!("/v1/orgs/{org}/sso-connections"), Some(&owner.token())).json();
    let conn = &list["data"][0];
    let conn_id = conn["id"].as_str().unwrap();
    assert_eq!(said.trim(), w.url(&format!("/v1/auth/sso/{conn_id}/callback")), "the redirect URI shown");
    assert_eq!(conn["domains"], json!(["acme.test"]));
    assert_eq!(list["sso_required"], true, "required from the console: {list}");

    let look = w.post("/v1/auth/sso/lookup", None, json!({"email": "Kim@ACME.test"})).json();
    assert_eq!(look["sso"], true, "{look}");
    // The browser's trip: authorize, the IdP's approval, our callback.
    fake.sign_in("idp", FakeUser::verified("idp-kim", "kim@acme.test"));
    let page = w.url("/signin");
    let authorize = look["authorize_url"].as_str().unwrap().strip_prefix(&w.url("")).unwrap().to_owned();
    let r = w.get(&format!("{authorize}?redirect_uri={}", url_encode(&page)), None);
    assert_eq!(r.status, 302, "{}", r.body);
    let cookie = cookie_of(&r);
    let back = fake.approve(r.header("location").unwrap());
    let path = back.strip_prefix(&w.url("")).unwrap().to_owned();
    let r = w.send("GET", &path, None, &[("Cookie", &cookie)], None);
    assert_eq!(r.status, 302, "{}\n{}", r.body, w.log_tail());
    let location = r.header("location").unwrap().to_owned();
    let code = location.split_once("#login_code=").unwrap_or_else(|| panic!("{location}\n{}", w.log_tail())).1;
    let body = json!({"login_code": code}).to_string();
    let complete = |cookie: &str| {
        w.send(
            "POST",
            "/v1/auth/oauth/complete",
            None,
            &[("Cookie", cookie), ("Content-Type", "application/json")],
            Some(body.as_bytes()),
        )
    };
    // Planted in another browser: refused, unspent; then in its own.
    assert_eq!(complete("latchkey_oauth=elsewhere").status, 400);
    let session = complete(&cookie);
    assert_eq!(session.status, 200, "{}", session.body);
    let session: Value = session.json();
    assert_eq!(session["user"]["email"], "kim@acme.test");
    let kim = session["access_token"].as_str().unwrap().to_owned();
    let orgs = w.get("/v1/orgs", Some(&kim)).json();
    assert_eq!(orgs["data"][0]["id"], org.as_str(), "joined just in time: {orgs}");
    assert_eq!(orgs["data"][0]["role"], "member");
    let sessions = w.get("/v1/me/sessions", Some(&kim)).json();
    assert_eq!(sessions["data"][0]["method"], format!("sso:{conn_id}"));

    // SSO is required: a password sign-in on the domain is refused, the
    // owner's own (no 2FA) too; SSO still works.
    let api = w.api();
    api.login("lee@acme.test", PASSWORD).expect_problem(403, "sso_required");
    api.login("owner@acme.test", PASSWORD).expect_problem(403, "sso_required");
    assert_eq!(w.post("/v1/auth/sso/lookup", None, json!({"email": "lee@acme.test"})).json()["required"], true);

    // Chromium, from the console's sign-in page.
    fake.sign_in("idp", FakeUser::verified("idp-lee", "lee@acme.test"));
    let said = browser("sso.mjs", &[&w.url(""), "lee@acme.test", "Acme"], "sso");
    assert!(said.contains("signed in through SSO"), "{said}");
}
