//! Attempt limits and person-only actions (security review, issue 9 items
//! 6-8), through the real router over SQLite with a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::{json, Value};
use testapp::*;

const WRONG: &str = "wrong password here";

/// Everything a client can observe of an answer.
fn observable(r: &Resp) -> (u16, String, Vec<(String, String)>) {
    let mut headers = r.headers.clone();
    headers.sort();
    (r.status, r.raw.clone(), headers)
}

#[test]
fn unknown_email_and_existing_account_answer_alike_at_every_attempt_count() {
    let app = TestApp::new();
    app.verified_user("known@example.com");
    let mut waits = vec![0; 12];
    // Then waiting out each back-off, and a long quiet spell.
    waits.extend([30, 60, 0, 120, 4 * 3600, 0]);
    for (attempt, wait) in waits.into_iter().enumerate() {
        app.advance(wait);
        let known = app.login("known@example.com", WRONG);
        let unknown = app.login("  Nobody@Example.com ", WRONG);
        assert_eq!(observable(&known), observable(&unknown), "attempt {}", attempt + 1);
        match attempt + 1 {
            1..=10 => assert_eq!(known.code(), "invalid_credentials", "attempt {}", attempt + 1),
            11 | 12 => {
                known.clone().expect_problem(429, "too_many_attempts");
                assert_eq!(known.header("retry-after"), Some("30"));
            }
            _ => {}
        }
    }
    // A string that is no address is counted the same way.
    for _ in 0..10 {
        app.login("not an email", WRONG).expect_problem(401, "invalid_credentials");
    }
    let r = app.login("not an email", WRONG).expect_problem(429, "too_many_attempts");
    assert_eq!(r.header("retry-after"), Some("30"));
}

#[test]
fn parallel_addresses_are_counted_apart_and_case_and_spaces_do_not_matter() {
    let app = TestApp::new();
    app.verified_user("a@example.com");
    app.verified_user("b@example.com");
    for i in 0..10 {
        let typed = if i % 2 == 0 { "A@Example.COM" } else { " a@example.com" };
        app.login(typed, WRONG).expect(401);
    }
    app.login("a@example.com", PASSWORD).expect_problem(429, "too_many_attempts");
    app.login("b@example.com", PASSWORD).expect(200);
}

#[test]
fn failure_counts_decay_instead_of_relocking_forever() {
    let app = TestApp::new();
    app.verified_user("decay@example.com");
    for _ in 0..10 {
        app.login("decay@example.com", WRONG).expect(401);
    }
    app.login("decay@example.com", PASSWORD).expect_problem(429, "too_many_attempts");
    // Right after the back-off, one more failure locks again (count 11: 60 s).
    app.advance(30);
    app.login("decay@example.com", WRONG).expect(401);
    let r = app.login("decay@example.com", PASSWORD).expect_problem(429, "too_many_attempts");
    assert_eq!(r.header("retry-after"), Some("60"));

    // 15 quiet minutes forgive one failure: count 11 → 10, and the next failure
    // makes it 11 again (not 12): the back-off stays at 60 s instead of doubling.
    app.advance(15 * 60);
    app.login("decay@example.com", WRONG).expect(401);
    let r = app.login("decay@example.com", PASSWORD).expect(429);
    assert_eq!(r.header("retry-after"), Some("60"));

    // 11 × 15 quiet minutes forgive everything: 9 failures pass without a lock,
    // the 10th locks again for 30 s.
    app.advance(11 * 15 * 60);
    for _ in 0..9 {
        app.login("decay@example.com", WRONG).expect_problem(401, "invalid_credentials");
    }
    app.login("decay@example.com", PASSWORD).expect(200);
    // And the unknown address decays the same way.
    for _ in 0..10 {
        app.login("ghost@example.com", WRONG).expect(401);
    }
    app.login("ghost@example.com", WRONG).expect(429);
    app.advance(10 * 15 * 60);
    for _ in 0..9 {
        app.login("ghost@example.com", WRONG).expect_problem(401, "invalid_credentials");
    }
}

#[test]
fn a_password_reset_ends_the_login_back_off() {
    let app = TestApp::new();
    app.verified_user("reset@example.com");
    for _ in 0..10 {
        app.login("reset@example.com", WRONG).expect(401);
    }
    app.login("reset@example.com", PASSWORD).expect(429);
    app.api().request_password_reset("reset@example.com").expect(202);
    let token = app.token_from_email("reset@example.com", "/reset-password");
    let new_password = "a brand new passphrase";
    app.api().confirm_password_reset(&token, new_password).expect(204);
    app.login("reset@example.com", new_password).expect(200);
}

// ---- second factor: 5 wrong codes per account ----

