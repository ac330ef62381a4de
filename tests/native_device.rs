//! Device sign-in (RFC 8628) through the real router over SQLite and the
//! manual clock: request, polling (pending, slow_down's growing interval,
//! expiry), approval and denial in the console's routes, single-use
//! redemption, and the attacks on each rule (two at once, API keys,
//! suspended accounts, someone else's code).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use latchkey::http::{self, Request};
use serde_json::{json, Value};
use testapp::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

struct Started {
    device_code: String,
    user_code: String,
}

fn start(app: &TestApp, client_name: Option<&str>) -> Started {
    let r = app.api().device_request(client_name).expect(200).body;
    Started {
        device_code: r["device_code"].as_str().unwrap().to_owned(),
        user_code: r["user_code"].as_str().unwrap().to_owned(),
    }
}

fn poll(app: &TestApp, s: &Started) -> Reply {
    app.api().device_token(&s.device_code)
}

/// Two requests run together: each one's first round trip is made before
/// either's second (the router awaits each D1 batch).
fn at_once(app: &TestApp, a: Request, b: Request) -> (Reply, Reply) {
    let (x, y) = pollster::block_on(futures_util::future::join(http::handle(&app.deps, a), http::handle(&app.deps, b)));
    let reply = |r: http::Response| Reply::new(r.status, r.headers, String::from_utf8_lossy(&r.body).into_owned());
    (reply(x), reply(y))
}

fn post(path: &str, bearer: Option<&str>, body: Value) -> Request {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(b) = bearer {
        headers.push(("authorization".into(), format!("Bearer {b}")));
    }
    Request {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers,
        body: body.to_string().into_bytes(),
    }
}

#[test]
fn the_cli_asks_a_person_approves_and_the_next_poll_gets_their_session_once() {
    let app = TestApp::new();
    let api = app.api();
    let person = api.verified("ada@example.com");
    let r = app
        .send(
            "POST",
            "/v1/auth/device",
            None,
            &[("user-agent", "latchkey-cli/0.1 (linux)"), ("cf-connecting-ip", "203.0.113.7")],
            br#"{"client_name": "ada's laptop"}"#,
        )
        .expect(200)
        .body;
    let user_code = r["user_code"].as_str().unwrap().to_owned();
    let device_code = r["device_code"].as_str().unwrap().to_owned();
    assert_eq!((r["expires_in"].as_i64(), r["interval"].as_i64()), (Some(600), Some(5)), "{r}");
    assert_eq!(device_code.len(), 43, "32 bytes, base64url: {r}");
    assert!(device_code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{r}");
    assert_eq!(user_code.len(), 9, "{r}");
    assert!(user_code.chars().enumerate().all(|(i, c)| if i == 4 {
        c == '-'
    } else {
        "BCDFGHJKLMNPQRSTVWXZ".contains(c)
    }));
    let base = app.deps.config.app_url.clone();
    assert_eq!(r["verification_uri"], format!("{base}/device"));
    assert_eq!(r["verification_uri_complete"], format!("{base}/device#user_code={user_code}"));
    // Neither code is stored as it is.
    let stored = app.rows(latchkey::stmt!("SELECT device_code_hash, user_code_hash FROM device_authorizations"));
    let stored = stored[0].to_string();
    assert!(
        !stored.contains(&device_code) && !stored.contains(&user_code) && !stored.contains(&user_code.replace('-', ""))
    );

    let shown = api.device_preview(&person, &user_code).expect(200).body;
    assert_eq!(shown["client_name"], "ada's laptop");
    assert_eq!(shown["requested_ip"], "203.0.113.7");
    assert_eq!(shown["requested_user_agent"], "latchkey-cli/0.1 (linux)");
    assert!(shown["created_at"].is_string() && shown["expires_at"].is_string(), "{shown}");

    let approved = api.device_approve(&person, &user_code).expect(200).body;
    assert_eq!(approved, json!({"status": "approved", "client_name": "ada's laptop"}));
    // Decided: no longer shown, approved or denied.
    api.device_preview(&person, &user_code).expect_problem(400, "invalid_token");
    api.device_deny(&person, &user_code).expect_problem(400, "invalid_token");

    let body = json!({"device_code": device_code, "grant_type": GRANT}).to_string();
    let session = app
        .send("POST", "/v1/auth/device/token", None, &[("user-agent", "latchkey-cli/0.1 (linux)")], body.as_bytes())
        .expect(200)
        .body;
    assert_eq!(session["token_type"], "Bearer");
    assert!(session["refresh_token"].is_string() && session["expires_in"].is_i64(), "{session}");
    assert_eq!(session["user"]["email"], "ada@example.com");
    let me = api.me(session["access_token"].as_str().unwrap()).expect(200).body;
    assert_eq!(me["id"], person.id());
    // The refresh token rotates like any session's.
    api.refresh(session["refresh_token"].as_str().unwrap()).expect(200);

    // The session list says where it came from.
    let sessions = api.sessions(&person).expect(200).body;
    let device: Vec<&Value> = sessions["data"].as_array().unwrap().iter().filter(|s| s["method"] == "device").collect();
    assert_eq!(device.len(), 1, "{sessions}");
    assert_eq!(device[0]["client_name"], "ada's laptop");
    assert_eq!(device[0]["user_agent"], "latchkey-cli/0.1 (linux)");
    let others: Vec<&Value> = sessions["data"].as_array().unwrap().iter().filter(|s| s["method"] != "device").collect();
    assert!(others.iter().all(|s| s.get("client_name").is_none()), "{sessions}");

    // Exactly once: the next poll finds it spent.
    app.advance(5);
    api.device_token(&device_code).expect_problem(400, "invalid_token");
    // The person's security log records the approval.
    let log = api.user_audit_log(&person).expect(200).body;
    let entry = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "device.approved").unwrap().clone();
    assert_eq!(entry["data"]["client_name"], "ada's laptop");
    assert_eq!(entry["data"]["requested_ip"], "203.0.113.7");
    assert_eq!(entry["actor"]["id"], person.id());
}

