//! OAuth sign-in over the real router and SQLite, against the fake
//! GitHub/Google/GitLab served on a loopback port (tests/support/fake_provider.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_provider;
use crate::testapp;

use fake_provider::{FakeProvider, FakeUser};
use serde_json::{json, Value};
use testapp::*;

const PAGE: &str = "http://app.test/settings/security";
const OTHER_APP: &str = "https://other.example/oauth-done";

fn app_with(fake: &FakeProvider) -> TestApp {
    let mut vars = fake.worker_vars();
    vars.push(("OAUTH_REDIRECT_URIS".into(), OTHER_APP.into()));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestApp::with_config(config_with(&refs))
}

/// A started flow: the provider URL and the browser's cookie (`name=value`).
struct Flow {
    authorize_url: String,
    cookie: String,
}

fn cookie_of(r: &Resp) -> String {
    let set = r.header("set-cookie").unwrap_or_else(|| panic!("no set-cookie: {:?}", r.headers));
    set.split(';').next().unwrap().to_owned()
}

fn start(app: &TestApp, provider: &str) -> Flow {
    let r = app.get(&format!("/v1/auth/oauth/{provider}/authorize?redirect_uri={}", enc(PAGE)), None).expect(302);
    Flow { authorize_url: r.header("location").unwrap().to_owned(), cookie: cookie_of(&r) }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The provider's redirect back to us, as the browser follows it.
fn callback(app: &TestApp, callback_url: &str, cookie: Option<&str>) -> Resp {
    let path = callback_url.strip_prefix("http://app.test").expect("our callback URL");
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
    app.call_with("GET", path, None, None, &headers)
}

fn fragment(location: &str, key: &str) -> Option<String> {
    let (_, frag) = location.split_once('#')?;
    form_urlencoded::parse(frag.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// A login code and the flow cookie of the browser that ran its flow.
struct Code {
    code: String,
    cookie: String,
}

/// Runs a whole flow at `provider` as its current fake user; returns the login code.
fn login_code(app: &TestApp, fake: &FakeProvider, provider: &str) -> Code {
    let flow = start(app, provider);
    let back = callback(app, &fake.approve(&flow.authorize_url), Some(&flow.cookie)).expect(302);
    let location = back.header("location").unwrap();
    assert!(location.starts_with(&format!("{PAGE}#")), "{location}");
    // The flow cookie stays in the browser until the code is redeemed.
    assert_eq!(back.header("set-cookie"), None, "the callback must not clear the flow cookie");
    let code = fragment(location, "login_code").unwrap_or_else(|| panic!("no login code: {location}"));
    Code { code, cookie: flow.cookie }
}

/// Redeems `code` from a browser holding `cookie` (none: another browser), as `bearer`.
fn redeem(app: &TestApp, code: &str, cookie: Option<&str>, bearer: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
    app.call_with("POST", "/v1/auth/oauth/complete", bearer, Some(json!({ "login_code": code })), &headers)
}

/// Redeems `code` in the browser that ran its flow.
fn complete(app: &TestApp, code: &Code) -> Resp {
    redeem(app, &code.code, Some(&code.cookie), None)
}

fn sign_in(app: &TestApp, fake: &FakeProvider, provider: &str) -> Value {
    let code = login_code(app, fake, provider);
    complete(app, &code).expect(200).body
}

fn events(app: &TestApp, session: &Value) -> Vec<String> {
    let r = app.get("/v1/me/audit-log", Some(&access(session))).expect(200);
    r.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn each_provider_signs_up_a_new_verified_passwordless_account_and_signs_in_again() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    for (provider, id) in [("github", "501"), ("google", "g-501"), ("gitlab", "601")] {
        let email = format!("new-{provider}@example.com");
        fake.sign_in(provider, FakeUser::verified(id, &email));
        let first = sign_in(&app, &fake, provider);
        assert_eq!(first["user"]["email"], email.as_str());
        assert_eq!(first["user"]["email_verified"], true);
        let again = sign_in(&app, &fake, provider);
        assert_eq!(again["user"]["id"], first["user"]["id"], "{provider}: same identity, same user");
        // No password was made up: password login fails.
        app.login(&email, PASSWORD).expect_problem(401, "invalid_credentials");
        let sessions = app.get("/v1/me/sessions", Some(&access(&again))).expect(200).body;
        let methods: Vec<&str> =
            sessions["data"].as_array().unwrap().iter().map(|s| s["method"].as_str().unwrap()).collect();
        assert_eq!(methods, vec![format!("oauth:{provider}"); 2], "{provider}");
        let ids = app.get("/v1/me/identities", Some(&access(&again))).expect(200).body;
        assert_eq!(ids["data"][0]["provider"], provider);
        assert_eq!(events(&app, &again), ["oauth.signed_in", "oauth.signed_in", "identity.linked"]);
    }
}

#[test]
fn a_provider_verified_email_links_to_the_verified_account_with_it() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let existing = app.verified_user("ada@example.com");
    fake.sign_in("gitlab", FakeUser::verified("77", "Ada@Example.com"));
    let session = sign_in(&app, &fake, "gitlab");
    assert_eq!(session["user"]["id"], existing["user"]["id"]);
    // The password still works: linking changed nothing else.
    app.login("ada@example.com", PASSWORD).expect(200);
    let log = app.get("/v1/me/audit-log", Some(&access(&session))).expect(200).body;
    let linked = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "identity.linked").unwrap().clone();
    assert_eq!(linked["data"]["via"], "verified_email");
}

#[test]
fn an_unverified_provider_email_never_links_nor_makes_an_account() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let existing = app.verified_user("grace@example.com");
    // GitHub: primary address not verified (the unverified secondary is always there too).
    fake.sign_in("github", FakeUser::unverified("900", "grace@example.com"));
    // One answer whether or not an account holds the address (no account probe).
    complete(&app, &login_code(&app, &fake, "github")).expect_problem(403, "provider_email_unverified");
    // Google sends "false" as a string.
    fake.sign_in(
        "google",
        FakeUser { email_verified: json!("false"), ..FakeUser::verified("g-900", "grace@example.com") },
    );
    complete(&app, &login_code(&app, &fake, "google")).expect_problem(403, "provider_email_unverified");
    // An address nobody holds: still no account from an unverified address.
    fake.sign_in(
        "google",
        FakeUser { email_verified: json!("false"), ..FakeUser::verified("g-901", "fresh@example.com") },
    );
    complete(&app, &login_code(&app, &fake, "google")).expect_problem(403, "provider_email_unverified");
    app.login("fresh@example.com", PASSWORD).expect_problem(401, "invalid_credentials");
    // No address at all.
    fake.sign_in("gitlab", FakeUser { email: None, ..FakeUser::verified("902", "x@example.com") });
    complete(&app, &login_code(&app, &fake, "gitlab")).expect_problem(403, "provider_email_unverified");
    let ids = app.get("/v1/me/identities", Some(&access(&existing))).expect(200).body;
    assert_eq!(ids["data"], json!([]), "nothing was linked to the existing account");
}