fn enrolled(app: &TestApp, email: &str) -> (Value, String) {
    let two_factor = app.api().verified_with_2fa(email);
    app.advance(30);
    (two_factor.person.session, two_factor.secret)
}

fn mfa(app: &TestApp, email: &str) -> String {
    app.api().mfa_token(email)
}

fn second_step(app: &TestApp, token: &str, code: &str) -> Resp {
    app.api().login_mfa(token, code)
}

#[test]
fn five_wrong_codes_across_fresh_mfa_tokens_answer_429_even_to_the_right_code() {
    let app = TestApp::new();
    let (_, secret) = enrolled(&app, "otp@example.com");
    // Five logins, one wrong code each: every token is fresh.
    for _ in 0..5 {
        let t = mfa(&app, "otp@example.com");
        second_step(&app, &t, "000000").expect_problem(401, "invalid_otp");
    }
    let t = mfa(&app, "otp@example.com");
    let r = second_step(&app, &t, &totp_code(&secret, app.clock_now())).expect_problem(429, "too_many_attempts");
    assert_eq!(r.header("retry-after"), Some("900"));
    // A further login's token waits out the same lock.
    app.advance(60);
    let t = mfa(&app, "otp@example.com");
    let r = second_step(&app, &t, &totp_code(&secret, app.clock_now())).expect(429);
    assert_eq!(r.header("retry-after"), Some("840"));
}

#[test]
fn the_code_count_decays_and_a_right_code_resets_it() {
    let app = TestApp::new();
    let (_, secret) = enrolled(&app, "otp2@example.com");
    for _ in 0..4 {
        let t = mfa(&app, "otp2@example.com");
        second_step(&app, &t, "000000").expect(401);
    }
    // 30 quiet minutes forgive two: three more wrong codes fit before the lock.
    app.advance(30 * 60);
    for _ in 0..3 {
        let t = mfa(&app, "otp2@example.com");
        second_step(&app, &t, "000000").expect_problem(401, "invalid_otp");
    }
    let t = mfa(&app, "otp2@example.com");
    second_step(&app, &t, &totp_code(&secret, app.clock_now())).expect(429);
    // After the lock, the right code signs in and resets the count.
    app.advance(15 * 60);
    let t = mfa(&app, "otp2@example.com");
    second_step(&app, &t, &totp_code(&secret, app.clock_now())).expect(200);
    app.advance(30);
    for _ in 0..4 {
        let t = mfa(&app, "otp2@example.com");
        second_step(&app, &t, "000000").expect(401);
    }
    let t = mfa(&app, "otp2@example.com");
    second_step(&app, &t, &totp_code(&secret, app.clock_now())).expect(200);
}

// ---- person-only actions ----

/// Every scope a key may hold.
fn key_scopes() -> Vec<&'static str> {
    latchkey::domain::policy::Permission::ALL
        .into_iter()
        .filter(|p| latchkey::domain::policy::key_may_hold(*p))
        .map(|p| p.as_str())
        .collect()
}

#[test]
fn an_api_key_with_every_scope_never_deletes_bills_or_transfers() {
    let app = TestApp::new();
    let owner = app.verified_user("owner@example.com");
    let org = app.create_org(&owner, "Acme")["id"].as_str().unwrap().to_owned();
    let admin = app.join(&org, &owner, "admin@example.com", "admin");
    let ws = app.api().create_workspace(&owner, "Shop").expect(201).body["id"].as_str().unwrap().to_owned();
    let keys = format!("/v1/orgs/{org}/api-keys");
    let scopes = key_scopes();
    assert_eq!(scopes.len(), 16);
    let key = app.post(&keys, Some(&access(&owner)), json!({"name": "all", "scopes": scopes})).expect(201).body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_id = TestApp::user_id(&admin);

    app.api().delete_org(&key, &org).expect_problem(403, "user_required");
    app.api().transfer_ownership(&key, &org, &admin_id).expect_problem(403, "user_required");
    app.api().update_billing(&key, &ws, "pro", "b@example.com").expect_problem(403, "user_required");
    // Nothing happened.
    let members = app.api().members(&owner, Tenant::Org(&org)).expect(200).body;
    let owners: Vec<&Value> = members["data"].as_array().unwrap().iter().filter(|m| m["role"] == "owner").collect();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0]["email"], "owner@example.com");
    // Another org's key still learns nothing about this one.
    let other = app.create_org(&admin, "Other")["id"].as_str().unwrap().to_owned();
    let other_key =
        app.api().create_key(&admin, &other, "o", &["org:read"]).expect(201).body["key"].as_str().unwrap().to_owned();
    app.api().delete_org(&other_key, &org).expect_problem(404, "not_found");

    // A key row naming org:delete (created before the rule) is refused just the same,
    // and the decision endpoint says no.
    pollster::block_on(latchkey::store::Db::run(
        app.db.as_ref(),
        latchkey::stmt!("UPDATE api_keys SET scopes = scopes || ' org:delete billing:manage'"),
    ))
    .unwrap();
    app.api().delete_org(&key, &org).expect_problem(403, "user_required");
    for permission in ["org:delete", "billing:manage"] {
        let r = app.api().authorize(&key, permission, &org).expect(200);
        assert_eq!(r.body["allowed"], false, "{permission}");
    }
    let r = app.api().authorize(&key, "members:write", &org).expect(200);
    assert_eq!(r.body["allowed"], true);

    // The person does it.
    app.api().delete_org(&owner, &org).expect(204);
}