#[test]
fn polls_answer_pending_until_someone_decides_and_the_name_defaults() {
    let app = TestApp::new();
    let s = start(&app, None);
    let person = app.api().verified("ada@example.com");
    assert_eq!(app.api().device_preview(&person, &s.user_code).expect(200).body["client_name"], "Latchkey CLI");
    for _ in 0..3 {
        poll(&app, &s).expect_problem(400, "authorization_pending");
        app.advance(5);
    }
    app.api().device_approve(&person, &s.user_code).expect(200);
    poll(&app, &s).expect(200);
}

#[test]
fn polling_sooner_than_the_interval_answers_slow_down_and_the_interval_grows_by_five_each_time() {
    let app = TestApp::new();
    let s = start(&app, None);
    poll(&app, &s).expect_problem(400, "authorization_pending");
    app.advance(4);
    let r = poll(&app, &s).expect_problem(400, "slow_down");
    assert_eq!(r.body["interval"], 10, "{}", r.raw);
    // The hurried poll counts as a poll: 9 s later is still too soon for 10.
    app.advance(9);
    assert_eq!(poll(&app, &s).expect_problem(400, "slow_down").body["interval"], 15);
    app.advance(15);
    let r = poll(&app, &s).expect_problem(400, "authorization_pending");
    assert!(r.body.get("interval").is_none(), "{}", r.raw);
    // It never shrinks back: 10 s is now too soon, and an approval does not excuse it.
    let person = app.api().verified("ada@example.com");
    app.api().device_approve(&person, &s.user_code).expect(200);
    app.advance(10);
    assert_eq!(poll(&app, &s).expect_problem(400, "slow_down").body["interval"], 20);
    app.advance(20);
    poll(&app, &s).expect(200);
}