#[test]
fn the_provider_verified_owner_claims_an_attackers_unverified_signup() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    // The attacker pre-registers the victim's address with their own password.
    app.post(
        "/v1/auth/signup",
        None,
        json!({"email": "victim@example.com", "password": "attacker password 1", "name": "Mallory"}),
    )
    .expect(202);
    let attacker_link = app.token_from_email("victim@example.com", "/verify-email");
    // The real owner signs in with Google, which has verified the address.
    fake.sign_in("google", FakeUser::verified("g-victim", "victim@example.com"));
    let session = sign_in(&app, &fake, "google");
    assert_eq!(session["user"]["email_verified"], true);
    assert_eq!(session["user"]["name"], "Fake g-victim", "the attacker's chosen name is gone too");
    // The attacker's password and verification link are dead.
    app.login("victim@example.com", "attacker password 1").expect_problem(401, "invalid_credentials");
    app.post("/v1/auth/verify-email", None, json!({"token": attacker_link, "password": "attacker password 1"}))
        .expect_problem(400, "invalid_token");
    assert!(events(&app, &session).contains(&"account.claimed".to_owned()));
}

#[test]
fn state_is_single_use_bound_to_the_browser_and_to_the_provider() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let flow = start(&app, "github");
    let back = fake.approve(&flow.authorize_url);
    // No cookie, or another browser's cookie: refused, and the flow survives for its own browser.
    callback(&app, &back, None).expect_problem(400, "invalid_state");
    let other = start(&app, "github");
    callback(&app, &back, Some(&other.cookie)).expect_problem(400, "invalid_state");
    // Mix-up: the same state on another provider's callback.
    let foreign = back.replace("/oauth/github/callback", "/oauth/google/callback");
    callback(&app, &foreign, Some(&flow.cookie)).expect_problem(400, "invalid_state");
    // Its own browser: once.
    callback(&app, &back, Some(&flow.cookie)).expect(302);
    callback(&app, &back, Some(&flow.cookie)).expect_problem(400, "invalid_state");
    // Made-up state.
    let forged = format!("http://app.test/v1/auth/oauth/github/callback?code=x&state={}", "A".repeat(43));
    callback(&app, &forged, Some(&flow.cookie)).expect_problem(400, "invalid_state");
}

