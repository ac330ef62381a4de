//! Runtime tests: the built Worker in workerd (wrangler dev) with local D1 and
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
//! the real queue consumer. Needs `make build` first (`make test` does it).
use crate::support;

use serde_json::json;
use std::time::Duration;
use support::*;

fn token_of(resp: &Resp, field: &str) -> String {
    resp.json()[field].as_str().unwrap_or_else(|| panic!("{field} in {}", resp.raw)).to_owned()
}

#[test]
fn signup_verify_login_me_refresh_logout_through_the_real_queue() {
    let w = Worker::shared();

    let health = w.api().health();
    assert_eq!(health.status, 200, "{}", health.raw);
    let timing = health.header("server-timing").expect("Server-Timing in development");
    assert!(timing.starts_with("d1;desc=\"1 call\""), "{timing}");

    let r = w.api().signup("Ada@Example.com", PASSWORD, "Ada");
    assert_eq!(r.status, 202, "{}", r.raw);
    assert_eq!(r.json(), json!({"status": "verification_email_sent"}));

    let r = w.api().login("ada@example.com", PASSWORD);
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("email_not_verified")));

    // The email goes app → EMAILS queue → consumer → dev mailer (D1) → sink.
    let emails = w.wait_for_emails("ada@example.com", 1);
    assert_eq!(emails[0]["subject"], "Verify your email address");
    let token = extract_token(emails[0]["text"].as_str().unwrap(), "/verify-email");

    let verified = w.api().verify_email(&token, PASSWORD);
    assert_eq!(verified.status, 200, "{}", verified.raw);
    assert_eq!(verified.json()["user"]["email_verified"], true);
    let again = w.api().verify_email(&token, PASSWORD);
    assert_eq!((again.status, again.json()["code"].as_str()), (400, Some("invalid_token")));

    let login = w.api().login("ADA@example.com", PASSWORD);
    assert_eq!(login.status, 200, "{}", login.raw);
    let access = token_of(&login, "access_token");
    let refresh = token_of(&login, "refresh_token");

    let me = w.api().me(&access);
    assert_eq!(me.status, 200, "{}", me.raw);
    assert_eq!(me.json()["email"], "ada@example.com");
    let timing = me.header("server-timing").unwrap();
    assert!(timing.starts_with("d1;desc=\"1 call\""), "an authenticated read costs one D1 round trip: {timing}");

    let rotated = w.api().refresh(&refresh);
    assert_eq!(rotated.status, 200, "{}", rotated.raw);
    let access2 = token_of(&rotated, "access_token");
    assert_eq!(w.api().me(&access2).status, 200);

    let reuse = w.api().refresh(&refresh);
    assert_eq!((reuse.status, reuse.json()["code"].as_str()), (401, Some("invalid_token")));
    assert_eq!(w.api().me(&access2).status, 401, "reuse revoked the whole session");

    let login = w.api().login("ada@example.com", PASSWORD);
    let access3 = token_of(&login, "access_token");
    let out = w.api().logout(&access3);
    assert_eq!(out.status, 204, "{}", out.raw);
    let after = w.api().me(&access3);
    assert_eq!(after.status, 401);
    assert!(after.header("www-authenticate").unwrap_or("").starts_with("Bearer"));
}

