//! Accounts and sessions, through the real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::json;
use testapp::*;

#[test]
fn health_touches_the_database() {
    let app = TestApp::new();
    let r = app.api().health().expect(200);
    assert_eq!(r.body, json!({"status": "ok"}));
}

#[test]
fn signup_then_verify_then_login_then_me() {
    let app = TestApp::new();
    let r = app.signup("  Ada@Example.com ").expect(202);
    assert_eq!(r.body, json!({"status": "verification_email_sent"}));

    // Unverified accounts cannot log in, even with the right password.
    app.login("ada@example.com", PASSWORD).expect_problem(403, "email_not_verified");

    let emails = app.emails_to("ada@example.com");
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["subject"], "Verify your email address");
    assert!(emails[0]["html"].as_str().unwrap().contains("http://app.test/verify-email#token="));
    let token = extract_token(emails[0]["text"].as_str().unwrap(), "/verify-email");

    let session = app.api().verify_email(&token, PASSWORD).expect(200).body;
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 900);
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["email_verified"], true);

    let login = app.login("ADA@example.com", PASSWORD).expect(200).body;
    let me = app.api().me(&login).expect(200).body;
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["name"], "Test Person");
    assert_eq!(me["totp_enabled"], false);
    assert!(me["id"].as_str().unwrap().starts_with("usr_"));
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn a_verification_link_works_once() {
    let app = TestApp::new();
    app.signup("once@example.com").expect(202);
    let token = app.token_from_email("once@example.com", "/verify-email");
    app.api().verify_email(&token, PASSWORD).expect(200);
    app.api().verify_email(&token, PASSWORD).expect_problem(400, "invalid_token");
}

#[test]
fn an_expired_verification_link_is_refused() {
    let app = TestApp::new();
    app.signup("late@example.com").expect(202);
    let token = app.token_from_email("late@example.com", "/verify-email");
    app.advance(24 * 3600 + 1);
    app.api().verify_email(&token, PASSWORD).expect_problem(400, "invalid_token");
}

#[test]
fn unknown_and_malformed_tokens_are_invalid_token() {
    let app = TestApp::new();
    for token in ["", "x", "not a token at all!", &"A".repeat(43), &"é".repeat(50)] {
        app.api().verify_email(token, PASSWORD).expect_problem(400, "invalid_token");
    }
}

#[test]
fn signup_for_an_existing_email_answers_the_same_and_creates_nothing() {
    let app = TestApp::new();
    let first = app.signup("dup@example.com").expect(202);
    let token = app.token_from_email("dup@example.com", "/verify-email");
    app.api().verify_email(&token, PASSWORD).expect(200);

    let again = app.api().signup("DUP@example.com", "another good passphrase", "Mallory");
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    // The holder is told, and the original password still works.
    let emails = app.emails_to("dup@example.com");
    assert_eq!(emails.last().unwrap()["subject"], "You already have a Latchkey account");
    app.login("dup@example.com", PASSWORD).expect(200);
    app.login("dup@example.com", "another good passphrase").expect_problem(401, "invalid_credentials");
}

#[test]
fn signup_again_while_unverified_sends_a_fresh_link() {
    let app = TestApp::new();
    app.signup("slow@example.com").expect(202);
    app.signup("slow@example.com").expect(202);
    let emails = app.emails_to("slow@example.com");
    assert_eq!(emails.len(), 2);
    assert!(emails.iter().all(|e| e["subject"] == "Verify your email address"));
}

#[test]
fn signup_field_rules_are_422_with_per_field_detail() {
    let app = TestApp::new();
    let r = app.api().signup("nope", "short", " ").expect_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "password", "name"]);

    app.api().signup("a@example.com", "Password123", "A").expect_problem(422, "password_too_common");
    let long = "x".repeat(129);
    app.api().signup("a@example.com", &long, "A").expect_problem(422, "validation_failed");
}

