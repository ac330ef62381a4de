//! The queue consumer's decisions (`jobs::consume`), natively: which queue a
//! batch came from, what each message comes to, and the fallback when the
//! configuration is missing. `platform` only carries the answers out.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use latchkey::app::SystemRng;
use latchkey::jobs::consume::{self, Action, Incoming, Letter, Ports, QueueKind};
use latchkey::jobs::webhooks::{WebhookRequest, WebhookResponse, WebhookSender};
use latchkey::jobs::{DeadLetter, DevMailer, MailError, Mailer, OutgoingEmail};
use serde_json::{json, Value};
use testapp::*;

/// A mailer that answers what the test says.
struct ScriptedMailer(Result<(), &'static str>, bool);

#[async_trait::async_trait(?Send)]
impl Mailer for ScriptedMailer {
    async fn send(&self, _: &OutgoingEmail, _: &str) -> Result<(), MailError> {
        match self.0 {
            Ok(()) => Ok(()),
            Err(why) if self.1 => Err(MailError::Permanent(why.into())),
            Err(why) => Err(MailError::Transient(why.into())),
        }
    }
}

/// Webhooks are not posted in these tests.
struct NoWebhooks;

#[async_trait::async_trait(?Send)]
impl WebhookSender for NoWebhooks {
    async fn post(&self, _: WebhookRequest) -> Result<WebhookResponse, String> {
        Err("not in this test".into())
    }
}

fn message(id: &str, attempts: u32, body: Value) -> Incoming {
    Incoming { id: id.into(), attempts, body }
}

fn run(app: &TestApp, queue: QueueKind, mailer: Option<&dyn Mailer>, ok: bool, messages: &[Incoming]) -> Vec<Action> {
    let ports = Ports {
        db: app.db.as_ref(),
        clock: app.clock.as_ref(),
        rng: &SystemRng,
        config: if ok { Ok(&app.deps.config) } else { Err("JWT_SIGNING_KEY is not set") },
        mailer,
        webhooks: &NoWebhooks,
        outbox: app.outbox.as_ref(),
    };
    pollster::block_on(consume::consume(queue, messages, &ports))
}

/// A real queued job: the "you already have an account" notice.
fn a_job(app: &TestApp) -> Value {
    app.verified_user("held@example.com");
    app.deliver_emails();
    app.api().signup("held@example.com", "another long passphrase", "Again").expect(202);
    let job = app.outbox.jobs.borrow_mut().pop().expect("a queued job");
    serde_json::to_value(job).unwrap()
}

fn delay(action: &Action) -> u32 {
    match action {
        Action::Retry { delay_seconds } => *delay_seconds,
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[test]
fn a_batch_is_routed_by_its_queue_name() {
    assert_eq!(QueueKind::of("latchkey-emails"), QueueKind::Emails);
    assert_eq!(QueueKind::of("latchkey-emails-dlq"), QueueKind::EmailDeadLetters);
    assert_eq!(QueueKind::of("latchkey-webhooks"), QueueKind::Webhooks);
    assert_eq!(QueueKind::of("latchkey-webhooks-dlq"), QueueKind::WebhookDeadLetters);
    assert_eq!(QueueKind::of("renamed-in-wrangler-toml"), QueueKind::Emails, "the first consumer is the email one");
}

#[test]
fn without_a_configuration_every_email_and_webhook_waits_with_backoff() {
    let app = TestApp::new();
    let job = a_job(&app);
    let msgs = [message("m1", 1, job.clone()), message("m2", 4, job)];
    let actions = run(&app, QueueKind::Emails, None, false, &msgs);
    // Default base 5 s: attempt 1 waits 3-5 s, attempt 4 waits 20-40 s.
    assert!((3..=5).contains(&delay(&actions[0])), "{actions:?}");
    assert!((20..=40).contains(&delay(&actions[1])), "{actions:?}");
    let hooks = run(&app, QueueKind::Webhooks, None, false, &[message("w1", 1, json!({"delivery_id": "dlv_x"}))]);
    assert!((3..=5).contains(&delay(&hooks[0])), "{hooks:?}");
    assert!(app.emails_to("held@example.com").len() == 1, "nothing was sent but the first verification");
}

#[test]
fn emails_are_sent_retried_or_dead_lettered_by_what_the_mail_api_answered() {
    let app = TestApp::new();
    let job = a_job(&app);
    let transient = ScriptedMailer(Err("mail API answered 503"), false);
    assert!(delay(&run(&app, QueueKind::Emails, Some(&transient), true, &[message("m2", 2, job.clone())])[0]) >= 5);
    let refused = ScriptedMailer(Err("mail API answered 422"), true);
    let answer = run(&app, QueueKind::Emails, Some(&refused), true, &[message("m3", 1, job.clone())]);
    match &answer[0] {
        Action::DeadLetter { letter: Letter::Job(DeadLetter::Rejected { job: rejected, reason }), or_retry_after } => {
            assert_eq!(reason, "mail API answered 422");
            assert_eq!(serde_json::to_value(rejected).unwrap(), job);
            assert!(*or_retry_after >= 3, "a failed move to the dead-letter queue is retried later");
        }
        other => panic!("expected the dead-letter queue, got {other:?}"),
    }
    // Sent: acked; delivered again (a duplicate), acked without a second email.
    let dev = DevMailer { db: app.db.as_ref(), clock: app.clock.as_ref() };
    let before = app.emails_to("held@example.com").len();
    assert_eq!(run(&app, QueueKind::Emails, Some(&dev), true, &[message("m1", 1, job.clone())]), [Action::Ack]);
    assert_eq!(run(&app, QueueKind::Emails, Some(&refused), true, &[message("m1", 2, job.clone())]), [Action::Ack]);
    assert_eq!(app.emails_to("held@example.com").len(), before + 1);
    // A message that does not parse goes to the dead-letter queue as it is.
    let junk = json!({"kind": "no_such_job"});
    let answer = run(&app, QueueKind::Emails, Some(&dev), true, &[message("m4", 1, junk.clone())]);
    assert!(matches!(&answer[0], Action::DeadLetter { letter: Letter::Unreadable(v), .. } if *v == junk), "{answer:?}");
}

#[test]
fn dead_letters_are_recorded_and_acked_and_an_invitation_then_shows_failed() {
    let app = TestApp::new();
    let owner = app.verified_user("owner@example.com");
    let org = app.create_org(&owner, "Acme");
    let org_id = org["id"].as_str().unwrap().to_owned();
    let invite = app
        .post(
            &format!("/v1/orgs/{org_id}/invitations"),
            Some(&access(&owner)),
            json!({"email": "new@example.com", "role": "member"}),
        )
        .expect(201)
        .body;
    let job = app.outbox.jobs.borrow_mut().pop().expect("the invitation's job");
    let letter = json!({"job": job, "reason": "mail API answered 422"});
    let acked =
        run(&app, QueueKind::EmailDeadLetters, None, false, &[message("d1", 1, letter), message("d2", 1, json!("?"))]);
    assert_eq!(acked, [Action::Ack, Action::Ack], "recorded even without a configuration, unreadable ones too");
    let list = app.get(&format!("/v1/orgs/{org_id}/invitations"), Some(&access(&owner))).expect(200).body;
    let row = list["data"].as_array().unwrap().iter().find(|i| i["id"] == invite["id"]).unwrap().clone();
    assert_eq!(row["delivery"], "failed");
    // A webhook message past its retries is recorded and acked; an unreadable webhook message is dropped.
    let hooks = [message("w1", 9, json!({"delivery_id": "dlv_gone"}))];
    assert_eq!(run(&app, QueueKind::WebhookDeadLetters, None, false, &hooks), [Action::Ack]);
    assert_eq!(run(&app, QueueKind::Webhooks, None, true, &[message("w2", 1, json!([1]))]), [Action::Ack]);
}