#[test]
fn bad_input_is_never_a_500_in_workerd() {
    let w = Worker::shared();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("POST", "/v1/auth/signup", b"{".to_vec(), 400, "invalid_json"),
        ("POST", "/v1/auth/login", br#"{"email":[],"password":{}}"#.to_vec(), 422, "validation_failed"),
        ("POST", "/v1/auth/login", vec![b'x'; 70_000], 413, "payload_too_large"),
        // The same on a route the management Worker serves (before its 401).
        ("POST", "/v1/orgs", vec![b'x'; 70_000], 413, "payload_too_large"),
        ("GET", "/v1/me?key=lk_live", vec![], 400, "api_key_in_url"),
        // (Outside /v1 a path is the console's: its entry page, see e2e_console.)
        ("GET", "/v1/nope", vec![], 404, "not_found"),
    ];
    for (method, path, body, status, code) in cases {
        let r = w.send(method, path, None, &[("content-type", "application/json")], Some(&body));
        assert_eq!(r.status, status, "{method} {path}: {}", r.raw);
        assert_eq!(r.json()["code"], code);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    // Password reset through the queue, and its link.
    let signup = w.api().signup("r@example.com", PASSWORD, "R");
    assert_eq!(signup.status, 202);
    let verify = extract_token(w.wait_for_emails("r@example.com", 1)[0]["text"].as_str().unwrap(), "/verify-email");
    assert_eq!(w.api().verify_email(&verify, PASSWORD).status, 200);
    assert_eq!(w.api().request_password_reset("r@example.com").status, 202);
    let emails = w.wait_for_emails("r@example.com", 2);
    let reset = extract_token(emails[1]["text"].as_str().unwrap(), "/reset-password");
    let r = w.api().confirm_password_reset(&reset, "a whole new passphrase");
    assert_eq!(r.status, 204, "{}", r.raw);
    let login = w.api().login("r@example.com", "a whole new passphrase");
    assert_eq!(login.status, 200);
}

#[test]
fn http_mailer_posts_resend_compatible_json_retries_a_503_and_delivers_once() {
    let stub = MailStub::start(vec![503]);
    let w = Worker::start_with(WorkerOptions {
        vars: vec![("MAILER".into(), "http".into()), ("MAIL_API_URL".into(), stub.url())],
    });
    let r = w.api().signup("mail@example.com", PASSWORD, "Mae");
    assert_eq!(r.status, 202, "{}", r.raw);

    let requests = stub.wait_for_requests(2, Duration::from_secs(30));
    assert_eq!(requests[0].status_answered, 503);
    assert_eq!(requests[1].status_answered, 200);
    for req in &requests {
        assert_eq!(req.method, "POST");
        assert_eq!(req.header("authorization"), Some("Bearer test-mail-key"));
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.body["to"], json!(["mail@example.com"]));
        assert_eq!(req.body["subject"], "Verify your email address");
        assert!(req.body["from"].as_str().unwrap().contains('@'));
        assert!(req.body["text"].as_str().unwrap().contains("/verify-email#token="));
        assert!(req.body["html"].as_str().unwrap().contains("<a href="));
    }
    let key = requests[0].header("idempotency-key").expect("Idempotency-Key");
    assert_eq!(requests[1].header("idempotency-key"), Some(key), "a retry keeps its idempotency key");

    // Once delivered, nothing more is sent.
    std::thread::sleep(Duration::from_secs(4));
    let delivered: Vec<_> = stub.requests().into_iter().filter(|r| r.status_answered == 200).collect();
    assert_eq!(delivered.len(), 1, "exactly one successful delivery");
    assert_eq!(stub.requests().len(), 2);

    // The emailed link works against the Worker.
    let token = extract_token(requests[1].body["text"].as_str().unwrap(), "/verify-email");
    assert_eq!(w.api().verify_email(&token, PASSWORD).status, 200);
}

#[test]
fn dev_mail_sink_is_404_outside_development() {
    let w = Worker::start_with(WorkerOptions {
        vars: vec![
            ("ENVIRONMENT".into(), "production".into()),
            ("MAILER".into(), "http".into()),
            ("MAIL_API_URL".into(), "http://127.0.0.1:9/emails".into()),
        ],
    });
    let r = w.get("/v1/dev/emails?to=a%40example.com", None);
    assert_eq!((r.status, r.json()["code"].as_str()), (404, Some("not_found")));
    assert!(r.header("server-timing").is_none(), "no timing details outside development");
}

/// "Forgot your password?" in the console, end to end: the emailed link
/// (through the real queue) sets a new password once, and every session the
/// account had is over.
#[test]
fn a_person_resets_their_password_in_the_browser() {
    let w = Worker::shared();
    let before = w.api().verified("reset@example.com");
    let new_password = "a brand new passphrase";
    let said = browser("reset.mjs", &[&w.url(""), "reset@example.com", new_password], "reset");
    assert!(said.contains("reset done"), "{said}");
    w.api().me(&before).expect_problem(401, "unauthenticated");
    assert_eq!(w.api().login("reset@example.com", PASSWORD).status, 401, "the old password is gone");
    w.api().login("reset@example.com", new_password).expect(200);
}