#[test]
fn bad_bodies_get_clear_errors_never_500() {
    let app = TestApp::new();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("POST", "/v1/auth/signup", b"{".to_vec(), 400, "invalid_json"),
        ("POST", "/v1/auth/signup", b"".to_vec(), 400, "invalid_json"),
        ("POST", "/v1/auth/signup", b"[1,2]".to_vec(), 422, "validation_failed"),
        ("POST", "/v1/auth/signup", br#"{"email":1,"password":2,"name":3}"#.to_vec(), 422, "validation_failed"),
        (
            "POST",
            "/v1/auth/signup",
            br#"{"email":"a@b.co","password":"x","name":"y","role":"owner"}"#.to_vec(),
            422,
            "validation_failed",
        ),
        ("POST", "/v1/auth/login", b"\xff\xfe".to_vec(), 400, "invalid_json"),
        ("POST", "/v1/auth/login", vec![b' '; 70_000], 413, "payload_too_large"),
        ("POST", "/v1/auth/token", br#"{"refresh_token":null}"#.to_vec(), 422, "validation_failed"),
        ("GET", "/v1/nothing-here", vec![], 404, "not_found"),
        ("DELETE", "/v1/auth/login", vec![], 405, "method_not_allowed"),
    ];
    for (method, path, body, status, code) in cases {
        let r = app.request(latchkey::http::Request {
            method: method.into(),
            path: path.into(),
            body,
            ..Default::default()
        });
        assert_eq!((r.status, r.code()), (status, code), "{method} {path}: {}", r.raw);
        assert_eq!(r.body["status"], status, "problem+json carries the status");
    }
}

#[test]
fn unknown_email_and_wrong_password_answer_identically() {
    let app = TestApp::new();
    app.verified_user("known@example.com");
    let unknown = app.login("unknown@example.com", PASSWORD).expect_problem(401, "invalid_credentials");
    let wrong = app.login("known@example.com", "wrong password here").expect_problem(401, "invalid_credentials");
    assert_eq!(unknown.raw, wrong.raw);
    assert_eq!(unknown.header("www-authenticate"), Some("Bearer"));
    app.login("not an email", PASSWORD).expect_problem(401, "invalid_credentials");
}

#[test]
fn ten_failures_lock_the_account_with_doubling_backoff_and_success_resets() {
    let app = TestApp::new();
    app.verified_user("lock@example.com");
    for _ in 0..10 {
        app.login("lock@example.com", "wrong password here").expect_problem(401, "invalid_credentials");
    }
    // Locked: even the right password is refused until Retry-After passes.
    let r = app.login("lock@example.com", PASSWORD).expect_problem(429, "too_many_attempts");
    assert_eq!(r.header("retry-after"), Some("30"));
    // Each failure right after a back-off doubles it, up to 15 minutes.
    let mut wait = 30;
    for expected in [60, 120, 240, 480, 900, 900] {
        app.advance(wait);
        app.login("lock@example.com", "wrong password here").expect_problem(401, "invalid_credentials");
        let r = app.login("lock@example.com", PASSWORD).expect_problem(429, "too_many_attempts");
        assert_eq!(r.header("retry-after"), Some(expected.to_string().as_str()), "after waiting {wait}");
        wait = expected;
    }
    app.advance(900);
    app.login("lock@example.com", PASSWORD).expect(200);
    // A success resets the count: one more failure does not lock.
    app.login("lock@example.com", "wrong password here").expect(401);
    app.login("lock@example.com", PASSWORD).expect(200);
}

#[test]
fn the_lock_is_per_account() {
    let app = TestApp::new();
    app.verified_user("a@example.com");
    app.verified_user("b@example.com");
    for _ in 0..10 {
        app.login("a@example.com", "wrong password here").expect(401);
    }
    app.login("a@example.com", PASSWORD).expect(429);
    app.login("b@example.com", PASSWORD).expect(200);
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::new();
    let s0 = app.verified_user("rot@example.com");
    let s1 = app.api().refresh(&refresh(&s0)).expect(200).body;
    assert_ne!(refresh(&s1), refresh(&s0));
    app.api().me(&s1).expect(200);

    // The rotated-out token comes back: theft. The whole session dies.
    app.api().refresh(&refresh(&s0)).expect_problem(401, "invalid_token");
    app.api().me(&s1).expect_problem(401, "unauthenticated");
    app.api().refresh(&refresh(&s1)).expect_problem(401, "invalid_token");
}

#[test]
fn refresh_tokens_end_30_days_after_sign_in() {
    let app = TestApp::new();
    let s = app.verified_user("old@example.com");
    let mut token = refresh(&s);
    for _ in 0..3 {
        app.advance(9 * 24 * 3600);
        token = refresh(&app.api().refresh(&token).expect(200).body);
    }
    app.advance(3 * 24 * 3600 + 1);
    app.api().refresh(&token).expect_problem(401, "invalid_token");
}

#[test]
fn access_tokens_expire_after_15_minutes() {
    let app = TestApp::new();
    let s = app.verified_user("exp@example.com");
    app.advance(15 * 60 - 1);
    app.api().me(&s).expect(200);
    app.advance(2);
    let r = app.api().me(&s).expect_problem(401, "unauthenticated");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}

#[test]
fn logout_stops_the_access_token_at_once() {
    let app = TestApp::new();
    let s = app.verified_user("out@example.com");
    app.api().logout(&s).expect(204);
    app.api().me(&s).expect_problem(401, "unauthenticated");
    app.api().refresh(&refresh(&s)).expect_problem(401, "invalid_token");
}

#[test]
fn garbage_bearer_tokens_are_401() {
    let app = TestApp::new();
    for bearer in ["x", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", &"A".repeat(5000)] {
        app.api().me(bearer).expect_problem(401, "unauthenticated");
    }
    app.get("/v1/me", None).expect_problem(401, "unauthenticated");
}

#[test]
fn password_change_revokes_other_sessions_but_not_this_one() {
    let app = TestApp::new();
    let a = app.verified_user("pw@example.com");
    let b = app.login("pw@example.com", PASSWORD).expect(200).body;
    app.api()
        .change_password(&b, "nope nope nope", "a brand new passphrase")
        .expect_problem(401, "invalid_credentials");
    app.api().change_password(&b, PASSWORD, "a brand new passphrase").expect(204);
    app.api().me(&b).expect(200);
    app.api().me(&a).expect_problem(401, "unauthenticated");
    app.login("pw@example.com", PASSWORD).expect(401);
    app.login("pw@example.com", "a brand new passphrase").expect(200);
}

#[test]
fn password_reset_sets_the_password_and_revokes_every_session() {
    let app = TestApp::new();
    let s = app.verified_user("reset@example.com");
    app.api().request_password_reset("reset@example.com").expect(202);
    app.api().request_password_reset("nobody@example.com").expect(202);
    assert!(app.emails_to("nobody@example.com").is_empty());
    let token = app.token_from_email("reset@example.com", "/reset-password");

    // A refused password does not burn the link.
    app.api().confirm_password_reset(&token, "password1").expect_problem(422, "password_too_common");
    app.api().confirm_password_reset(&token, "my new long passphrase").expect(204);
    app.api().me(&s).expect(401);
    app.login("reset@example.com", "my new long passphrase").expect(200);
    app.api().confirm_password_reset(&token, "another passphrase here").expect_problem(400, "invalid_token");
}

#[test]
fn reset_links_expire_after_an_hour() {
    let app = TestApp::new();
    app.verified_user("hour@example.com");
    app.api().request_password_reset("hour@example.com").expect(202);
    let token = app.token_from_email("hour@example.com", "/reset-password");
    app.advance(3601);
    app.api().confirm_password_reset(&token, "my new long passphrase").expect_problem(400, "invalid_token");
}

#[test]
fn resend_verification_sends_at_most_five_an_hour() {
    let app = TestApp::new();
    app.signup("many@example.com").expect(202); // 1
    for _ in 0..6 {
        app.api().resend_verification("many@example.com").expect(202);
    }
    assert_eq!(app.emails_to("many@example.com").len(), 5);
    app.advance(3601);
    app.api().resend_verification("many@example.com").expect(202);
    assert_eq!(app.emails_to("many@example.com").len(), 6);
    // Unknown addresses get the same answer and no email.
    app.api().resend_verification("ghost@example.com").expect(202);
    assert!(app.emails_to("ghost@example.com").is_empty());
}

#[test]
fn a_failed_enqueue_loses_nothing_the_link_can_be_resent() {
    let app = TestApp::new();
    app.outbox.fail.set(true);
    app.signup("q@example.com").expect(202);
    app.outbox.fail.set(false);
    assert!(app.emails_to("q@example.com").is_empty());
    app.api().resend_verification("q@example.com").expect(202);
    let token = app.token_from_email("q@example.com", "/verify-email");
    app.api().verify_email(&token, PASSWORD).expect(200);
}

#[test]
fn a_duplicate_delivery_sends_one_email() {
    let app = TestApp::new();
    app.signup("dupe@example.com").expect(202);
    let job = app.outbox.jobs.borrow()[0].clone();
    app.outbox.jobs.borrow_mut().push(job);
    let outcomes = app.deliver_emails();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(app.emails_to("dupe@example.com").len(), 1);
}

#[test]
fn profile_can_be_renamed_within_limits() {
    let app = TestApp::new();
    let s = app.verified_user("name@example.com");
    let r = app.api().rename_me(&s, "  Grace Hopper ").expect(200);
    assert_eq!(r.body["name"], "Grace Hopper");
    app.api().rename_me(&s, "").expect_problem(422, "validation_failed");
    app.patch("/v1/me", Some(&access(&s)), json!({"name": "x", "email": "evil@example.com"}))
        .expect_problem(422, "validation_failed");
    app.api().rename_me(&s, &"x".repeat(101)).expect_problem(422, "validation_failed");
}

#[test]
fn sessions_are_listed_with_the_current_flagged_and_can_be_revoked() {
    let app = TestApp::new();
    let a = app.verified_user("ses@example.com");
    app.advance(1);
    let b = app.login("ses@example.com", PASSWORD).expect(200).body;
    let list = app.api().sessions(&b).expect(200).body;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["current"], true, "newest first, and it is this one");
    assert_eq!(data[1]["current"], false);
    assert_eq!(data[0]["user_agent"], "native-test");
    assert_eq!(list["next_cursor"], serde_json::Value::Null);

    let page1 = app.get("/v1/me/sessions?limit=1", Some(&access(&b))).expect(200).body;
    assert_eq!(page1["data"].as_array().unwrap().len(), 1);
    let cursor = page1["next_cursor"].as_str().unwrap().to_owned();
    let page2 = app.get(&format!("/v1/me/sessions?limit=1&cursor={cursor}"), Some(&access(&b))).expect(200).body;
    assert_eq!(page2["data"][0]["id"], data[1]["id"]);
    app.get("/v1/me/sessions?limit=0", Some(&access(&b))).expect_problem(422, "validation_failed");
    app.get("/v1/me/sessions?limit=101", Some(&access(&b))).expect_problem(422, "validation_failed");

    let a_id = data[1]["id"].as_str().unwrap();
    app.api().revoke_session(&b, a_id).expect(204);
    app.api().me(&a).expect(401);
    app.api().revoke_session(&b, a_id).expect_problem(404, "not_found");
}

