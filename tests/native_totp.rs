//! Two-factor authentication, through the real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
mod testapp;

use serde_json::{json, Value};
use testapp::*;

/// A verified user with 2FA on: (session, secret, recovery codes).
fn enrolled(app: &TestApp, email: &str) -> (Value, String, Vec<String>) {
    let s = app.verified_user(email);
    let e = app.post("/v1/me/totp", Some(&access(&s)), json!({})).expect(200).body;
    let secret = e["secret"].as_str().unwrap().to_owned();
    assert!(e["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Latchkey:"));
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));
    let r = app
        .post("/v1/me/totp/confirm", Some(&access(&s)), json!({"code": totp_code(&secret, app.clock_now())}))
        .expect(200)
        .body;
    let codes: Vec<String> =
        r["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    app.advance(30); // the next login needs a later step
    (s, secret, codes)
}

fn mfa_token(app: &TestApp, email: &str) -> String {
    let r = app.login(email, PASSWORD).expect(200).body;
    assert_eq!(r["mfa_required"], true, "{r}");
    assert!(r.get("access_token").is_none());
    r["mfa_token"].as_str().unwrap().to_owned()
}

#[test]
fn enrol_confirm_then_login_needs_the_second_factor() {
    let app = TestApp::new();
    let (s, secret, _) = enrolled(&app, "mfa@example.com");
    assert_eq!(app.get("/v1/me", Some(&access(&s))).expect(200).body["totp_enabled"], true);
    let t = mfa_token(&app, "mfa@example.com");
    let c = totp_code(&secret, app.clock_now());
    let session = app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": c})).expect(200).body;
    app.get("/v1/me", Some(&access(&session))).expect(200);
    // The same code again, with a new token: a replay.
    let t2 = mfa_token(&app, "mfa@example.com");
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t2, "code": c})).expect_problem(401, "invalid_otp");
    // The spent token is gone.
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": c})).expect_problem(400, "invalid_token");
}

#[test]
fn the_window_is_one_step_either_side() {
    let app = TestApp::new();
    let (_, secret, _) = enrolled(&app, "w@example.com");
    for (offset, ok) in [(-60, false), (60, false), (-30, true)] {
        let t = mfa_token(&app, "w@example.com");
        let r = app.post(
            "/v1/auth/login/mfa",
            None,
            json!({"mfa_token": t, "code": totp_code(&secret, app.clock_now() + offset)}),
        );
        assert_eq!(r.status == 200, ok, "offset {offset}: {}", r.raw);
        app.advance(30);
    }
    let t = mfa_token(&app, "w@example.com");
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": totp_code(&secret, app.clock_now() + 30)}))
        .expect(200);
}

#[test]
fn recovery_codes_work_once_and_regeneration_kills_the_old_set() {
    let app = TestApp::new();
    let (s, secret, codes) = enrolled(&app, "rc@example.com");
    let t = mfa_token(&app, "rc@example.com");
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "recovery_code": codes[0].to_uppercase()})).expect(200);
    let t = mfa_token(&app, "rc@example.com");
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "recovery_code": codes[0]}))
        .expect_problem(401, "invalid_otp");

    let fresh = app
        .post("/v1/me/recovery-codes", Some(&access(&s)), json!({"code": totp_code(&secret, app.clock_now())}))
        .expect(200)
        .body;
    let t = mfa_token(&app, "rc@example.com");
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "recovery_code": codes[1]}))
        .expect_problem(401, "invalid_otp");
    let t = mfa_token(&app, "rc@example.com");
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "recovery_code": fresh["recovery_codes"][0]}))
        .expect(200);
}

#[test]
fn an_mfa_token_survives_five_wrong_codes_and_expires_in_five_minutes() {
    let app = TestApp::new();
    let (_, secret, _) = enrolled(&app, "lim@example.com");
    let t = mfa_token(&app, "lim@example.com");
    for _ in 0..5 {
        app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": "000000"}))
            .expect_problem(401, "invalid_otp");
    }
    let r = app
        .post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": totp_code(&secret, app.clock_now())}))
        .expect_problem(429, "too_many_attempts");
    assert!(r.header("retry-after").is_some());
    let t = mfa_token(&app, "lim@example.com");
    app.advance(5 * 60 + 1);
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": totp_code(&secret, app.clock_now())}))
        .expect_problem(400, "invalid_token");
}