#[test]
fn a_flow_expires_after_ten_minutes() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let flow = start(&app, "gitlab");
    let back = fake.approve(&flow.authorize_url);
    app.advance(10 * 60 + 1);
    callback(&app, &back, Some(&flow.cookie)).expect_problem(400, "invalid_state");
}

#[test]
fn the_flow_cookie_is_httponly_lax_and_secure_host_only_over_https() {
    let fake = FakeProvider::start();
    let mut vars = fake.worker_vars();
    vars.push(("APP_URL".into(), "https://id.example".into()));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = TestApp::with_config(config_with(&refs));
    let r = app
        .get(
            &format!("/v1/auth/oauth/google/authorize?redirect_uri={}", enc("https://id.example/settings/security")),
            None,
        )
        .expect(302);
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-latchkey_oauth="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=600"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let location = r.header("location").unwrap();
    assert!(
        location.contains("redirect_uri=https%3A%2F%2Fid.example%2Fv1%2Fauth%2Foauth%2Fgoogle%2Fcallback"),
        "{location}"
    );
}

#[test]
fn a_wrong_nonce_in_the_id_token_signs_nobody_in() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    fake.send_wrong_nonce(true);
    for provider in ["google", "gitlab"] {
        let flow = start(&app, provider);
        let back = callback(&app, &fake.approve(&flow.authorize_url), Some(&flow.cookie)).expect(302);
        let location = back.header("location").unwrap();
        assert_eq!(fragment(location, "error").as_deref(), Some("provider_error"), "{location}");
        assert_eq!(fragment(location, "login_code"), None);
    }
}