#[test]
fn another_users_session_is_404() {
    let app = TestApp::new();
    let a = app.verified_user("one@example.com");
    let b = app.verified_user("two@example.com");
    let list = app.api().sessions(&a).expect(200).body;
    let a_id = list["data"][0]["id"].as_str().unwrap();
    app.api().revoke_session(&b, a_id).expect_problem(404, "not_found");
    app.api().me(&a).expect(200);
}

#[test]
fn api_keys_in_query_strings_are_refused() {
    let app = TestApp::new();
    app.get("/v1/me?api_key=lk_abcdef", None).expect_problem(400, "api_key_in_url");
    app.get("/health?x=lk_123", None).expect_problem(400, "api_key_in_url");
}

#[test]
fn dev_mail_sink_does_not_exist_outside_development() {
    let mut config = config();
    config.development = false;
    let app = TestApp::with_config(config);
    app.get("/v1/dev/emails?to=a@example.com", None).expect_problem(404, "not_found");
}

#[test]
fn jwks_publishes_the_signing_key() {
    let app = TestApp::new();
    let jwks = app.get("/.well-known/jwks.json", None).expect(200).body;
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let s = app.verified_user("jwks@example.com");
    let header = access(&s).split('.').next().unwrap().to_owned();
    use base64::Engine;
    let header: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["kid"], key["kid"]);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
}