#[test]
fn keys_cannot_be_created_with_a_person_only_scope() {
    let app = TestApp::new();
    let owner = app.verified_user("owner@example.com");
    let org = app.create_org(&owner, "Acme")["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/orgs/{org}/api-keys");
    for scopes in [json!(["org:delete"]), json!(["billing:manage"]), json!(["org:read", "org:delete"])] {
        let r = app
            .post(&path, Some(&access(&owner)), json!({"name": "x", "scopes": scopes}))
            .expect_problem(422, "scope_not_allowed_for_keys");
        assert!(r.body["detail"].as_str().unwrap().contains("cannot hold"), "{}", r.raw);
    }
    let list = app.get(&path, Some(&access(&owner))).expect(200).body;
    assert_eq!(list["data"], json!([]), "nothing was created");
}

// ---- the coarse per-client-IP limit ----

fn from_ip(app: &TestApp, path: &str, ip: &str, body: Value) -> Resp {
    let body = serde_json::to_vec(&body).unwrap();
    app.send("POST", path, None, &[("cf-connecting-ip", ip), ("content-type", "application/json")], &body)
}

#[test]
fn the_per_ip_limit_covers_the_sign_in_routes_when_turned_on() {
    let app = TestApp::with_config(config_with(&[("IP_RATE_LIMIT", "on")]));
    app.ip_limiter.limit.set(4);
    let ip = "203.0.113.7";
    from_ip(&app, "/v1/auth/login", ip, json!({"email": "x@example.com", "password": WRONG})).expect(401);
    from_ip(&app, "/v1/auth/signup", ip, json!({"email": "y@example.com", "password": PASSWORD, "name": "Y"}))
        .expect(202);
    from_ip(&app, "/v1/auth/password-reset", ip, json!({"email": "y@example.com"})).expect(202);
    from_ip(&app, "/v1/auth/login/mfa", ip, json!({"mfa_token": "x", "code": "000000"})).expect(400);
    for (path, body) in [
        ("/v1/auth/login", json!({"email": "x@example.com", "password": WRONG})),
        ("/v1/auth/signup", json!({"email": "z@example.com", "password": PASSWORD, "name": "Z"})),
        ("/v1/auth/password-reset", json!({"email": "y@example.com"})),
        ("/v1/auth/login/mfa", json!({"mfa_token": "x", "code": "000000"})),
    ] {
        let r = from_ip(&app, path, ip, body).expect_problem(429, "too_many_attempts");
        assert_eq!(r.header("retry-after"), Some("60"), "{path}");
    }
    // Another client is not affected, nor are other routes.
    from_ip(&app, "/v1/auth/login", "198.51.100.1", json!({"email": "x@example.com", "password": WRONG})).expect(401);
    from_ip(&app, "/v1/auth/resend-verification", ip, json!({"email": "y@example.com"})).expect(202);
    let seen = app.ip_limiter.seen.borrow();
    assert!(seen.iter().all(|k| k == "auth:203.0.113.7" || k == "auth:198.51.100.1"), "{seen:?}");
}

#[test]
fn the_per_ip_limit_is_off_in_development_by_default_and_on_elsewhere() {
    let app = TestApp::new();
    app.ip_limiter.limit.set(0);
    from_ip(&app, "/v1/auth/login", "203.0.113.7", json!({"email": "x@example.com", "password": WRONG})).expect(401);
    assert!(app.ip_limiter.seen.borrow().is_empty(), "not even consulted");
    assert!(!config().ip_rate_limit);
    assert!(config_with(&[("IP_RATE_LIMIT", "on")]).ip_rate_limit);
    let production = config_with(&[
        ("ENVIRONMENT", "production"),
        ("MAILER", "http"),
        ("MAIL_API_URL", "https://mail.example.com/emails"),
        ("MAIL_API_KEY", "k"),
        ("IP_RATE_LIMIT", "off"),
    ]);
    assert!(production.ip_rate_limit, "outside development it cannot be turned off");
}