#[test]
fn github_errors_sent_with_http_200_and_redirects_from_providers_sign_nobody_in() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    // A code GitHub does not know: HTTP 200 {"error": "bad_verification_code"}.
    let flow = start(&app, "github");
    let back = fake.approve(&flow.authorize_url);
    let (url, _) = back.split_once("code=").unwrap();
    let state = fragment(&format!("#{}", back.split_once('?').unwrap().1), "state").unwrap();
    let forged = format!("{url}code=not-a-code&state={state}");
    let r = callback(&app, &forged, Some(&flow.cookie)).expect(302);
    assert_eq!(fragment(r.header("location").unwrap(), "error").as_deref(), Some("provider_error"));
    // The person declines at the provider.
    let flow = start(&app, "github");
    let back = fake.approve(&flow.authorize_url);
    let state = fragment(&format!("#{}", back.split_once('?').unwrap().1), "state").unwrap();
    let denied = format!("http://app.test/v1/auth/oauth/github/callback?error=access_denied&state={state}");
    let r = callback(&app, &denied, Some(&flow.cookie)).expect(302);
    assert_eq!(fragment(r.header("location").unwrap(), "error").as_deref(), Some("access_denied"));
    // A token endpoint that redirects is not followed.
    fake.redirect_token_endpoint(true);
    let flow = start(&app, "google");
    let r = callback(&app, &fake.approve(&flow.authorize_url), Some(&flow.cookie)).expect(302);
    assert_eq!(fragment(r.header("location").unwrap(), "error").as_deref(), Some("provider_error"));
    assert!(!fake.seen().iter().any(|s| s.path == "/elsewhere"), "the redirect was followed");
    // Every GitHub API call carried a User-Agent (GitHub refuses calls without one).
    assert!(fake
        .seen()
        .iter()
        .filter(|s| s.path.starts_with("/github/"))
        .all(|s| s.headers.iter().any(|(k, _)| k == "user-agent")));
}

#[test]
fn redirect_uris_off_the_list_and_unconfigured_providers_are_refused() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    for bad in [
        "https://evil.example/cb",
        "http://app.test/settings/security/",
        "http://app.test/",
        "https://other.example/oauth-done?x=1",
    ] {
        app.get(&format!("/v1/auth/oauth/github/authorize?redirect_uri={}", enc(bad)), None)
            .expect_problem(400, "invalid_redirect_uri");
    }
    app.get("/v1/auth/oauth/github/authorize", None).expect_problem(400, "invalid_redirect_uri");
    // OAUTH_REDIRECT_URIS entries are allowed exactly.
    app.get(&format!("/v1/auth/oauth/github/authorize?redirect_uri={}", enc(OTHER_APP)), None).expect(302);
    app.get(&format!("/v1/auth/oauth/facebook/authorize?redirect_uri={}", enc(PAGE)), None)
        .expect_problem(404, "provider_not_found");
    let bare = TestApp::new();
    bare.get(&format!("/v1/auth/oauth/github/authorize?redirect_uri={}", enc(PAGE)), None)
        .expect_problem(404, "provider_not_found");
    bare.get("/v1/auth/oauth/github/callback?code=a&state=b", None).expect_problem(404, "provider_not_found");
    assert_eq!(bare.get("/v1/auth/oauth/providers", None).expect(200).body["data"], json!([]));
    assert_eq!(app.get("/v1/auth/oauth/providers", None).expect(200).body["data"].as_array().unwrap().len(), 3);
}

#[test]
fn login_codes_are_single_use_and_live_sixty_seconds() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let code = login_code(&app, &fake, "github");
    complete(&app, &code).expect(200);
    complete(&app, &code).expect_problem(400, "invalid_token");
    let late = login_code(&app, &fake, "github");
    app.advance(61);
    complete(&app, &late).expect_problem(400, "invalid_token");
    redeem(&app, "x", Some(&late.cookie), None).expect_problem(400, "invalid_token");
}

#[test]
fn oauth_never_bypasses_two_factor() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let session = app.verified_user("two@example.com");
    let enrol = app.post("/v1/me/totp", Some(&access(&session)), json!({})).expect(200).body;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    app.post("/v1/me/totp/confirm", Some(&access(&session)), json!({"code": totp_code(&secret, app.clock_now())}))
        .expect(200);
    fake.sign_in("github", FakeUser::verified("4242", "two@example.com"));
    let answer = sign_in(&app, &fake, "github");
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(answer.get("access_token").is_none());
    app.advance(30);
    let done = app
        .post(
            "/v1/auth/login/mfa",
            None,
            json!({"mfa_token": answer["mfa_token"], "code": totp_code(&secret, app.clock_now())}),
        )
        .expect(200)
        .body;
    let sessions = app.get("/v1/me/sessions", Some(&access(&done))).expect(200).body;
    let current = sessions["data"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap().clone();
    assert_eq!(current["method"], "oauth:github");
}