const ATTACKER: &str = "attacker passphrase";

fn signup_as(app: &TestApp, email: &str, password: &str) {
    app.api().signup(email, password, "Someone").expect(202);
}

fn verify(app: &TestApp, token: &str, password: &str) -> testapp::Resp {
    app.api().verify_email(token, password)
}

/// The newest link to `/verify-email` emailed to `to`, and all of them.
fn links(app: &TestApp, to: &str) -> Vec<String> {
    let texts: Vec<String> = app.emails_to(to).iter().map(|e| e["text"].as_str().unwrap().to_owned()).collect();
    texts.iter().filter(|t| t.contains("/verify-email#token=")).map(|t| extract_token(t, "/verify-email")).collect()
}

#[test]
fn a_later_signup_never_sets_the_password_of_whoever_verifies() {
    // Victim first, attacker second; the victim opens the newest email (the attacker's link).
    let app = TestApp::new();
    signup_as(&app, "v@example.com", PASSWORD);
    signup_as(&app, "v@example.com", ATTACKER);
    let links = links(&app, "v@example.com");
    assert_eq!(links.len(), 2);
    verify(&app, &links[1], PASSWORD).expect_problem(401, "password_mismatch");
    // Nothing changed: still unverified, the link still alive.
    app.login("v@example.com", PASSWORD).expect_problem(403, "email_not_verified");
    verify(&app, &links[0], PASSWORD).expect(200);
    app.login("v@example.com", PASSWORD).expect(200);
    app.login("v@example.com", ATTACKER).expect_problem(401, "invalid_credentials");
    // The attacker's link died with the verification.
    verify(&app, &links[1], ATTACKER).expect_problem(400, "invalid_token");
    app.login("v@example.com", PASSWORD).expect(200);
}