#[test]
fn an_unanswered_request_expires_after_ten_minutes_and_the_sweep_removes_it() {
    let app = TestApp::new();
    let s = start(&app, None);
    let person = app.api().verified("ada@example.com");
    app.advance(599);
    app.api().device_preview(&person, &s.user_code).expect(200);
    app.advance(1);
    poll(&app, &s).expect_problem(400, "expired_token");
    app.api().device_preview(&person, &s.user_code).expect_problem(400, "invalid_token");
    app.api().device_approve(&person, &s.user_code).expect_problem(400, "invalid_token");
    app.advance(10);
    poll(&app, &s).expect_problem(400, "expired_token");
    // An approved request expires the same way if nobody polls in time.
    let late = start(&app, None);
    app.api().device_approve(&person, &late.user_code).expect(200);
    app.advance(600);
    poll(&app, &late).expect_problem(400, "expired_token");

    let count = |app: &TestApp| app.rows(latchkey::stmt!("SELECT id FROM device_authorizations")).len();
    assert_eq!(count(&app), 2);
    // Within the hour after expiry the rows stay (a CLI still polling hears
    // expired_token); then the scheduled sweep deletes them.
    app.sweep();
    assert_eq!(count(&app), 2);
    app.advance(3_601);
    let fresh = start(&app, None);
    app.sweep();
    assert_eq!(count(&app), 1, "only the live request remains");
    poll(&app, &s).expect_problem(400, "invalid_token");
    poll(&app, &fresh).expect_problem(400, "authorization_pending");
}

#[test]
fn a_denied_request_answers_access_denied_and_never_a_session() {
    let app = TestApp::new();
    let s = start(&app, Some("someone's CLI"));
    let person = app.api().verified("ada@example.com");
    assert_eq!(app.api().device_deny(&person, &s.user_code).expect(200).body, json!({"status": "denied"}));
    poll(&app, &s).expect_problem(400, "access_denied");
    app.api().device_approve(&person, &s.user_code).expect_problem(400, "invalid_token");
    app.advance(5);
    poll(&app, &s).expect_problem(400, "access_denied");
    let log = app.api().user_audit_log(&person).expect(200).body;
    assert!(log["data"].as_array().unwrap().iter().any(|e| e["action"] == "device.denied"), "{log}");
}

#[test]
fn a_redeemed_code_is_invalid_and_two_polls_at_once_make_one_session() {
    let app = TestApp::new();
    let person = app.api().verified("ada@example.com");
    let s = start(&app, None);
    app.api().device_approve(&person, &s.user_code).expect(200);
    let body = json!({"device_code": s.device_code});
    let (a, b) =
        at_once(&app, post("/v1/auth/device/token", None, body.clone()), post("/v1/auth/device/token", None, body));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "{} / {}", a.raw, b.raw);
    let loser = if a.status == 400 { &a } else { &b };
    assert_eq!(loser.code(), "invalid_token", "{}", loser.raw);
    let sessions = app.rows(latchkey::stmt!("SELECT id FROM sessions WHERE method = 'device'"));
    assert_eq!(sessions.len(), 1);
    app.advance(60);
    poll(&app, &s).expect_problem(400, "invalid_token");
    // Unknown and malformed codes answer alike.
    app.api().device_token("x".repeat(43).as_str()).expect_problem(400, "invalid_token");
    app.api().device_token("not a code!").expect_problem(400, "invalid_token");
}

