//! Runtime test of SAML single sign-on (issue 24): the built Worker under
//! `wrangler dev` reads the fake SAML IdP's metadata over a real fetch from
//! workerd (tests/support/saml_idp.rs, on loopback: development only), sends
//! the browser there with an AuthnRequest, and verifies at its ACS the
//! Response that Debian's `xmlsec1` signed with the IdP's own key; the
//! attacks that need the running Worker (another browser, a replay, a
//! tampered response) are refused there too; Chromium signs in from the
//! console's sign-in page.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_dns::FakeDns;
use crate::saml_idp::{KeyKind, SamlIdp};
use crate::support;

use serde_json::{json, Value};
use support::*;

fn cookies_of(r: &Resp) -> String {
    let all: Vec<String> = r
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.split(';').next().unwrap().to_owned())
        .collect();
    all.join("; ")
}

#[test]
fn a_saml_sign_in_in_workerd_verifies_the_xmlsec1_signature_and_joins_just_in_time() {
    let (dns, idp) = (FakeDns::start(), SamlIdp::serve(KeyKind::Rsa));
    let w = Worker::start_with(WorkerOptions { vars: dns.worker_vars() });
    let api = w.api();
    let owner = api.verified("owner@acme.test");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let d = api.add_domain(&owner, &org, "acme.test").expect(201).body;
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    api.verify_domain(&owner, &org, d["id"].as_str().unwrap()).expect(200);
    // The owner connects the IdP in the console by its metadata URL (read
    // by workerd), and reads our SP metadata URL to give the IdP.
    let said =
        browser("console-saml.mjs", &[&w.url(""), &owner.email, PASSWORD, &org, &idp.metadata_url()], "console-saml");
    let list = w.get(&format!("/v1/orgs/{org}/sso-connections"), Some(&owner.token())).json();
    let conn = list["data"][0].clone();
    let conn_id = conn["id"].as_str().unwrap().to_owned();
    assert_eq!(said.trim(), w.url(&format!("/v1/sso/{conn_id}/metadata")), "the SP metadata URL shown");
    assert_eq!(conn["type"], "saml");
    assert_eq!(conn["domains"], json!(["acme.test"]));
    assert_eq!(conn["issuer"], format!("{}/saml", idp.base()));
    assert_eq!(conn["redirect_uri"], w.url(&format!("/v1/sso/{conn_id}/acs")));
    let meta = w.get(&format!("/v1/sso/{conn_id}/metadata"), None);
    assert_eq!(meta.status, 200);
    assert!(meta.raw.contains(&format!("Location=\"{}\"", w.url(&format!("/v1/sso/{conn_id}/acs")))), "{}", meta.raw);

    // A browser's trip without Chromium: authorize, the IdP, our ACS.
    let page = w.url("/signin");
    let start = || {
        let r = w.get(&format!("/v1/auth/sso/{conn_id}/authorize?redirect_uri={}", url_encode(&page)), None);
        assert_eq!(r.status, 302, "{}", r.body);
        (r.header("location").unwrap().to_owned(), cookies_of(&r))
    };
    let acs = |form: &str, cookies: &str| {
        let path = format!("/v1/sso/{conn_id}/acs");
        let headers = [("Cookie", cookies), ("Content-Type", "application/x-www-form-urlencoded")];
        w.send("POST", &path, None, &headers, Some(form.as_bytes()))
    };
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (url, cookies) = start();
    let (_, form) = idp.idp.answer(&url, "kim@acme.test", now());
    // Another browser (no cookie of this flow) is refused, the flow kept.
    assert_eq!(acs(&form, "latchkey_saml=elsewhere").status, 400);
    // Tampered after signing: an error for the page, no code.
    let (url2, cookies2) = start();
    let (_, form2) = idp.idp.answer(&url2, "kim@acme.test", now());
    let xml = {
        use base64::Engine;
        let raw: Vec<(String, String)> = form_urlencoded::parse(form2.as_bytes()).into_owned().collect();
        let b = base64::engine::general_purpose::STANDARD.decode(&raw[0].1).unwrap();
        String::from_utf8(b).unwrap().replace("kim@acme.test", "owner@acme.test")
    };
    let forged = crate::saml_idp::form_body(&xml, None);
    let r = acs(&forged, &cookies2);
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(r.header("location").unwrap().ends_with("#error=provider_error"), "{:?}", r.header("location"));
    // The real one, in its own browser.
    let r = acs(&form, &cookies);
    assert_eq!(r.status, 302, "{}\n{}", r.body, w.log_tail());
    let location = r.header("location").unwrap().to_owned();
    let code = location.split_once("#login_code=").unwrap_or_else(|| panic!("{location}\n{}", w.log_tail())).1;
    // Replayed: the flow is spent.
    assert_eq!(acs(&form, &cookies).status, 400);
    let body = json!({"login_code": code}).to_string();
    let session = w.send(
        "POST",
        "/v1/auth/oauth/complete",
        None,
        &[("Cookie", &cookies), ("Content-Type", "application/json")],
        Some(body.as_bytes()),
    );
    assert_eq!(session.status, 200, "{}", session.body);
    let session: Value = session.json();
    assert_eq!(session["user"]["email"], "kim@acme.test");
    let kim = session["access_token"].as_str().unwrap().to_owned();
    let orgs = w.get("/v1/orgs", Some(&kim)).json();
    assert_eq!(orgs["data"][0]["id"], org.as_str(), "joined just in time: {orgs}");
    let sessions = w.get("/v1/me/sessions", Some(&kim)).json();
    assert_eq!(sessions["data"][0]["method"], format!("sso:{conn_id}"));

    // Chromium, from the console's sign-in page.
    idp.sign_in("lee@acme.test");
    let said = browser("saml.mjs", &[&w.url(""), "lee@acme.test", "Acme"], "saml");
    assert!(said.contains("signed in through SAML"), "{said}");
}
