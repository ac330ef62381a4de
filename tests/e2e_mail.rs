//! Runtime tests of mail delivery through local Queues (the built Worker under
//! wrangler dev) against a stub mail API: an outage is ridden out with
//! exponential backoff and one email arrives; a refused invitation goes to the
//! dead-letter queue, lists as failed, and a resend delivers it.
//!
//! `MAIL_RETRY_BASE_SECONDS=1`: retries after 1, 1–2, 2–4, 4–8 s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::*;

const WAIT: Duration = Duration::from_secs(40);

fn start(stub: &MailStub) -> Worker {
    Worker::start_with(WorkerOptions {
        vars: vec![
            ("MAILER".into(), "http".into()),
            ("MAIL_API_URL".into(), stub.url()),
            ("MAIL_RETRY_BASE_SECONDS".into(), "1".into()),
        ],
    })
}

fn to(req: &StubRequest) -> String {
    req.body["to"][0].as_str().unwrap_or_default().to_owned()
}

/// Requests to `email` received so far.
fn requests_to(stub: &MailStub, email: &str) -> Vec<StubRequest> {
    stub.requests().into_iter().filter(|r| to(r) == email).collect()
}

/// Signs up and verifies through the link the stub received (the stub's
/// first scripted status must be a 200 for this email). Returns the bearer.
fn owner(w: &Worker, stub: &MailStub) -> String {
    let r = w.api().signup("owner@example.com", PASSWORD, "O");
    assert_eq!(r.status, 202, "{}", r.raw);
    let first = &stub.wait_for_requests(1, WAIT)[0];
    assert_eq!((to(first).as_str(), first.status_answered), ("owner@example.com", 200));
    let token = extract_token(first.body["text"].as_str().unwrap(), "/verify-email");
    let r = w.api().verify_email(&token, PASSWORD);
    assert_eq!(r.status, 200, "{}", r.raw);
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn create_org(w: &Worker, bearer: &str) -> String {
    w.api().create_org(bearer, "Acme").expect(201).id()
}

fn invitation(w: &Worker, bearer: &str, org: &str, id: &str) -> Value {
    let r = w.api().invitations(bearer, Tenant::Org(org)).expect(200);
    r.body["data"].as_array().unwrap().iter().find(|i| i["id"] == id).cloned().unwrap()
}

/// Polls the invitation list until the invitation's delivery is `want`.
fn wait_for_delivery(w: &Worker, bearer: &str, org: &str, id: &str, want: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = invitation(w, bearer, org, id)["delivery"].clone();
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "delivery stayed {got} instead of {want}; log:\n{}", w.log_tail());
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_mail_api_outage_is_ridden_out_with_backoff_and_one_email_arrives() {
    // The verification email gets through; then four 503s, then 200s.
    let stub = MailStub::start(vec![200, 503, 503, 503, 503]);
    let w = start(&stub);
    let bearer = owner(&w, &stub);
    let org = create_org(&w, &bearer);
    let id = w.api().invite(&bearer, Tenant::Org(&org), "new@example.com", "member").expect(201).id();

    // Each delivery attempt, timed as it arrives.
    let mut arrivals = Vec::new();
    for n in 2..=6 {
        stub.wait_for_requests(n, WAIT);
        arrivals.push(Instant::now());
        if n == 2 {
            assert_eq!(invitation(&w, &bearer, &org, &id)["delivery"], "pending", "being retried");
        }
    }
    let gaps: Vec<f64> = arrivals.windows(2).map(|p| (p[1] - p[0]).as_secs_f64()).collect();
    eprintln!("gaps between delivery attempts (s): {gaps:.2?}");
    // The queue honours the per-message delay, and it grows with `attempts`:
    // at least 1, 1, 2 and 4 s (less a little for timing).
    for (gap, least) in gaps.iter().zip([1.0, 1.0, 2.0, 4.0]) {
        assert!(*gap >= least - 0.3, "a retry came after {gap:.2} s, before its {least} s backoff: {gaps:.2?}");
    }
    assert!(gaps[3] > gaps[0] + 2.0, "the backoff grows: {gaps:.2?}");

    // Wait beyond the longest next retry (8 s): nothing more arrives.
    std::thread::sleep(Duration::from_secs(9));
    let attempts = requests_to(&stub, "new@example.com");
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status_answered).collect();
    assert_eq!(statuses, [503, 503, 503, 503, 200], "exactly one email arrives");
    let key = attempts[0].header("idempotency-key").unwrap();
    assert!(attempts.iter().all(|r| r.header("idempotency-key") == Some(key)), "one idempotency key throughout");
    assert_eq!(invitation(&w, &bearer, &org, &id)["delivery"], "sent");

    // The delivered link works.
    let token = extract_token(attempts[4].body["text"].as_str().unwrap(), "/invite");
    let preview = w.api().preview_invitation(&token);
    assert_eq!(preview.status, 200, "{}", preview.raw);
}

#[test]
fn a_refused_invitation_lists_as_failed_and_a_resend_delivers_it() {
    // The verification email gets through; the invitation is refused (422); then 200s.
    let stub = MailStub::start(vec![200, 422]);
    let w = start(&stub);
    let bearer = owner(&w, &stub);
    let org = create_org(&w, &bearer);
    let r = w.api().invite(&bearer, Tenant::Org(&org), "new@example.com", "admin").expect(201);
    assert_eq!(r.body["delivery"], "pending");
    let id = r.id();

    let refused = Instant::now();
    wait_for_delivery(&w, &bearer, &org, &id, "failed");
    eprintln!("refusal recorded from the dead-letter queue after {:.2} s", refused.elapsed().as_secs_f64());
    // A refusal is not retried: one attempt, then the dead-letter queue.
    std::thread::sleep(Duration::from_secs(3));
    let statuses: Vec<u16> = requests_to(&stub, "new@example.com").iter().map(|r| r.status_answered).collect();
    assert_eq!(statuses, [422]);
    assert_eq!(invitation(&w, &bearer, &org, &id)["delivery"], "failed", "it stays failed");

    // The mail API has recovered: the owner sees the failure in the console's
    // Team screen and resends from there, which delivers it and clears it.
    let said = browser(
        "console-failed-invite.mjs",
        &[&w.url(""), "owner@example.com", PASSWORD, "new@example.com"],
        "console-failed-invite",
    );
    assert!(said.contains("resent from the console"), "{said}");
    wait_for_delivery(&w, &bearer, &org, &id, "sent");
    let attempts = requests_to(&stub, "new@example.com");
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status_answered).collect();
    assert_eq!(statuses, [422, 200]);
    let token = extract_token(attempts[1].body["text"].as_str().unwrap(), "/invite");
    let preview = w.api().preview_invitation(&token);
    assert_eq!((preview.status, preview.json()["role"].as_str()), (200, Some("admin")), "{}", preview.raw);
}