#[test]
fn the_last_way_to_sign_in_cannot_be_unlinked_until_a_password_is_set_by_reset() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    fake.sign_in("gitlab", FakeUser::verified("3131", "solo@example.com"));
    let session = sign_in(&app, &fake, "gitlab");
    app.delete("/v1/me/identities/gitlab", Some(&access(&session))).expect_problem(409, "last_login_method");
    app.delete("/v1/me/identities/github", Some(&access(&session))).expect_problem(404, "not_found");
    // An OAuth-only account manages 2FA without a password it never had.
    app.post("/v1/me/totp", Some(&access(&session)), json!({})).expect(200);
    // …and sets a password through the reset flow.
    app.post("/v1/auth/password-reset", None, json!({"email": "solo@example.com"})).expect(202);
    let token = app.token_from_email("solo@example.com", "/reset-password");
    app.post("/v1/auth/password-reset/confirm", None, json!({"token": token, "new_password": "a brand new password"}))
        .expect(204);
    let session = app.login("solo@example.com", "a brand new password").expect(200).body;
    app.delete("/v1/me/identities/gitlab", Some(&access(&session))).expect(204);
    assert_eq!(app.get("/v1/me/identities", Some(&access(&session))).expect(200).body["data"], json!([]));
    assert_eq!(events(&app, &session)[0], "identity.unlinked");
}

#[test]
fn two_identities_and_no_password_one_may_go_but_not_both() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    fake.sign_in("github", FakeUser::verified("7070", "pair@example.com"));
    fake.sign_in("google", FakeUser::verified("g-7070", "pair@example.com"));
    sign_in(&app, &fake, "github");
    let session = sign_in(&app, &fake, "google");
    assert_eq!(
        app.get("/v1/me/identities", Some(&access(&session))).expect(200).body["data"].as_array().unwrap().len(),
        2
    );
    app.delete("/v1/me/identities/github", Some(&access(&session))).expect(204);
    app.delete("/v1/me/identities/google", Some(&access(&session))).expect_problem(409, "last_login_method");
}

fn begin_link(app: &TestApp, session: &Value, provider: &str) -> Resp {
    app.post(&format!("/v1/me/identities/{provider}"), Some(&access(session)), json!({"redirect_uri": PAGE}))
}

/// Runs a link flow started by `session`; returns the login code.
fn link_code(app: &TestApp, fake: &FakeProvider, session: &Value, provider: &str) -> Code {
    let r = begin_link(app, session, provider).expect(200);
    let cookie = cookie_of(&r);
    let back = callback(app, &fake.approve(r.body["authorize_url"].as_str().unwrap()), Some(&cookie)).expect(302);
    Code { code: fragment(back.header("location").unwrap(), "login_code").unwrap(), cookie }
}

/// Redeems a link code in its browser, as `session`.
fn complete_as(app: &TestApp, session: &Value, code: &Code) -> Resp {
    redeem(app, &code.code, Some(&code.cookie), Some(&access(session)))
}

