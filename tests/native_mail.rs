//! Mail delivery through the queue consumer and the dead-letter queue's
//! consumer: retry or give up, record what was lost, show it on invitations,
//! clear it when a resend is delivered. Real router over SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use async_trait::async_trait;
use latchkey::app::Config;
use latchkey::jobs::{self, DeadLetter, Disposition, Job, MailError, Mailer, OutgoingEmail};
use latchkey::stmt;
use latchkey::store::Db;
use serde_json::{json, Value};
use std::cell::RefCell;
use testapp::*;

/// A mail API that refuses, permanently or for now.
struct RefusingMailer {
    permanent: bool,
    calls: RefCell<Vec<String>>,
}

#[async_trait(?Send)]
impl Mailer for RefusingMailer {
    async fn send(&self, email: &OutgoingEmail, _key: &str) -> Result<(), MailError> {
        self.calls.borrow_mut().push(email.to.clone());
        if self.permanent {
            Err(MailError::Permanent("mail API answered 422".into()))
        } else {
            Err(MailError::Transient("mail API answered 503".into()))
        }
    }
}

/// "Acme" and its owner.
fn fixture() -> Fixture<TestApp> {
    Fixture::new(TestApp::new()).org_with("Acme", &[])
}

/// The mail pipeline of a fixture: invitations, their queued jobs, the consumer.
trait Mail {
    fn invite(&self, email: &str) -> (String, Job);
    fn resend(&self, id: &str) -> Job;
    fn take_job(&self) -> Job;
    fn delivery(&self, id: &str) -> String;
    fn process(&self, job: &Job, mailer: &dyn Mailer) -> Disposition;
    fn deliver(&self, job: &Job);
    fn dead_letter(&self, letter: &DeadLetter) -> Disposition;
    fn failures(&self) -> Vec<Value>;
}

impl Mail for Fixture<TestApp> {
    /// Invites `email`; returns the invitation's id and its queued job (not delivered).
    fn invite(&self, email: &str) -> (String, Job) {
        let created = self.api().invite(self.owner(), self.tenant(), email, "member").expect(201).body;
        assert_eq!(created["delivery"], "pending", "just created: its email is queued");
        (created["id"].as_str().unwrap().to_owned(), self.take_job())
    }

    fn resend(&self, id: &str) -> Job {
        self.api().resend_invitation(self.owner(), self.tenant(), id).expect(202);
        self.take_job()
    }

    /// The one job the last request queued, taken off the in-memory queue.
    fn take_job(&self) -> Job {
        let mut jobs = self.app.outbox.jobs.borrow_mut();
        assert_eq!(jobs.len(), 1, "one email queued: {jobs:?}");
        jobs.remove(0)
    }

    fn delivery(&self, id: &str) -> String {
        let list = self.api().invitations(self.owner(), self.tenant()).expect(200);
        let inv = list.body["data"].as_array().unwrap().iter().find(|i| i["id"] == id).cloned().unwrap();
        inv["delivery"].as_str().unwrap().to_owned()
    }

    fn process(&self, job: &Job, mailer: &dyn Mailer) -> Disposition {
        pollster::block_on(jobs::process(
            job,
            self.app.db.as_ref(),
            mailer,
            self.app.clock.as_ref(),
            &self.app.deps.config,
        ))
    }

    fn deliver(&self, job: &Job) {
        let mailer = jobs::DevMailer { db: self.app.db.as_ref(), clock: self.app.clock.as_ref() };
        assert_eq!(self.process(job, &mailer), Disposition::Ack);
    }

    fn dead_letter(&self, letter: &DeadLetter) -> Disposition {
        pollster::block_on(jobs::record_dead_letter(letter, self.app.db.as_ref(), self.app.clock.as_ref()))
    }

    fn failures(&self) -> Vec<Value> {
        let out = pollster::block_on(self.app.db.run(stmt!(
            "SELECT job_id, kind, subject_id, reason, resolved_at FROM mail_failures ORDER BY failed_at, job_id"
        )))
        .unwrap();
        out.rows.into_iter().map(Value::Object).collect()
    }
}

fn refusing(permanent: bool) -> RefusingMailer {
    RefusingMailer { permanent, calls: RefCell::new(Vec::new()) }
}

#[test]
fn an_invitation_shows_pending_until_its_email_is_sent() {
    let f = fixture();
    let (id, job) = f.invite("new@example.com");
    assert_eq!(f.delivery(&id), "pending");
    f.deliver(&job);
    assert_eq!(f.delivery(&id), "sent");
    assert_eq!(f.app.emails_to("new@example.com").len(), 1);
}

#[test]
fn a_transient_failure_asks_for_a_retry_and_records_nothing() {
    let f = fixture();
    let (id, job) = f.invite("new@example.com");
    let mailer = refusing(false);
    assert!(matches!(f.process(&job, &mailer), Disposition::Retry(why) if why.contains("503")));
    assert_eq!(mailer.calls.borrow().as_slice(), ["new@example.com"]);
    assert_eq!(f.delivery(&id), "pending", "still being retried");
    assert!(f.failures().is_empty());
    // The retry that gets through sends it once; a duplicate delivery sends nothing more.
    f.deliver(&job);
    f.deliver(&job);
    assert_eq!((f.delivery(&id).as_str(), f.app.emails_to("new@example.com").len()), ("sent", 1));
}

