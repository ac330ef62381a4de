//! Single sign-on through an org's own OpenID provider (issue 24), over the
//! real router and SQLite, against the fake IdP (tests/support/fake_provider.rs,
//! `/idp`) and the fake DNS resolver that verifies the org's domain: who may
//! configure it, the domains it may claim, the sign-in (just-in-time
//! membership, session method), `sso_required` with its break glass, and the
//! attacks (another connection's flow, another browser, an address off the
//! connection's domains, a lapsed domain).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::client::totp_code;
use crate::fake_dns::FakeDns;
use crate::fake_provider::{FakeProvider, FakeUser, IDP_CLIENT};
use crate::testapp::*;
use latchkey::stmt;
use serde_json::{json, Value};

type Fixture = crate::testapp::Fixture<TestApp>;

const SIGNIN: &str = "http://app.test/signin";

struct Sso {
    f: Fixture,
    fake: FakeProvider,
    dns: FakeDns,
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn fragment(location: &str, key: &str) -> Option<String> {
    let (_, frag) = location.split_once('#')?;
    form_urlencoded::parse(frag.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

fn cookie_of(r: &Resp) -> String {
    r.header("set-cookie")
        .unwrap_or_else(|| panic!("no set-cookie: {:?}", r.headers))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Acme (owner, admin, member @example.com) with `example.com` verified.
fn acme() -> Sso {
    let fake = FakeProvider::start();
    let dns = FakeDns::start();
    let mut vars = dns.worker_vars();
    vars.extend(fake.worker_vars());
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let f = Fixture::new(TestApp::with_config(config_with(&refs))).org_with("Acme", &["admin", "member"]);
    verify(&f, &dns, "example.com");
    Sso { f, fake, dns }
}

fn verify(f: &Fixture, dns: &FakeDns, domain: &str) -> String {
    verify_as(f, f.owner(), &f.org, dns, domain)
}

/// `owner` adds and verifies `domain` for `org`.
fn verify_as(f: &Fixture, owner: &Person, org: &str, dns: &FakeDns, domain: &str) -> String {
    let d = f.api().add_domain(owner, org, domain).expect(201).body;
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    let id = d["id"].as_str().unwrap().to_owned();
    f.api().verify_domain(owner, org, &id).expect(200);
    id
}

fn connection_body(fake: &FakeProvider, domains: &[&str]) -> Value {
    json!({"type": "oidc", "issuer": fake.idp_issuer(), "client_id": IDP_CLIENT.1, "client_secret": IDP_CLIENT.2,
           "domains": domains, "default_role": "member"})
}

fn create(s: &Sso, who: &Person, body: Value) -> Resp {
    s.f.app.call("POST", &format!("/v1/orgs/{}/sso-connections", s.f.org), Some(&access(&who.session)), Some(body))
}

fn connection(s: &Sso) -> String {
    let c = create(s, s.f.owner(), connection_body(&s.fake, &["example.com"])).expect(201).body;
    c["id"].as_str().unwrap().to_owned()
}

/// A login code from a whole flow through `conn` as the IdP's current user,
/// and the flow cookie of the browser that ran it; or the `#error=`.
fn flow(s: &Sso, conn: &str) -> Result<(String, String), String> {
    let app = &s.f.app;
    let r = app.get(&format!("/v1/auth/sso/{conn}/authorize?redirect_uri={}", enc(SIGNIN)), None).expect(302);
    let cookie = cookie_of(&r);
    let back = s.fake.approve(r.header("location").unwrap());
    let path = back.strip_prefix("http://app.test").expect("our callback");
    assert!(path.starts_with(&format!("/v1/auth/sso/{conn}/callback?")), "{path}");
    let r = app.call_with("GET", path, None, None, &[("cookie", cookie.as_str())]).expect(302);
    let location = r.header("location").unwrap().to_owned();
    assert!(location.starts_with(&format!("{SIGNIN}#")), "{location}");
    match fragment(&location, "login_code") {
        Some(code) => Ok((code, cookie)),
        None => Err(fragment(&location, "error").unwrap_or(location)),
    }
}

fn complete(s: &Sso, code: &str, cookie: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
    s.f.app.call_with("POST", "/v1/auth/oauth/complete", None, Some(json!({ "login_code": code })), &headers)
}

fn sign_in(s: &Sso, conn: &str) -> Resp {
    let (code, cookie) = flow(s, conn).expect("a login code");
    complete(s, &code, Some(&cookie))
}

fn membership(s: &Sso, user: &str) -> Option<(String, Option<String>)> {
    let rows = s.f.app.rows(stmt!(
        "SELECT role, joined_via FROM org_members WHERE org_id = ?1 AND user_id = ?2",
        s.f.org.as_str(),
        user
    ));
    rows.first().map(|r| (r["role"].as_str().unwrap().to_owned(), r["joined_via"].as_str().map(str::to_owned)))
}

fn require_sso(s: &Sso, on: bool) {
    s.f.app
        .call(
            "PUT",
            &format!("/v1/orgs/{}/sso-required", s.f.org),
            Some(&access(&s.f.owner().session)),
            Some(json!({"sso_required": on})),
        )
        .expect(200);
}

#[test]
fn a_new_person_on_the_domain_signs_in_through_the_orgs_provider_and_joins_just_in_time() {
    let s = acme();
    let conn = connection(&s);
    let listed =
        s.f.app
            .get(&format!("/v1/orgs/{}/sso-connections", s.f.org), Some(&access(&s.f.owner().session)))
            .expect(200)
            .body;
    let c = &listed["data"][0];
    assert_eq!(c["id"], conn.as_str());
    assert_eq!(c["domains"], json!(["example.com"]));
    assert_eq!(c["redirect_uri"], format!("http://app.test/v1/auth/sso/{conn}/callback"));
    assert!(c.get("client_secret").is_none(), "the secret is never shown: {c}");
    let stored = s.f.app.rows(stmt!("SELECT client_secret_sealed FROM sso_connections WHERE id = ?1", conn.as_str()));
    assert!(!stored[0]["client_secret_sealed"].as_str().unwrap().contains(IDP_CLIENT.2), "sealed at rest");

    // The sign-in screen learns the address goes through SSO.
    let look = s.f.app.call("POST", "/v1/auth/sso/lookup", None, Some(json!({"email": "New.Hire@Example.com"})));
    let look = look.expect(200).body;
    assert_eq!(look["sso"], true);
    assert_eq!(look["connection_id"], conn.as_str());
    let other = s.f.app.call("POST", "/v1/auth/sso/lookup", None, Some(json!({"email": "a@elsewhere.test"})));
    assert_eq!(other.expect(200).body["sso"], false);

    s.fake.sign_in("idp", FakeUser::unverified("idp-77", "new.hire@example.com"));
    let session = sign_in(&s, &conn).expect(200).body;
    assert_eq!(session["user"]["email"], "new.hire@example.com");
    assert_eq!(session["user"]["email_verified"], true, "the org's provider speaks for its verified domain");
    let user = session["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(membership(&s, &user), Some(("member".into(), Some("domain".into()))));
    let sessions = s.f.app.get("/v1/me/sessions", Some(&access(&session))).expect(200).body;
    assert_eq!(sessions["data"][0]["method"], format!("sso:{conn}"), "the session carries its connection");

    // Again: the same account, still one membership.
    let again = sign_in(&s, &conn).expect(200).body;
    assert_eq!(again["user"]["id"], user.as_str());
    let joined = s.f.app.rows(stmt!(
        "SELECT count(*) AS n FROM audit_events WHERE org_id = ?1 AND action = 'member.joined' AND target_id = ?2",
        s.f.org.as_str(),
        user.as_str()
    ));
    assert_eq!(joined[0]["n"], 1, "one member.joined");
    // No password was made up.
    s.f.app.login("new.hire@example.com", PASSWORD).expect_problem(401, "invalid_credentials");
}

#[test]
fn an_existing_member_keeps_their_account_and_role() {
    let s = acme();
    let conn = connection(&s);
    s.fake.sign_in("idp", FakeUser::verified("idp-admin", "admin@example.com"));
    let session = sign_in(&s, &conn).expect(200).body;
    let admin_id = s.f.admin().session["user"]["id"].as_str().unwrap();
    assert_eq!(session["user"]["id"], admin_id);
    assert_eq!(membership(&s, admin_id).unwrap().0, "admin", "JIT never changes a member's role");
}

#[test]
fn only_owners_configure_connections_and_only_on_their_verified_domains() {
    let s = acme();
    let body = connection_body(&s.fake, &["example.com"]);
    create(&s, s.f.admin(), body.clone()).expect_problem(403, "forbidden");
    create(&s, s.f.member(), body.clone()).expect_problem(403, "forbidden");
    // A domain the org has not verified (pending), and someone else's.
    s.f.api().add_domain(s.f.owner(), &s.f.org, "pending.example.org").expect(201);
    create(&s, s.f.owner(), connection_body(&s.fake, &["pending.example.org"]))
        .expect_problem(422, "domain_not_verified");
    let zed = s.f.api().verified("zed@zed.example.net");
    let zed_org = s.f.api().create_org(&zed, "Zed").expect(201).id();
    verify_as(&s.f, &zed, &zed_org, &s.dns, "zed.example.net");
    create(&s, s.f.owner(), connection_body(&s.fake, &["zed.example.net"])).expect_problem(422, "domain_not_verified");
    // A SAML connection needs its IdP's metadata (tests/native_saml.rs).
    let saml = json!({"type": "saml", "domains": ["example.com"]});
    let r = create(&s, s.f.owner(), saml);
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.raw.contains("invalid_metadata"), "{}", r.raw);
    let mut no_issuer = body.clone();
    no_issuer.as_object_mut().unwrap().remove("issuer");
    create(&s, s.f.owner(), no_issuer).expect(422);
    let mut bad_issuer = body.clone();
    bad_issuer["issuer"] = json!("http://idp.example.com");
    create(&s, s.f.owner(), bad_issuer).expect(422);
    let mut no_discovery = body.clone();
    no_discovery["issuer"] = json!(format!("{}/nowhere", s.fake.base()));
    create(&s, s.f.owner(), no_discovery).expect_problem(422, "sso_discovery_failed");
    // One connection per domain.
    let first = create(&s, s.f.owner(), body.clone()).expect(201).body;
    create(&s, s.f.owner(), body).expect_problem(409, "sso_domain_taken");
    // Another org's owner cannot see or change it.
    let path = format!("/v1/orgs/{}/sso-connections/{}", s.f.org, first["id"].as_str().unwrap());
    let zed = access(&zed.session);
    s.f.app.call("GET", &path, Some(&zed), None).expect(404);
    s.f.app.call("PATCH", &path, Some(&zed), Some(json!({"enabled": false}))).expect(404);
    s.f.app.call("DELETE", &path, Some(&zed), None).expect(404);
    // An API key, whatever its scopes, is not a person.
    let key = s.f.api().create_key(s.f.owner(), &s.f.org, "ci", &["org:read"]).expect(201).body;
    let key = key["key"].as_str().unwrap();
    let r = s.f.app.call("GET", &format!("/v1/orgs/{}/sso-connections", s.f.org), Some(key), None);
    assert!(matches!(r.status, 401 | 403), "{:?}", r.body);
}

#[test]
fn an_address_off_the_connections_domains_gets_no_account() {
    let s = acme();
    let conn = connection(&s);
    s.fake.sign_in("idp", FakeUser::verified("idp-x", "intruder@elsewhere.test"));
    assert_eq!(flow(&s, &conn), Err("provider_error".to_owned()));
    let users = s.f.app.rows(stmt!("SELECT id FROM users WHERE email = ?1", "intruder@elsewhere.test"));
    assert!(users.is_empty());
}

#[test]
fn a_flow_finishes_only_at_its_own_connection_and_in_its_own_browser() {
    let s = acme();
    let conn = connection(&s);
    // A second connection (its own verified domain).
    verify(&s.f, &s.dns, "eu.example.com");
    let second = create(&s, s.f.owner(), connection_body(&s.fake, &["eu.example.com"])).expect(201).body;
    let second = second["id"].as_str().unwrap();
    let r = s.f.app.get(&format!("/v1/auth/sso/{conn}/authorize?redirect_uri={}", enc(SIGNIN)), None).expect(302);
    let cookie = cookie_of(&r);
    let back = s.fake.approve(r.header("location").unwrap());
    let query = back.split_once('?').unwrap().1;
    let foreign = format!("/v1/auth/sso/{second}/callback?{query}");
    s.f.app.call_with("GET", &foreign, None, None, &[("cookie", cookie.as_str())]).expect_problem(400, "invalid_state");
    // The login code, planted in another browser: refused and unspent.
    s.fake.sign_in("idp", FakeUser::verified("idp-m", "member@example.com"));
    let (code, cookie) = flow(&s, &conn).unwrap();
    complete(&s, &code, None).expect_problem(400, "invalid_token");
    complete(&s, &code, Some("latchkey_oauth=someone-elses")).expect_problem(400, "invalid_token");
    complete(&s, &code, Some(&cookie)).expect(200);
    complete(&s, &code, Some(&cookie)).expect_problem(400, "invalid_token");
}

#[test]
fn sso_required_refuses_password_and_provider_sign_ins_except_an_owner_with_2fa() {
    let s = acme();
    let conn = connection(&s);
    s.f.app.login("member@example.com", PASSWORD).expect(200);
    require_sso(&s, true);
    s.f.app.login("member@example.com", PASSWORD).expect_problem(403, "sso_required");
    // A wrong password still says only that.
    s.f.app.login("member@example.com", "wrong password!").expect_problem(401, "invalid_credentials");
    // The owner without 2FA is refused too; with 2FA, the second step.
    s.f.app.login("owner@example.com", PASSWORD).expect_problem(403, "sso_required");
    let e = s.f.api().enrol_totp(s.f.owner()).expect(200).body;
    let code = totp_code(e["secret"].as_str().unwrap(), s.f.app.clock_now());
    s.f.api().confirm_totp(s.f.owner(), &code).expect(200);
    let r = s.f.app.login("owner@example.com", PASSWORD).expect(200).body;
    assert_eq!(r["mfa_required"], true, "break glass still takes the second factor: {r}");
    // A provider sign-in of an address on the domain is refused as well.
    s.fake.sign_in("google", FakeUser::verified("g-9", "member@example.com"));
    let r = s.f.app.get(&format!("/v1/auth/oauth/google/authorize?redirect_uri={}", enc(SIGNIN)), None).expect(302);
    let cookie = cookie_of(&r);
    let back = s.fake.approve(r.header("location").unwrap());
    let r =
        s.f.app
            .call_with("GET", back.strip_prefix("http://app.test").unwrap(), None, None, &[("cookie", cookie.as_str())])
            .expect(302);
    let code = fragment(r.header("location").unwrap(), "login_code").unwrap();
    complete(&s, &code, Some(&cookie)).expect_problem(403, "sso_required");
    // SSO itself still signs them in; turned off, passwords work again.
    s.fake.sign_in("idp", FakeUser::verified("idp-m", "member@example.com"));
    sign_in(&s, &conn).expect(200);
    require_sso(&s, false);
    s.f.app.login("member@example.com", PASSWORD).expect(200);
    // Only owners turn it on.
    let r = s.f.app.call(
        "PUT",
        &format!("/v1/orgs/{}/sso-required", s.f.org),
        Some(&access(&s.f.admin().session)),
        Some(json!({"sso_required": true})),
    );
    r.expect_problem(403, "forbidden");
}

#[test]
fn a_disabled_connection_or_a_lapsed_domain_signs_nobody_in() {
    let s = acme();
    let conn = connection(&s);
    let path = format!("/v1/orgs/{}/sso-connections/{conn}", s.f.org);
    let owner = access(&s.f.owner().session);
    let (code, cookie) = flow(&s, &conn).unwrap();
    let off = s.f.app.call("PATCH", &path, Some(&owner), Some(json!({"enabled": false}))).expect(200).body;
    assert_eq!(off["enabled"], false);
    // A code from before the switch no longer finishes.
    complete(&s, &code, Some(&cookie)).expect_problem(400, "invalid_token");
    s.f.app
        .get(&format!("/v1/auth/sso/{conn}/authorize?redirect_uri={}", enc(SIGNIN)), None)
        .expect_problem(404, "provider_not_found");
    let look = s.f.app.call("POST", "/v1/auth/sso/lookup", None, Some(json!({"email": "x@example.com"})));
    assert_eq!(look.expect(200).body["sso"], false);
    s.f.app.call("PATCH", &path, Some(&owner), Some(json!({"enabled": true}))).expect(200);
    sign_in(&s, &conn).expect(200);
    // The domain's record goes: the daily re-check lapses it, and SSO stops.
    s.dns.clear("_latchkey-verification.example.com");
    s.f.app.advance(2 * 86_400);
    s.f.app.recheck_domains();
    let look = s.f.app.call("POST", "/v1/auth/sso/lookup", None, Some(json!({"email": "x@example.com"})));
    assert_eq!(look.expect(200).body["sso"], false);
    s.f.app
        .get(&format!("/v1/auth/sso/{conn}/authorize?redirect_uri={}", enc(SIGNIN)), None)
        .expect_problem(404, "provider_not_found");
    // Deleting it is audited.
    let fresh = s.f.app.login("owner@example.com", PASSWORD).expect(200).body;
    s.f.app.call("DELETE", &path, Some(&access(&fresh)), None).expect(204);
    let actions = s.f.app.rows(stmt!(
        "SELECT action FROM audit_events WHERE org_id = ?1 AND target_kind = 'sso_connection' ORDER BY rowid",
        s.f.org.as_str()
    ));
    let names: Vec<&str> = actions.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["sso_connection.created", "sso_connection.updated", "sso_connection.updated", "sso_connection.deleted"]
    );
}

#[test]
fn a_new_sign_up_on_a_domain_that_requires_sso_proves_its_inbox_but_gets_no_session() {
    let s = acme();
    connection(&s);
    require_sso(&s, true);
    let email = "newcomer@example.com";
    s.f.app.signup(email).expect(202);
    let token = s.f.app.token_from_email(email, "/verify-email");
    let r = s.f.app.call("POST", "/v1/auth/verify-email", None, Some(json!({"token": token, "password": PASSWORD})));
    r.expect_problem(403, "sso_required");
    let rows = s.f.app.rows(stmt!("SELECT email_verified_at FROM users WHERE email = ?1", email));
    assert!(!rows[0]["email_verified_at"].is_null(), "the inbox is proven all the same");
    let sessions = s.f.app.rows(stmt!(
        "SELECT count(*) AS n FROM sessions JOIN users ON users.id = sessions.user_id WHERE users.email = ?1",
        email
    ));
    assert_eq!(sessions[0]["n"], 0, "no session outside SSO");
    // Through SSO, the same person signs in to the same account.
    s.fake.sign_in("idp", FakeUser::verified("idp-new", email));
    let conn = s.f.app.rows(stmt!("SELECT id FROM sso_connections WHERE org_id = ?1", s.f.org.as_str()));
    let session = sign_in(&s, conn[0]["id"].as_str().unwrap()).expect(200).body;
    assert_eq!(session["user"]["email"], email);
}

/// A connection may give people one of the org's custom roles just in time;
/// a role the org lacks is 422 at creation and at a change, and a role a
/// connection gives is in use.
#[test]
fn a_connection_gives_a_custom_role_just_in_time_and_keeps_it_from_deletion() {
    let s = acme();
    let owner = access(&s.f.owner().session);
    let roles = format!("/v1/orgs/{}/roles", s.f.org);
    let support = json!({"key": "support", "name": "Support", "permissions": ["org:read", "members:read"]});
    s.f.app.post(&roles, Some(&owner), support).expect(201);
    let mut body = connection_body(&s.fake, &["example.com"]);
    for role in ["ghost-role", "owner", "Not A Key"] {
        body["default_role"] = json!(role);
        let r = create(&s, s.f.owner(), body.clone()).expect_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "default_role", "{role:?}: {}", r.body);
    }
    body["default_role"] = json!("support");
    let made = create(&s, s.f.owner(), body).expect(201).body;
    assert_eq!(made["default_role"], "support");
    let conn = made["id"].as_str().unwrap().to_owned();
    let url = format!("/v1/orgs/{}/sso-connections/{conn}", s.f.org);
    let r = s.f.app.call("PATCH", &url, Some(&owner), Some(json!({"default_role": "ghost-role"})));
    assert_eq!(r.expect_problem(422, "validation_failed").body["errors"][0]["field"], "default_role");

    s.fake.sign_in("idp", FakeUser::unverified("idp-88", "sam@example.com"));
    let session = sign_in(&s, &conn).expect(200).body;
    let user = session["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(membership(&s, &user), Some(("support".into(), Some("domain".into()))));
    let decided = s.f.app.post(
        "/v1/authorize",
        Some(&access(&session)),
        json!({"permission": "members:read", "org_id": s.f.org}),
    );
    assert_eq!(decided.expect(200).body["via"]["role"], "support");

    // Held and given: in use until neither.
    s.f.app.call("DELETE", &format!("{roles}/support"), Some(&owner), None).expect_problem(409, "role_in_use");
    let member = format!("/v1/orgs/{}/members/{user}", s.f.org);
    s.f.app.call("PATCH", &member, Some(&owner), Some(json!({"role": "member"}))).expect(200);
    let r = s.f.app.call("DELETE", &format!("{roles}/support"), Some(&owner), None).expect_problem(409, "role_in_use");
    assert!(r.body["detail"].as_str().unwrap().contains("single sign-on"), "{}", r.body);
    s.f.app.call("PATCH", &url, Some(&owner), Some(json!({"default_role": "member"}))).expect(200);
    s.f.app.call("DELETE", &format!("{roles}/support"), Some(&owner), None).expect(204);
}