#[test]
fn linking_from_settings_needs_a_recent_sign_in_and_an_identity_nobody_else_has() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let me = app.verified_user("linker@example.com");
    fake.sign_in("github", FakeUser::verified("8080", "someone-else@example.com"));
    let code = link_code(&app, &fake, &me, "github");
    // The code finishes only in the session of the person who started the link.
    complete(&app, &code).expect_problem(400, "invalid_token");
    let code = link_code(&app, &fake, &me, "github");
    let linked = complete_as(&app, &me, &code).expect(200).body;
    assert_eq!(linked["linked"]["provider"], "github");
    // Signing in with that GitHub account now reaches me (linked by id, not by its email).
    let session = sign_in(&app, &fake, "github");
    assert_eq!(session["user"]["id"], me["user"]["id"]);
    // Someone else linking the same GitHub account: 409.
    let other = app.verified_user("other@example.com");
    let code = link_code(&app, &fake, &other, "github");
    complete_as(&app, &other, &code).expect_problem(409, "identity_in_use");
    // Eleven minutes after signing in: sign in again first.
    app.advance(11 * 60);
    let refreshed = app.post("/v1/auth/token", None, json!({"refresh_token": refresh(&other)})).expect(200).body;
    begin_link(&app, &refreshed, "google").expect_problem(403, "reauthentication_required");
    begin_link(&app, &refreshed, "nope").expect_problem(404, "provider_not_found");
    let fresh = app.login("other@example.com", PASSWORD).expect(200).body;
    begin_link(&app, &fresh, "google").expect(200);
    app.post("/v1/me/identities/google", Some(&access(&fresh)), json!({"redirect_uri": "https://evil.example/"}))
        .expect_problem(400, "invalid_redirect_uri");
}

#[test]
fn identities_are_keyed_by_issuer_so_two_gitlab_instances_never_collide() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    // Someone linked subject 2001 of gitlab.com…
    let a = app.verified_user("on-gitlab-com@example.com");
    let insert = latchkey::store::Stmt {
        sql: "INSERT INTO oauth_identities (provider, issuer, subject, user_id, created_at) VALUES ('gitlab', 'https://gitlab.com', '2001', ?1, 0)",
        params: vec![latchkey::store::Value::Text(TestApp::user_id(&a))],
    };
    pollster::block_on(latchkey::store::Db::run(app.db.as_ref(), insert)).unwrap();
    // …and subject 2001 of this (self-managed) instance is someone else.
    fake.sign_in("gitlab", FakeUser::verified("2001", "on-self-managed@example.com"));
    let b = sign_in(&app, &fake, "gitlab");
    assert_ne!(b["user"]["id"], a["user"]["id"]);
    assert_eq!(b["user"]["email"], "on-self-managed@example.com");
    let ids = app.get("/v1/me/identities", Some(&access(&b))).expect(200).body;
    assert_eq!(ids["data"][0]["issuer"], format!("{}/gitlab", fake.base()));
}