#[test]
fn a_refused_invitation_shows_failed_until_a_resend_is_delivered() {
    let f = fixture();
    let (id, job) = f.invite("typo@example.com");
    let why = match f.process(&job, &refusing(true)) {
        Disposition::Fail(why) => why,
        other => panic!("a 4xx is permanent, got {other:?}"),
    };
    // What the email consumer puts on the dead-letter queue, and its consumer records.
    let letter = DeadLetter::Rejected { job: job.clone(), reason: why };
    assert_eq!(f.dead_letter(&letter), Disposition::Ack);
    assert_eq!(f.delivery(&id), "failed");
    // The dead-letter queue delivers at least once too: one record per job.
    assert_eq!(f.dead_letter(&letter), Disposition::Ack);
    let failures = f.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["kind"], "invitation");
    assert_eq!(failures[0]["subject_id"], id.as_str());
    assert_eq!(failures[0]["reason"], "mail API answered 422");
    assert_eq!(failures[0]["resolved_at"], Value::Null);

    // A resend is queued: still failed until it is delivered, then sent.
    let again = f.resend(&id);
    assert_eq!(f.delivery(&id), "failed");
    f.deliver(&again);
    assert_eq!(f.delivery(&id), "sent");
    assert_ne!(f.failures()[0]["resolved_at"], Value::Null);
    // And the delivered link works.
    let token = f.app.token_from_email("typo@example.com", "/invite");
    f.app.api().preview_invitation(&token).expect(200);
}

#[test]
fn a_job_that_exhausted_its_retries_is_recorded_as_such() {
    let f = fixture();
    let (id, job) = f.invite("slow@example.com");
    assert_eq!(f.dead_letter(&DeadLetter::Exhausted(job)), Disposition::Ack);
    assert_eq!(f.delivery(&id), "failed");
    assert_eq!(f.failures()[0]["reason"], "retries exhausted");
}

#[test]
fn a_late_failure_of_an_older_send_does_not_hide_a_delivered_resend() {
    let f = fixture();
    let (id, first) = f.invite("new@example.com");
    let second = f.resend(&id);
    f.deliver(&second);
    // The first job gave up only now (it would have sent nothing: its link is dead).
    assert_eq!(f.dead_letter(&DeadLetter::Exhausted(first)), Disposition::Ack);
    assert_eq!(f.delivery(&id), "sent");
    // Nor does it come back on the next resend.
    let third = f.resend(&id);
    assert_eq!(f.delivery(&id), "pending");
    f.deliver(&third);
    assert_eq!(f.delivery(&id), "sent");
}

#[test]
fn a_dead_letter_for_an_email_that_was_sent_after_all_records_nothing() {
    let f = fixture();
    let (id, job) = f.invite("new@example.com");
    f.deliver(&job);
    assert_eq!(f.dead_letter(&DeadLetter::Exhausted(job)), Disposition::Ack);
    assert!(f.failures().is_empty());
    assert_eq!(f.delivery(&id), "sent");
}

#[test]
fn other_lost_emails_and_unreadable_dead_letters_are_recorded_too() {
    let f = fixture();
    let job = Job::AccountExists { job_id: "job_x".into(), user_id: "usr_x".into() };
    assert_eq!(f.dead_letter(&DeadLetter::Exhausted(job)), Disposition::Ack);
    let app = &f.app;
    let unreadable = jobs::record_unreadable("msg-1", "unreadable: missing field", app.db.as_ref(), app.clock.as_ref());
    assert_eq!(pollster::block_on(unreadable), Disposition::Ack);
    let kinds: Vec<(String, String)> = f
        .failures()
        .iter()
        .map(|r| (r["job_id"].as_str().unwrap().to_owned(), r["kind"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(kinds, [("job_x".into(), "account_exists".into()), ("msg-1".into(), "unreadable".into())]);
}

#[test]
fn workspace_invitations_show_their_delivery_too() {
    let f = fixture();
    let ws = f.app.api().create_workspace(f.owner(), "Shop").expect(201).body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/workspaces/{ws}/invitations");
    let created = f
        .app
        .post(&path, Some(&access(f.owner())), json!({"email": "ws@example.com", "role": "member"}))
        .expect(201)
        .body;
    assert_eq!(created["delivery"], "pending");
    let job = f.take_job();
    let delivery = || {
        let list = f.app.get(&path, Some(&access(f.owner()))).expect(200).body;
        list["data"][0]["delivery"].as_str().unwrap().to_owned()
    };
    assert_eq!(f.dead_letter(&DeadLetter::Rejected { job, reason: "422".into() }), Disposition::Ack);
    assert_eq!(delivery(), "failed");
    f.app
        .post(&format!("{path}/{}/resend", created["id"].as_str().unwrap()), Some(&access(f.owner())), json!({}))
        .expect(202);
    f.deliver(&f.take_job());
    assert_eq!(delivery(), "sent");
}

fn config_with(retry_base: Option<&str>) -> Result<Config, String> {
    let extra: Vec<(&str, &str)> = retry_base.map(|v| ("MAIL_RETRY_BASE_SECONDS", v)).into_iter().collect();
    try_config_with(&extra)
}

#[test]
fn the_retry_base_is_configurable_and_checked() {
    assert_eq!(config_with(None).unwrap().mail_retry_base_seconds, jobs::retry::DEFAULT_BASE_SECONDS);
    assert_eq!(config_with(Some("1")).unwrap().mail_retry_base_seconds, 1);
    assert_eq!(config_with(Some("43200")).unwrap().mail_retry_base_seconds, 43_200);
    for bad in ["0", "-1", "1.5", "soon", "43201"] {
        let err = config_with(Some(bad)).unwrap_err();
        assert!(err.contains("MAIL_RETRY_BASE_SECONDS"), "{bad}: {err}");
    }
}
