//! Platform administrators against the built Worker in workerd: a
//! suspension stops the person's session, sign-in and API key on the next
//! request and lifting it restores them; the real queue consumer emails the
//! person. Codes are real TOTP codes of the real clock: each is good once,
//! so the second action waits for the next 30-second step.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::json;
use support::*;

/// The code of the 30-second step `step`.
fn code_at(secret: &str, step: i64) -> String {
    totp_code(secret, step * 30)
}

#[test]
fn a_suspension_stops_sessions_sign_in_and_keys_until_an_administrator_lifts_it() {
    let w = Worker::start_with(WorkerOptions { vars: vec![("PLATFORM_ADMINS".into(), "ops@example.com".into())] });
    let ops = w.api().verified_with_2fa("ops@example.com");
    let confirmed_step = unix_now() / 30; // the enrolment used this step's code (or the one before)
    let pat = w.api().verified("pat@example.com");
    let org = w.api().create_org(&pat, "Pat's").expect(201).id();
    let key = w.api().create_key(&pat, &org, "ci", &["org:read"]).expect(201).body["key"].as_str().unwrap().to_owned();
    assert_eq!(w.api().me(&ops.person).expect(200).body["platform_admin"], true);
    // Not an administrator: refused whatever the code.
    w.api().admin_act(&pat, &ops.person.id(), "suspend", "000000").expect_problem(403, "platform_admin_required");

    // The next step's code is accepted now (one step of clock skew either side).
    let suspended =
        w.api().admin_act(&ops.person, &pat.id(), "suspend", &code_at(&ops.secret, confirmed_step + 1)).expect(200);
    assert!(suspended.body["suspended_at"].is_string(), "{}", suspended.raw);
    w.api().me(&pat).expect_problem(403, "account_suspended");
    w.api().update_org(&pat, &org, json!({"name": "Still mine?"})).expect_problem(403, "account_suspended");
    w.api().org(key.as_str(), &org).expect_problem(403, "account_suspended");
    w.api().login("pat@example.com", PASSWORD).expect_problem(403, "account_suspended");
    // The same code again changes nothing.
    w.api()
        .admin_act(&ops.person, &pat.id(), "unsuspend", &code_at(&ops.secret, confirmed_step + 1))
        .expect_problem(401, "invalid_otp");
    w.api().me(&pat).expect_problem(403, "account_suspended");

    // A step later, the next code lifts it.
    while unix_now() / 30 < confirmed_step + 1 {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    w.api().admin_act(&ops.person, &pat.id(), "unsuspend", &code_at(&ops.secret, confirmed_step + 2)).expect(200);
    w.api().me(&pat).expect(200);
    w.api().org(key.as_str(), &org).expect(200);

    let log = w.api().admin_audit_log(&ops.person).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.unsuspended", "user.suspended"], "{log}");
    let mails = w.wait_for_emails("pat@example.com", 3);
    let subjects: Vec<&str> = mails.iter().filter_map(|m| m["subject"].as_str()).collect();
    assert!(
        subjects.iter().any(|s| s.contains("suspended")) && subjects.iter().any(|s| s.contains("restored")),
        "{subjects:?}"
    );
}
