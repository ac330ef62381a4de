//! Runtime tests of two-factor authentication against the built Worker.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::json;
use std::thread;
use support::*;
use support::{totp_code as code, unix_now as now};

/// Waits until the next 30-second step begins, so a fresh code is available.
fn next_step() {
    let wait = 30 - now() % 30;
    thread::sleep(std::time::Duration::from_secs(wait as u64));
}

fn mfa_token(w: &Worker, email: &str) -> String {
    w.api().mfa_token(email)
}

#[test]
fn enrol_login_with_a_code_once_replay_refused_recovery_once_and_parallel_codes() {
    let w = Worker::shared();
    let s = w.api().verified("mfa@example.com").session;
    let e = w.api().enrol_totp(&s);
    assert_eq!(e.status, 200, "{}", e.raw);
    let secret = e.json()["secret"].as_str().unwrap().to_owned();
    assert!(e.json()["qr_svg"].as_str().unwrap().contains("<svg"));
    let c = w.api().confirm_totp(&s, &code(&secret, now()));
    assert_eq!(c.status, 200, "{}", c.raw);
    let recovery: Vec<String> =
        c.json()["recovery_codes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(w.api().logout(&s).status, 204);

    next_step();
    let fresh = code(&secret, now());
    let t = mfa_token(w, "mfa@example.com");
    let ok = w.api().login_mfa(&t, &fresh);
    assert_eq!(ok.status, 200, "{}", ok.raw);
    let t = mfa_token(w, "mfa@example.com");
    let replay = w.api().login_mfa(&t, &fresh);
    assert_eq!((replay.status, replay.json()["code"].as_str()), (401, Some("invalid_otp")));

    let rc = w.api().login_recovery(&t, &recovery[3]);
    assert_eq!(rc.status, 200, "{}", rc.raw);
    let t = mfa_token(w, "mfa@example.com");
    let again = w.api().login_recovery(&t, &recovery[3]);
    assert_eq!((again.status, again.json()["code"].as_str()), (401, Some("invalid_otp")));

    // Ten parallel submissions of one valid code (each with its own MFA token): one session.
    next_step();
    let tokens: Vec<String> = (0..10).map(|_| mfa_token(w, "mfa@example.com")).collect();
    let one = code(&secret, now());
    let statuses: Vec<u16> = thread::scope(|sc| {
        let hs: Vec<_> = tokens
            .iter()
            .map(|t| {
                let one = one.clone();
                sc.spawn(move || w.api().login_mfa(t, &one).status)
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    // The replays count as wrong codes: past 5 on the account, 429.
    assert!(statuses.iter().all(|&s| s == 200 || s == 401 || s == 429), "{statuses:?}");
}

#[test]
fn an_org_requiring_2fa_refuses_a_member_without_it_and_admits_them_after_enrolment() {
    let w = Worker::shared();
    let owner = w.api().verified("owner.totp2@example.com").session;
    let e = w.api().enrol_totp(&owner).json();
    let osecret = e["secret"].as_str().unwrap().to_owned();
    assert_eq!(w.api().confirm_totp(&owner, &code(&osecret, now())).status, 200);
    let org = w.api().create_org(&owner, "Strict").id();

    let member = w.api().verified("m@example.com").session;
    let inv = w.api().invite(&owner, Tenant::Org(&org), "m@example.com", "member");
    assert_eq!(inv.status, 201);
    let emails = w.wait_for_emails("m@example.com", 2);
    let token = extract_token(emails[1]["text"].as_str().unwrap(), "/invite");
    assert_eq!(w.api().accept_invitation(&member, &token).status, 200);

    let r = w.patch(&format!("/v1/orgs/{org}"), Some(&access(&owner)), json!({"require_2fa": true}));
    assert_eq!(r.status, 200, "{}", r.raw);
    let r = w.api().org(&member, &org);
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("two_factor_required")));

    let e = w.api().enrol_totp(&member).json();
    let msecret = e["secret"].as_str().unwrap().to_owned();
    assert_eq!(w.api().confirm_totp(&member, &code(&msecret, now())).status, 200);
    assert_eq!(w.api().org(&member, &org).status, 200);
}

#[test]
fn a_person_sets_up_2fa_on_the_settings_page() {
    let w = Worker::shared();
    w.api().verified("page@example.com");
    let url = w.url("/settings/security");
    // The page shows the secret; the code comes from the one RFC 6238 helper.
    let said = browser_asked("security.mjs", &[&url, "page@example.com", PASSWORD], "security", |line| {
        line.strip_prefix("totp secret: ").map(|secret| code(secret, now()))
    });
    assert!(said.contains("recovery codes: 10"), "{said}");
    // The account now needs the second factor.
    let r = w.api().login("page@example.com", PASSWORD);
    assert_eq!(r.json()["mfa_required"], true, "{}", r.raw);
}

/// Turning 2FA off in the console: a wrong code is refused, a fresh one turns
/// it off, and the next sign-in needs only the password.
#[test]
fn a_person_turns_2fa_off_in_the_console_with_a_fresh_code() {
    let w = Worker::shared();
    let two = w.api().verified_with_2fa("off@example.com");
    let mut step = now() / 30;
    let said =
        browser_asked("console-2fa-off.mjs", &[&w.url(""), "off@example.com", PASSWORD], "console-2fa-off", |line| {
            match line {
                // Enrolment used the current step; each later code must be of a later step.
                "sign-in code" => {
                    step += 1;
                    Some(code(&two.secret, step * 30))
                }
                "fresh code" => {
                    while now() / 30 < step {
                        thread::sleep(std::time::Duration::from_millis(200));
                    }
                    step += 1;
                    Some(code(&two.secret, step * 30))
                }
                _ => None,
            }
        });
    assert!(said.contains("a wrong code is refused") && said.contains("2fa off"), "{said}");
    let r = w.api().login("off@example.com", PASSWORD).expect(200);
    assert!(
        r.json()["access_token"].is_string() && r.json().get("mfa_required").is_none_or(|m| m != true),
        "{}",
        r.raw
    );
}