#[test]
fn an_earlier_signup_by_a_stranger_never_becomes_my_password() {
    // Attacker first, victim second; either link verifies only with its own sign-up's password.
    let app = TestApp::new();
    signup_as(&app, "v@example.com", ATTACKER);
    signup_as(&app, "v@example.com", PASSWORD);
    let links = links(&app, "v@example.com");
    verify(&app, &links[0], PASSWORD).expect_problem(401, "password_mismatch");
    app.login("v@example.com", ATTACKER).expect_problem(403, "email_not_verified");
    let session = verify(&app, &links[1], PASSWORD).expect(200).body;
    assert_eq!(session["user"]["email_verified"], true);
    app.login("v@example.com", PASSWORD).expect(200);
    app.login("v@example.com", ATTACKER).expect_problem(401, "invalid_credentials");
}

#[test]
fn a_resend_link_verifies_only_with_a_password_chosen_at_signup() {
    for (first, second) in [(PASSWORD, ATTACKER), (ATTACKER, PASSWORD)] {
        let app = TestApp::new();
        signup_as(&app, "v@example.com", first);
        signup_as(&app, "v@example.com", second);
        app.api().resend_verification("v@example.com").expect(202);
        let resent = links(&app, "v@example.com").pop().unwrap();
        verify(&app, &resent, "a password nobody chose").expect_problem(401, "password_mismatch");
        let missing = app.post("/v1/auth/verify-email", None, json!({"token": resent})).expect(422).body;
        assert_eq!(missing["errors"][0]["field"], "password");
        verify(&app, &resent, PASSWORD).expect(200);
        app.login("v@example.com", PASSWORD).expect(200);
        app.login("v@example.com", ATTACKER).expect_problem(401, "invalid_credentials");
    }
}

