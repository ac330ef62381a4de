//! Platform administrators through the real router over SQLite: who is one
//! (listed, with 2FA, acting with a fresh code), and what suspension and a
//! 2FA reset do on the very next request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::json;
use testapp::*;

const ADMIN: &str = "ops@example.com";

fn app() -> TestApp {
    TestApp::with_config(config_with(&[("PLATFORM_ADMINS", " Ops@Example.com , other-ops@example.com")]))
}

/// A fresh code of `secret` (the next 30-second step: each code is good once).
fn code(app: &TestApp, secret: &str) -> String {
    app.advance(30);
    totp_code(secret, app.clock_now())
}

#[test]
fn only_a_listed_administrator_with_2fa_and_a_fresh_code_acts() {
    let app = app();
    let api = app.api();
    let person = api.verified("pat@example.com");
    // Listed, without 2FA: refused before any code is looked at.
    let bare = api.verified("other-ops@example.com");
    api.admin_lookup(&bare, "pat@example.com", "000000").expect_problem(403, "two_factor_required");
    // 2FA, not listed.
    let stranger = api.verified_with_2fa("mallory@example.com");
    let c = code(&app, &stranger.secret);
    api.admin_lookup(&stranger.person, "pat@example.com", &c).expect_problem(403, "platform_admin_required");
    // Listed with 2FA: a wrong code, then a good one, then the same one again.
    let admin = api.verified_with_2fa(ADMIN);
    api.admin_lookup(&admin.person, "pat@example.com", "123456").expect_problem(401, "invalid_otp");
    let c = code(&app, &admin.secret);
    let found = api.admin_lookup(&admin.person, "pat@example.com", &c).expect(200).body;
    assert_eq!((found["id"].as_str(), found["suspended_at"].as_str()), (Some(person.id().as_str()), None));
    api.admin_lookup(&admin.person, "pat@example.com", &c).expect_problem(401, "invalid_otp");
    // An API key is never an administrator.
    let org = api.create_org(&admin.person, "Ops").expect(201).id();
    let key = api.create_key(&admin.person, &org, "ci", &["org:read"]).expect(201).body;
    api.admin_audit_log(key["key"].as_str().unwrap()).expect_problem(403, "user_required");
    // The log holds the one lookup that happened; the person was told.
    let log = api.admin_audit_log(&admin.person).expect(200).body;
    assert_eq!(log["data"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(
        (log["data"][0]["action"].as_str(), log["data"][0]["admin"]["email"].as_str()),
        (Some("user.looked_up"), Some(ADMIN))
    );
    let mails = app.emails_to("pat@example.com");
    assert!(mails.iter().any(|m| m["subject"].as_str().unwrap_or("").contains("looked up your account")), "{mails:?}");
}

#[test]
fn a_lookup_shows_the_persons_orgs_and_roles_and_nothing_of_them_beyond() {
    let f = Fixture::new(app()).org_with("Acme", &["admin", "member"]);
    let api = f.api();
    let admin = api.verified_with_2fa(ADMIN);
    let c = code(&f.app, &admin.secret);
    let found = api.admin_lookup(&admin.person, &f.who("member").email, &c).expect(200).body;
    assert_eq!(
        found["orgs"],
        json!([{"id": f.org, "name": "Acme", "slug": found["orgs"][0]["slug"], "role": "member",
                                       "joined_at": found["orgs"][0]["joined_at"]}])
    );
    // Being an administrator opens no org.
    api.org(&admin.person, &f.org).expect_problem(404, "not_found");
    api.members(&admin.person, f.tenant()).expect_problem(404, "not_found");
    let c = code(&f.app, &admin.secret);
    api.admin_lookup(&admin.person, "nobody@example.com", &c).expect_problem(404, "not_found");
}

#[test]
fn a_suspension_stops_the_sessions_and_keys_at_once_and_lifting_it_restores_them() {
    let f = Fixture::new(app()).org_with("Acme", &["admin"]);
    let api = f.api();
    let admin = api.verified_with_2fa(ADMIN);
    let target = f.owner().clone();
    let key = api.create_key(&target, &f.org, "ci", &["org:read"]).expect(201).body;
    let key = key["key"].as_str().unwrap().to_owned();
    api.org(key.as_str(), &f.org).expect(200);
    let c = code(&f.app, &admin.secret);
    let suspended = api.admin_act(&admin.person, &target.id(), "suspend", &c).expect(200).body;
    assert!(suspended["suspended_at"].is_string(), "{suspended}");
    // The next request of every kind: a read, a one-round-trip write, the key, a new sign-in.
    api.me(&target).expect_problem(403, "account_suspended");
    api.update_org(&target, &f.org, json!({"name": "Mine now"})).expect_problem(403, "account_suspended");
    api.org(key.as_str(), &f.org).expect_problem(403, "account_suspended");
    api.login(&target.email, PASSWORD).expect_problem(403, "account_suspended");
    api.refresh(&refresh(&target)).expect_problem(403, "account_suspended");
    api.login(&target.email, "a wrong password").expect_problem(401, "invalid_credentials");
    // Others in the org are untouched.
    api.org(f.who("admin"), &f.org).expect(200);
    let c = code(&f.app, &admin.secret);
    api.admin_act(&admin.person, &target.id(), "unsuspend", &c).expect(200);
    api.me(&target).expect(200);
    api.org(key.as_str(), &f.org).expect(200);
    // The refresh token the suspension held back rotates again.
    api.refresh(&refresh(&target)).expect(200);
    assert_eq!(api.update_org(&target, &f.org, json!({"name": "Acme 2"})).expect(200).body["name"], "Acme 2");
    let actions: Vec<String> = api.admin_audit_log(&admin.person).expect(200).body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["user.unsuspended", "user.suspended"]);
    let subjects: Vec<String> =
        f.app.emails_to(&target.email).iter().map(|m| m["subject"].as_str().unwrap_or("").to_owned()).collect();
    assert!(
        subjects.iter().any(|s| s.contains("suspended")) && subjects.iter().any(|s| s.contains("restored")),
        "{subjects:?}"
    );
    // Not on oneself.
    let c = code(&f.app, &admin.secret);
    api.admin_act(&admin.person, &admin.person.id(), "suspend", &c).expect_problem(403, "forbidden");
}

#[test]
fn a_2fa_reset_ends_every_session_and_the_person_enrols_again_after_signing_in() {
    let app = app();
    let api = app.api();
    let admin = api.verified_with_2fa(ADMIN);
    let locked_out = api.verified_with_2fa("lost-phone@example.com");
    let c = code(&app, &admin.secret);
    let reset = api.admin_act(&admin.person, &locked_out.person.id(), "reset-2fa", &c).expect(200).body;
    assert_eq!((reset["totp_enabled"].as_bool(), reset["two_factor_reset_at"].is_string()), (Some(false), true));
    api.me(&locked_out.person).expect_problem(401, "unauthenticated");
    // The password alone signs in now, and the views say to enrol again.
    let session = api.login("lost-phone@example.com", PASSWORD).expect(200).body;
    assert!(session["access_token"].is_string(), "{session}");
    assert_eq!(api.me(&session).expect(200).body["two_factor_reset"], true);
    let secret = api.enrol_totp(&session).expect(200).body["secret"].as_str().unwrap().to_owned();
    let c = code(&app, &secret);
    api.confirm_totp(&session, &c).expect(200);
    let me = api.me(&session).expect(200).body;
    assert!(me.get("two_factor_reset").is_none() && me["totp_enabled"] == true, "{me}");
    assert_eq!(api.me(&admin.person).expect(200).body["platform_admin"], true);
    assert!(me.get("platform_admin").is_none());
}