#[test]
fn an_approval_and_a_denial_at_once_exactly_one_wins() {
    let app = TestApp::new();
    let ada = app.api().verified("ada@example.com");
    let bob = app.api().verified("bob@example.com");
    let s = start(&app, None);
    let code = json!({"user_code": s.user_code});
    let (a, b) = at_once(
        &app,
        post("/v1/auth/device/approve", Some(&ada.token()), code.clone()),
        post("/v1/auth/device/deny", Some(&bob.token()), code),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "{} / {}", a.raw, b.raw);
    let status = app.rows(latchkey::stmt!("SELECT status, user_id FROM device_authorizations"));
    if a.status == 200 {
        assert_eq!(status[0]["status"], "approved");
        assert_eq!(status[0]["user_id"], ada.id());
        poll(&app, &s).expect(200);
    } else {
        assert_eq!(status[0]["status"], "denied");
        assert_eq!(status[0]["user_id"], bob.id());
        poll(&app, &s).expect_problem(400, "access_denied");
    }
    // Two approvals at once: one.
    let s = start(&app, None);
    let code = json!({"user_code": s.user_code});
    let (a, b) = at_once(
        &app,
        post("/v1/auth/device/approve", Some(&ada.token()), code.clone()),
        post("/v1/auth/device/approve", Some(&bob.token()), code),
    );
    assert_eq!([a.status, b.status].iter().filter(|s| **s == 200).count(), 1, "{} / {}", a.raw, b.raw);
    let log = |p: &Person| app.api().user_audit_log(p).expect(200).body["data"].as_array().unwrap().len();
    assert_eq!(log(&ada) + log(&bob), 2, "one audit row per decision that happened");
}

#[test]
fn an_api_key_can_neither_see_approve_nor_deny() {
    let f = Fixture::new(TestApp::new()).org_with("Acme", &[]).key_with_scopes(&["org:read", "members:read"]);
    let key = f.key.clone();
    let s = start(&f.app, None);
    f.api().device_preview(key.as_str(), &s.user_code).expect_problem(403, "user_required");
    f.api().device_approve(key.as_str(), &s.user_code).expect_problem(403, "user_required");
    f.api().device_deny(key.as_str(), &s.user_code).expect_problem(403, "user_required");
    f.app
        .call("POST", "/v1/auth/device/approve", None, Some(json!({"user_code": s.user_code})))
        .expect_problem(401, "unauthenticated");
    poll(&f.app, &s).expect_problem(400, "authorization_pending");
}

#[test]
fn a_user_code_typed_in_lower_case_with_spaces_and_no_hyphen_works() {
    let app = TestApp::new();
    let person = app.api().verified("ada@example.com");
    let s = start(&app, None);
    let typed = format!(" {} {} ", s.user_code[..4].to_lowercase(), s.user_code[5..].to_lowercase());
    app.api().device_preview(&person, &typed).expect(200);
    let squashed = s.user_code.replace('-', "").to_lowercase();
    app.api().device_approve(&person, &squashed).expect(200);
    poll(&app, &s).expect(200);
    // Letters outside the alphabet never match.
    app.api().device_preview(&person, "AEIO-UY12").expect_problem(400, "invalid_token");
}

/// The phishing property of RFC 8628 (§5.4): the session goes to whoever
/// approves. If an attacker starts a sign-in and talks a victim into
/// approving its code, the attacker's CLI gets a session of the VICTIM's
/// account, not the attacker's. The console's warning and the request's
/// address and user agent are the defence; the server cannot tell.
#[test]
fn the_session_goes_to_the_person_who_approves_even_a_code_someone_else_started_phishing() {
    let app = TestApp::new();
    let attacker = app.api().verified("mallory@example.com");
    let victim = app.api().verified("victim@example.com");
    // Mallory starts it (signed in or not does not matter: the request is public).
    let s = start(&app, Some("Latchkey CLI"));
    let shown = app.api().device_preview(&victim, &s.user_code).expect(200).body;
    assert!(
        shown["requested_ip"].is_null() || shown["requested_ip"].is_string(),
        "the console shows where it came from"
    );
    app.api().device_approve(&victim, &s.user_code).expect(200);
    let session = poll(&app, &s).expect(200).body;
    assert_eq!(session["user"]["id"], victim.id());
    assert_ne!(session["user"]["id"], attacker.id());
    let me = app.api().me(session["access_token"].as_str().unwrap()).expect(200).body;
    assert_eq!(me["email"], "victim@example.com");
    // The victim sees the device session in their own list and can end it.
    let sessions = app.api().sessions(&victim).expect(200).body;
    let device = sessions["data"].as_array().unwrap().iter().find(|s| s["method"] == "device").unwrap().clone();
    app.api().revoke_session(&victim, device["id"].as_str().unwrap()).expect(204);
    app.api().me(session["access_token"].as_str().unwrap()).expect_problem(401, "unauthenticated");
}

