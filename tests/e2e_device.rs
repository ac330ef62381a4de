//! Device sign-in (RFC 8628) against the built Worker in workerd with local
//! D1: a CLI's request, polling while pending, approval in Chromium through
//! the console's /device page (signed out first: sign-in, then back to the
//! request), the session the next poll gets working on `GET /v1/me`, and
//! the code spent for good.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::{json, Value};
use support::*;

const AGENT: &str = "latchkey-e2e/1.0 (device test)";

fn request(w: &Worker, client_name: &str) -> Value {
    let body = json!({"client_name": client_name}).to_string();
    let r = w.send(
        "POST",
        "/v1/auth/device",
        None,
        &[("Content-Type", "application/json"), ("User-Agent", AGENT)],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    r.json()
}

#[test]
fn a_cli_request_is_approved_in_the_console_and_the_poll_gets_a_working_session_once() {
    let w = Worker::shared();
    let person = w.api().verified("ada.device1@example.com");
    let started = request(w, "Ada's terminal");
    let device_code = started["device_code"].as_str().unwrap().to_owned();
    let link = started["verification_uri_complete"].as_str().unwrap().to_owned();
    assert_eq!(started["verification_uri"], w.url("/device"));
    assert_eq!(link, format!("{}#user_code={}", w.url("/device"), started["user_code"].as_str().unwrap()));
    assert_eq!((started["expires_in"].as_i64(), started["interval"].as_i64()), (Some(600), Some(5)));

    w.api().device_token(&device_code).expect_problem(400, "authorization_pending");
    // Polled again at once: slow down, with the longer interval.
    let slow = w.api().device_token(&device_code).expect_problem(400, "slow_down");
    assert_eq!(slow.body["interval"], 10, "{}", slow.raw);

    // A second request, whose code the person types (lower case, spaced) and denies.
    let other = request(w, "Someone else");
    let code = other["user_code"].as_str().unwrap().to_lowercase().replace('-', " ");
    let said = browser(
        "device.mjs",
        &[&w.url(""), &link, "ada.device1@example.com", PASSWORD, "Ada's terminal", &code],
        "device",
    );
    assert!(said.contains("approved: Approved. Ada's terminal is now signed in as ada.device1@example.com"), "{said}");
    assert!(said.contains("denied: Denied."), "{said}");

    // The interval is 10 s now: wait it out, then the session, once.
    std::thread::sleep(std::time::Duration::from_secs(10));
    let session = w.api().device_token(&device_code).expect(200).body;
    assert_eq!(session["user"]["email"], "ada.device1@example.com");
    let access = session["access_token"].as_str().unwrap();
    assert_eq!(w.api().me(access).expect(200).body["id"], person.id());
    let sessions = w.api().sessions(access).expect(200).body;
    let current = sessions["data"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap().clone();
    assert_eq!((current["method"].as_str(), current["client_name"].as_str()), (Some("device"), Some("Ada's terminal")));
    // Spent: whenever polled again.
    w.api().device_token(&device_code).expect_problem(400, "invalid_token");

    let denied = other["device_code"].as_str().unwrap();
    w.api().device_token(denied).expect_problem(400, "access_denied");
    let log = w.api().user_audit_log(&person).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"device.approved") && actions.contains(&"device.denied"), "{actions:?}");
}
