//! Two-factor authentication, through the real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::{json, Value};
use testapp::*;

/// A verified user with 2FA on: (session, secret, recovery codes).
fn enrolled(app: &TestApp, email: &str) -> (Value, String, Vec<String>) {
    let TwoFactor { person, secret, recovery_codes } = app.api().verified_with_2fa(email);
    app.advance(30); // the next login needs a later step
    (person.session, secret, recovery_codes)
}

fn mfa_token(app: &TestApp, email: &str) -> String {
    app.api().mfa_token(email)
}

#[test]
fn enrol_confirm_then_login_needs_the_second_factor() {
    let app = TestApp::new();
    let (s, secret, _) = enrolled(&app, "mfa@example.com");
    assert_eq!(app.api().me(&s).expect(200).body["totp_enabled"], true);
    let t = mfa_token(&app, "mfa@example.com");
    let c = totp_code(&secret, app.clock_now());
    let session = app.api().login_mfa(&t, &c).expect(200).body;
    app.api().me(&session).expect(200);
    // The same code again, with a new token: a replay.
    let t2 = mfa_token(&app, "mfa@example.com");
    app.api().login_mfa(&t2, &c).expect_problem(401, "invalid_otp");
    // The spent token is gone.
    app.api().login_mfa(&t, &c).expect_problem(400, "invalid_token");
}

#[test]
fn the_window_is_one_step_either_side() {
    let app = TestApp::new();
    let (_, secret, _) = enrolled(&app, "w@example.com");
    for (offset, ok) in [(-60, false), (60, false), (-30, true)] {
        let t = mfa_token(&app, "w@example.com");
        let r = app.api().login_mfa(&t, &totp_code(&secret, app.clock_now() + offset));
        assert_eq!(r.status == 200, ok, "offset {offset}: {}", r.raw);
        app.advance(30);
    }
    let t = mfa_token(&app, "w@example.com");
    app.api().login_mfa(&t, &totp_code(&secret, app.clock_now() + 30)).expect(200);
}

#[test]
fn recovery_codes_work_once_and_regeneration_kills_the_old_set() {
    let app = TestApp::new();
    let (s, secret, codes) = enrolled(&app, "rc@example.com");
    let t = mfa_token(&app, "rc@example.com");
    app.api().login_recovery(&t, &codes[0].to_uppercase()).expect(200);
    let t = mfa_token(&app, "rc@example.com");
    app.api().login_recovery(&t, &codes[0]).expect_problem(401, "invalid_otp");

    let fresh = app.api().regenerate_recovery_codes(&s, &totp_code(&secret, app.clock_now())).expect(200).body;
    let t = mfa_token(&app, "rc@example.com");
    app.api().login_recovery(&t, &codes[1]).expect_problem(401, "invalid_otp");
    let t = mfa_token(&app, "rc@example.com");
    app.api().login_recovery(&t, fresh["recovery_codes"][0].as_str().unwrap()).expect(200);
}

#[test]
fn an_mfa_token_survives_five_wrong_codes_and_expires_in_five_minutes() {
    let app = TestApp::new();
    let (_, secret, _) = enrolled(&app, "lim@example.com");
    let t = mfa_token(&app, "lim@example.com");
    for _ in 0..5 {
        app.api().login_mfa(&t, "000000").expect_problem(401, "invalid_otp");
    }
    let r = app.api().login_mfa(&t, &totp_code(&secret, app.clock_now())).expect_problem(429, "too_many_attempts");
    assert!(r.header("retry-after").is_some());
    let t = mfa_token(&app, "lim@example.com");
    app.advance(5 * 60 + 1);
    app.api().login_mfa(&t, &totp_code(&secret, app.clock_now())).expect_problem(400, "invalid_token");
}

#[test]
fn disabling_needs_a_current_code() {
    let app = TestApp::new();
    let (s, secret, _) = enrolled(&app, "off@example.com");
    app.api().disable_totp(&s, "123456").expect_problem(401, "invalid_otp");
    app.api().disable_totp(&s, &totp_code(&secret, app.clock_now())).expect(204);
    let r = app.login("off@example.com", PASSWORD).expect(200).body;
    assert!(r["access_token"].is_string(), "no second step any more");
}

#[test]
fn a_pending_enrolment_is_not_2fa_and_confirm_needs_the_right_code() {
    let app = TestApp::new();
    let s = app.verified_user("p@example.com");
    app.api().enrol_totp(&s).expect(200);
    app.api().confirm_totp(&s, "000000").expect_problem(401, "invalid_otp");
    let r = app.login("p@example.com", PASSWORD).expect(200).body;
    assert!(r["access_token"].is_string());
    let (s2, _, _) = enrolled(&app, "q@example.com");
    app.api().enrol_totp(&s2).expect_problem(409, "totp_already_enabled");
}

#[test]
fn an_org_that_requires_2fa_refuses_members_without_it_until_they_enrol() {
    let app = TestApp::new();
    let (owner, _, _) = enrolled(&app, "owner@example.com");
    let org = app.create_org(&owner, "Strict")["id"].as_str().unwrap().to_owned();
    let member = app.join(&org, &owner, "m@example.com", "member");
    app.api().update_org(&owner, &org, json!({"require_2fa": true})).expect(200);
    let members = app.api().members(&owner, Tenant::Org(&org)).expect(200).body;
    assert!(members["data"].as_array().unwrap().iter().any(|m| m["totp_enabled"] == false));

    app.api().org(&member, &org).expect_problem(403, "two_factor_required");
    let e = app.api().enrol_totp(&member).expect(200).body;
    let secret = e["secret"].as_str().unwrap();
    app.api().confirm_totp(&member, &totp_code(secret, app.clock_now())).expect(200);
    app.api().org(&member, &org).expect(200);
}

#[test]
fn five_wrong_codes_across_fresh_mfa_tokens_lock_the_second_factor_for_15_minutes() {
    let app = TestApp::new();
    let (_, secret, _) = enrolled(&app, "lock@example.com");
    // A new MFA token (a new login) does not reset the account's count.
    for wrong in [2, 2, 1] {
        let t = mfa_token(&app, "lock@example.com");
        for _ in 0..wrong {
            app.api().login_mfa(&t, "000000").expect_problem(401, "invalid_otp");
        }
    }
    let t = mfa_token(&app, "lock@example.com");
    let r = app.api().login_mfa(&t, &totp_code(&secret, app.clock_now())).expect_problem(429, "too_many_attempts");
    assert!(r.header("retry-after").unwrap().parse::<i64>().unwrap() > 800);
    app.advance(15 * 60);
    let t = mfa_token(&app, "lock@example.com");
    app.api().login_mfa(&t, &totp_code(&secret, app.clock_now())).expect(200);
}