#[test]
fn verifying_ends_every_other_link_and_a_verified_account_gets_no_session_from_a_link() {
    let app = TestApp::new();
    signup_as(&app, "v@example.com", PASSWORD);
    app.api().resend_verification("v@example.com").expect(202);
    app.api().request_password_reset("v@example.com").expect(202);
    let verify_links = links(&app, "v@example.com");
    let reset = app.token_from_email("v@example.com", "/reset-password");
    verify(&app, &verify_links[0], PASSWORD).expect(200);
    // The resend's link is dead: no second session from an emailed link.
    verify(&app, &verify_links[1], PASSWORD).expect_problem(400, "invalid_token");
    // The reset link sent before verification is dead too.
    app.api().confirm_password_reset(&reset, "another long passphrase").expect_problem(400, "invalid_token");
    app.login("v@example.com", PASSWORD).expect(200);
}

#[test]
fn resetting_or_changing_the_password_ends_every_other_emailed_link() {
    let app = TestApp::new();
    signup_as(&app, "r@example.com", PASSWORD);
    // Two reset links; the account is unverified and has a pending verification link.
    app.api().request_password_reset("r@example.com").expect(202);
    let first_reset = app.token_from_email("r@example.com", "/reset-password");
    app.api().request_password_reset("r@example.com").expect(202);
    let second_reset = app.token_from_email("r@example.com", "/reset-password");
    let verify_link = links(&app, "r@example.com")[0].clone();
    let new = "a brand new passphrase";
    app.api().confirm_password_reset(&second_reset, new).expect(204);
    app.api().confirm_password_reset(&first_reset, ATTACKER).expect_problem(400, "invalid_token");
    verify(&app, &verify_link, PASSWORD).expect_problem(400, "invalid_token");
    let session = app.login("r@example.com", new).expect(200).body;

    // A reset link requested before a password change dies with the change.
    app.api().request_password_reset("r@example.com").expect(202);
    let reset = app.token_from_email("r@example.com", "/reset-password");
    app.api().change_password(&session, new, "yet another passphrase").expect(204);
    app.api().confirm_password_reset(&reset, ATTACKER).expect_problem(400, "invalid_token");
    app.login("r@example.com", "yet another passphrase").expect(200);
}

#[test]
fn resend_and_reset_answer_202_even_for_malformed_addresses() {
    let app = TestApp::new();
    app.api().resend_verification("not an address").expect(202);
    app.api().request_password_reset("@@").expect(202);
}

#[test]
fn verifying_ends_a_back_off_that_someone_else_ran_up_on_the_address() {
    let app = TestApp::new();
    signup_as(&app, "v@example.com", PASSWORD);
    for _ in 0..10 {
        app.login("v@example.com", ATTACKER).expect_problem(401, "invalid_credentials");
    }
    app.login("v@example.com", PASSWORD).expect_problem(429, "too_many_attempts");
    let link = links(&app, "v@example.com").remove(0);
    verify(&app, &link, PASSWORD).expect(200);
    app.login("v@example.com", PASSWORD).expect(200);
}

#[test]
fn the_verifier_gets_the_name_of_their_own_signup_not_a_strangers() {
    for resend in [false, true] {
        let app = TestApp::new();
        app.api().signup("v@example.com", ATTACKER, "Mallory").expect(202);
        app.api().signup("v@example.com", PASSWORD, "Me").expect(202);
        if resend {
            app.api().resend_verification("v@example.com").expect(202);
        }
        let link = links(&app, "v@example.com").pop().unwrap();
        let session = verify(&app, &link, PASSWORD).expect(200).body;
        assert_eq!(session["user"]["name"], "Me", "resend: {resend}");
        let me = app.api().me(&session).expect(200).body;
        assert_eq!(me["name"], "Me", "resend: {resend}");
    }
}