/// `make dev` hands every OAUTH_* variable of its environment to both
/// Workers: its `scripts/dev-config.sh` line (printed by `make -n`, run
/// here as printed, into a temp folder) writes them into the `.dev.vars`
/// both read, and nothing else of the environment.
#[test]
fn make_dev_forwards_every_oauth_variable_to_the_worker() {
    let recipe = crate::support::make_dev_recipe(
        8787,
        &[
            ("OAUTH_GITHUB_CLIENT_ID", "Iv1.abc"),
            ("OAUTH_REDIRECT_URIS", "https://a.example/x,https://b.example/y"),
            ("OAUTH_GITHUB_AUTHORIZE_URL", "http://127.0.0.1:9000/login/oauth/authorize"),
            ("NOT_OAUTH_SECRET", "must-not-leak"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    crate::support::run_dev_config_line(&recipe, 8787, dir.path(), std::path::Path::new("/dev/null"));
    let vars = std::fs::read_to_string(dir.path().join(".dev.vars")).unwrap();
    for expected in [
        "OAUTH_GITHUB_CLIENT_ID=\"Iv1.abc\"",
        "OAUTH_REDIRECT_URIS=\"https://a.example/x,https://b.example/y\"",
        "OAUTH_GITHUB_AUTHORIZE_URL=\"http://127.0.0.1:9000/login/oauth/authorize\"",
        "APP_URL=\"http://127.0.0.1:8787\"",
    ] {
        assert!(vars.lines().any(|l| l == expected), "{expected} missing from:\n{vars}");
    }
    assert!(!vars.contains("must-not-leak") && !recipe.join("\n").contains("must-not-leak"), "{vars}");
}

#[test]
fn the_oauth_start_and_callback_are_behind_the_per_ip_limit() {
    let fake = FakeProvider::start();
    let mut vars = fake.worker_vars();
    vars.push(("IP_RATE_LIMIT".into(), "on".into()));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = TestApp::with_config(config_with(&refs));
    app.ip_limiter.limit.set(1);
    let path = format!("/v1/auth/oauth/github/authorize?redirect_uri={}", enc(PAGE));
    let from = [("cf-connecting-ip", "203.0.113.9")];
    app.call_with("GET", &path, None, None, &from).expect(302);
    app.call_with("GET", &path, None, None, &from).expect_problem(429, "too_many_attempts");
    app.call_with("GET", "/v1/auth/oauth/github/callback?code=a&state=b", None, None, &from)
        .expect_problem(429, "too_many_attempts");
}

/// The login-CSRF attack: an attacker runs a flow with their own provider
/// account, keeps the callback's `#login_code=`, and plants it in a victim's
/// browser. Without the flow cookie of the attacker's browser it is refused,
/// and refusing it spends nothing.
#[test]
fn a_planted_login_code_is_refused_in_another_browser_and_spends_nothing() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let victim = app.verified_user("victim@example.com");
    fake.sign_in("github", FakeUser::verified("6660", "attacker@example.com"));
    let planted = login_code(&app, &fake, "github");
    // Anonymous victim browser: no flow cookie at all.
    redeem(&app, &planted.code, None, None).expect_problem(400, "invalid_token");
    // A victim browser with a flow of its own (another cookie), signed in.
    let own = start(&app, "google");
    redeem(&app, &planted.code, Some(&own.cookie), Some(&access(&victim))).expect_problem(400, "invalid_token");
    app.post("/v1/auth/oauth/inspect", None, json!({"login_code": planted.code})).expect_problem(400, "invalid_token");
    // The victim is still the victim.
    let me = app.get("/v1/me", Some(&access(&victim))).expect(200).body;
    assert_eq!(me["email"], "victim@example.com");
    // The code was not spent: its own browser still redeems it, once, and the
    // answer clears the flow cookie.
    let r = complete(&app, &planted).expect(200);
    assert_eq!(r.body["user"]["email"], "attacker@example.com");
    let cleared = r.header("set-cookie").unwrap_or_else(|| panic!("no set-cookie: {:?}", r.headers));
    assert!(cleared.starts_with("latchkey_oauth=;") && cleared.contains("Max-Age=0"), "{cleared}");
    complete(&app, &planted).expect_problem(400, "invalid_token");
}

#[test]
fn inspecting_a_login_code_names_the_account_without_spending_it() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let peek = |c: &Code| {
        app.call_with(
            "POST",
            "/v1/auth/oauth/inspect",
            None,
            Some(json!({"login_code": c.code})),
            &[("cookie", c.cookie.as_str())],
        )
    };
    // A new identity: the account it would make, by the provider's address.
    fake.sign_in("gitlab", FakeUser::verified("4242", "newcomer@example.com"));
    let code = login_code(&app, &fake, "gitlab");
    let seen = peek(&code).expect(200).body;
    assert_eq!(seen, json!({"kind": "sign_in", "provider": "gitlab", "account_email": "newcomer@example.com"}));
    // Still redeemable after the look; then the look fails too.
    complete(&app, &code).expect(200);
    peek(&code).expect_problem(400, "invalid_token");
    // A link code says so; once linked, a sign-in code names the account, not the provider's address.
    let me = app.verified_user("inspect@example.com");
    fake.sign_in("github", FakeUser::verified("4243", "octo@example.com"));
    let link = link_code(&app, &fake, &me, "github");
    assert_eq!(peek(&link).expect(200).body["kind"], "link");
    complete_as(&app, &me, &link).expect(200);
    let again = login_code(&app, &fake, "github");
    assert_eq!(peek(&again).expect(200).body["account_email"], "inspect@example.com");
}

fn subjects(app: &TestApp, to: &str) -> Vec<String> {
    app.emails_to(to).iter().map(|m| m["subject"].as_str().unwrap_or("").to_owned()).collect()
}

#[test]
fn every_link_and_auto_link_emails_the_person() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let me = app.verified_user("told@example.com");
    let before = subjects(&app, "told@example.com").len();
    // Auto-link through a provider-verified address.
    fake.sign_in("gitlab", FakeUser::verified("7001", "told@example.com"));
    sign_in(&app, &fake, "gitlab");
    // Link from settings.
    fake.sign_in("github", FakeUser::verified("7002", "octo@example.com"));
    complete_as(&app, &me, &link_code(&app, &fake, &me, "github")).expect(200);
    let got = subjects(&app, "told@example.com");
    assert_eq!(
        got[before..],
        ["GitLab was linked to your Latchkey account", "GitHub was linked to your Latchkey account"]
    );
    let last = app.emails_to("told@example.com").last().unwrap()["text"].as_str().unwrap().to_owned();
    assert!(last.contains("octo@example.com") && last.contains("/reset-password"), "{last}");
    // Signing in again through a linked provider is no new link: no email.
    sign_in(&app, &fake, "gitlab");
    assert_eq!(subjects(&app, "told@example.com").len(), got.len());
}