#[test]
fn a_suspended_account_can_neither_approve_nor_redeem_an_approval() {
    let app = TestApp::new();
    let ada = app.api().verified("ada@example.com");
    let suspend = |id: &str, at: Option<i64>| {
        app.rows(latchkey::stmt!("UPDATE users SET suspended_at = ?2 WHERE id = ?1", id, at));
    };
    // Suspended before approving: refused, nothing decided.
    let s = start(&app, None);
    suspend(&ada.id(), Some(app.clock_now()));
    app.api().device_approve(&ada, &s.user_code).expect_problem(403, "account_suspended");
    app.api().device_preview(&ada, &s.user_code).expect_problem(403, "account_suspended");
    poll(&app, &s).expect_problem(400, "authorization_pending");
    // Suspended after approving: the poll gets nothing, and the request is not spent.
    suspend(&ada.id(), None);
    app.api().device_approve(&ada, &s.user_code).expect(200);
    suspend(&ada.id(), Some(app.clock_now()));
    app.advance(5);
    poll(&app, &s).expect_problem(403, "account_suspended");
    assert!(app.rows(latchkey::stmt!("SELECT id FROM sessions WHERE method = 'device'")).is_empty());
}

#[test]
fn bad_requests_are_refused_with_their_codes() {
    let app = TestApp::new();
    let s = start(&app, None);
    app.api().device_request(Some("")).expect_problem(422, "validation_failed");
    app.api().device_request(Some(&"x".repeat(65))).expect_problem(422, "validation_failed");
    app.api().device_request(Some("bell\u{7}")).expect_problem(422, "validation_failed");
    app.api().device_request(Some(&"é".repeat(64))).expect(200);
    app.call(
        "POST",
        "/v1/auth/device/token",
        None,
        Some(json!({"device_code": s.device_code, "grant_type": "authorization_code"})),
    )
    .expect_problem(400, "unsupported_grant_type");
    // Without grant_type it is the device code grant.
    app.call("POST", "/v1/auth/device/token", None, Some(json!({"device_code": s.device_code})))
        .expect_problem(400, "authorization_pending");
    app.call("POST", "/v1/auth/device/token", None, Some(json!({}))).expect_problem(422, "validation_failed");
    app.call("POST", "/v1/auth/device/token", None, Some(json!({"device_code": s.device_code, "client_id": "x"})))
        .expect_problem(422, "validation_failed");
}

#[test]
fn guessing_user_codes_passes_the_per_client_ip_limit() {
    let app = TestApp::with_config(config_with(&[("IP_RATE_LIMIT", "on")]));
    let person = app.api().verified("ada@example.com");
    // Three more requests from this client (no CF-Connecting-IP: the shared bucket).
    let seen_before = app.ip_limiter.seen.borrow().iter().filter(|k| *k == "auth:unknown").count();
    app.ip_limiter.limit.set(seen_before as u32 + 3);
    for guess in ["BBBB-BBBB", "CCCC-CCCC"] {
        app.api().device_preview(&person, guess).expect_problem(400, "invalid_token");
    }
    app.api().device_approve(&person, "DDDD-DDDD").expect_problem(400, "invalid_token");
    let r = app.api().device_approve(&person, "FFFF-FFFF");
    assert!(r.status == 429 && r.code() == "too_many_attempts", "{}", r.raw);
}