#[test]
fn disabling_needs_a_current_code() {
    let app = TestApp::new();
    let (s, secret, _) = enrolled(&app, "off@example.com");
    app.call("DELETE", "/v1/me/totp", Some(&access(&s)), Some(json!({"code": "123456"})))
        .expect_problem(401, "invalid_otp");
    app.call("DELETE", "/v1/me/totp", Some(&access(&s)), Some(json!({"code": totp_code(&secret, app.clock_now())})))
        .expect(204);
    let r = app.login("off@example.com", PASSWORD).expect(200).body;
    assert!(r["access_token"].is_string(), "no second step any more");
}

#[test]
fn a_pending_enrolment_is_not_2fa_and_confirm_needs_the_right_code() {
    let app = TestApp::new();
    let s = app.verified_user("p@example.com");
    app.post("/v1/me/totp", Some(&access(&s)), json!({})).expect(200);
    app.post("/v1/me/totp/confirm", Some(&access(&s)), json!({"code": "000000"})).expect_problem(401, "invalid_otp");
    let r = app.login("p@example.com", PASSWORD).expect(200).body;
    assert!(r["access_token"].is_string());
    let (s2, _, _) = enrolled(&app, "q@example.com");
    app.post("/v1/me/totp", Some(&access(&s2)), json!({})).expect_problem(409, "totp_already_enabled");
}

#[test]
fn an_org_that_requires_2fa_refuses_members_without_it_until_they_enrol() {
    let app = TestApp::new();
    let (owner, _, _) = enrolled(&app, "owner@example.com");
    let org = app.create_org(&owner, "Strict")["id"].as_str().unwrap().to_owned();
    let member = app.join(&org, &owner, "m@example.com", "member");
    app.patch(&format!("/v1/orgs/{org}"), Some(&access(&owner)), json!({"require_2fa": true})).expect(200);
    let members = app.get(&format!("/v1/orgs/{org}/members"), Some(&access(&owner))).expect(200).body;
    assert!(members["data"].as_array().unwrap().iter().any(|m| m["totp_enabled"] == false));

    app.get(&format!("/v1/orgs/{org}"), Some(&access(&member))).expect_problem(403, "two_factor_required");
    let e = app.post("/v1/me/totp", Some(&access(&member)), json!({})).expect(200).body;
    let secret = e["secret"].as_str().unwrap();
    app.post("/v1/me/totp/confirm", Some(&access(&member)), json!({"code": totp_code(secret, app.clock_now())}))
        .expect(200);
    app.get(&format!("/v1/orgs/{org}"), Some(&access(&member))).expect(200);
}

#[test]
fn five_wrong_codes_across_fresh_mfa_tokens_lock_the_second_factor_for_15_minutes() {
    let app = TestApp::new();
    let (_, secret, _) = enrolled(&app, "lock@example.com");
    // A new MFA token (a new login) does not reset the account's count.
    for wrong in [2, 2, 1] {
        let t = mfa_token(&app, "lock@example.com");
        for _ in 0..wrong {
            app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": "000000"}))
                .expect_problem(401, "invalid_otp");
        }
    }
    let t = mfa_token(&app, "lock@example.com");
    let r = app
        .post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": totp_code(&secret, app.clock_now())}))
        .expect_problem(429, "too_many_attempts");
    assert!(r.header("retry-after").unwrap().parse::<i64>().unwrap() > 800);
    app.advance(15 * 60);
    let t = mfa_token(&app, "lock@example.com");
    app.post("/v1/auth/login/mfa", None, json!({"mfa_token": t, "code": totp_code(&secret, app.clock_now())}))
        .expect(200);
}