/// A thief with a fresh session links their own GitHub; the victim resets the
/// password ("signs out everywhere"): the thief's way back in is gone too,
/// while an older link, or one the person keeps on the reset screen, stays.
#[test]
fn a_password_reset_unlinks_what_was_linked_in_the_week_before_unless_kept() {
    let fake = FakeProvider::start();
    let app = app_with(&fake);
    let victim = app.verified_user("victim2@example.com");
    // An old link of the victim's own (8 days before the reset).
    fake.sign_in("gitlab", FakeUser::verified("8001", "victim2@example.com"));
    sign_in(&app, &fake, "gitlab");
    app.advance(8 * 24 * 3600);
    let fresh = app.login("victim2@example.com", PASSWORD).expect(200).body;
    // The thief, holding that fresh session, links their GitHub; so does Google (the victim's, kept).
    fake.sign_in("github", FakeUser::verified("8002", "thief@example.com"));
    complete_as(&app, &fresh, &link_code(&app, &fake, &fresh, "github")).expect(200);
    fake.sign_in("google", FakeUser::verified("g-8003", "victim2@example.com"));
    complete_as(&app, &fresh, &link_code(&app, &fake, &fresh, "google")).expect(200);
    app.api().request_password_reset("victim2@example.com").expect(202);
    let token = app.token_from_email("victim2@example.com", "/reset-password");
    let preview = app.post("/v1/auth/password-reset/preview", None, json!({"token": token})).expect(200).body;
    let recent: Vec<&str> =
        preview["recent_identities"].as_array().unwrap().iter().map(|i| i["provider"].as_str().unwrap()).collect();
    assert_eq!(recent, ["github", "google"]);
    app.post(
        "/v1/auth/password-reset/confirm",
        None,
        json!({"token": token, "new_password": "a brand new passphrase", "keep_identities": ["nope"]}),
    )
    .expect_problem(422, "validation_failed");
    app.post(
        "/v1/auth/password-reset/confirm",
        None,
        json!({"token": token, "new_password": "a brand new passphrase", "keep_identities": ["google"]}),
    )
    .expect(204);
    let s = app.login("victim2@example.com", "a brand new passphrase").expect(200).body;
    let ids = app.get("/v1/me/identities", Some(&access(&s))).expect(200).body;
    let linked: Vec<&str> = ids["data"].as_array().unwrap().iter().map(|i| i["provider"].as_str().unwrap()).collect();
    assert_eq!(linked, ["gitlab", "google"]);
    // The thief's GitHub no longer reaches the victim.
    fake.sign_in("github", FakeUser::verified("8002", "thief@example.com"));
    let thief = sign_in(&app, &fake, "github");
    assert_ne!(thief["user"]["id"], victim["user"]["id"]);
    assert_eq!(thief["user"]["email"], "thief@example.com");
}
