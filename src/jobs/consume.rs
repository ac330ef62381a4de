//! Every decision of the queue consumer, host-testable: which queue a batch
//! came from, what each message comes to (ack, retry after a backoff, or the
//! dead-letter queue), and the fallback when the configuration is missing.
//! `platform` only reads the batch into [`Incoming`] and carries out the
//! [`Action`]s it gets back.
//!
//! Webhooks, from the audit event to the POST: a use case writes the audit
//! row and `app::notifications` fans it out into one delivery row per
//! subscribed channel and a queue message per delivery; [`consume`] hands
//! each message to [`super::webhooks::deliver`], which signs and posts it.
use super::retry::{next_retry_delay, DEFAULT_BASE_SECONDS};
use super::webhooks::{self, Next, WebhookSender, WebhookSettings};
use super::{dead_letter, process, DeadLetter, Disposition, Job, Mailer};
use crate::app::{log_error, notifications, Clock, Config, Outbox, Rng};
use crate::store::Db;
use serde::{Deserialize, Serialize};

/// Emails to send (`jobs::process`).
pub const EMAIL_QUEUE: &str = "latchkey-emails";
/// The dead-letter queue of [`EMAIL_QUEUE`]: its messages are recorded, not sent.
pub const EMAIL_DEAD_LETTER_QUEUE: &str = "latchkey-emails-dlq";
/// Webhook deliveries, one message per attempt.
pub const WEBHOOK_QUEUE: &str = "latchkey-webhooks";
/// Webhook messages that crashed past their retries.
pub const WEBHOOK_DEAD_LETTER_QUEUE: &str = "latchkey-webhooks-dlq";

/// The queue a batch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    /// [`EMAIL_QUEUE`] (and any queue of another name: the Worker's first consumer).
    Emails,
    /// [`EMAIL_DEAD_LETTER_QUEUE`].
    EmailDeadLetters,
    /// [`WEBHOOK_QUEUE`].
    Webhooks,
    /// [`WEBHOOK_DEAD_LETTER_QUEUE`].
    WebhookDeadLetters,
}

impl QueueKind {
    /// By the queue's name (`wrangler.toml`).
    pub fn of(name: &str) -> QueueKind {
        match name {
            EMAIL_DEAD_LETTER_QUEUE => QueueKind::EmailDeadLetters,
            WEBHOOK_QUEUE => QueueKind::Webhooks,
            WEBHOOK_DEAD_LETTER_QUEUE => QueueKind::WebhookDeadLetters,
            _ => QueueKind::Emails,
        }
    }
}

/// One message of a batch.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The queue's message id.
    pub id: String,
    /// Deliveries so far, from 1.
    pub attempts: u32,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Done with it.
    Ack,
    /// Deliver it again after this many seconds.
    Retry {
        /// The backoff delay.
        delay_seconds: u32,
    },
    /// Send `letter` to the email dead-letter queue, then ack; if that send
    /// fails, retry after `or_retry_after` seconds instead (after
    /// `max_retries`, Queues moves the message itself).
    DeadLetter {
        /// What the dead-letter consumer records.
        letter: Letter,
        /// The backoff delay should the send fail.
        or_retry_after: u32,
    },
}

/// A message for the email dead-letter queue. Typed, not a JSON value: the
/// queue binding turns a struct into a plain object but a map into a JS `Map`,
/// which its consumer could not read back as a [`DeadLetter`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Letter {
    /// A job the mail API refused.
    Job(DeadLetter),
    /// A message that did not parse, as it came.
    Unreadable(serde_json::Value),
}

/// What the consumer works with.
pub struct Ports<'a> {
    /// D1.
    pub db: &'a dyn Db,
    /// Now.
    pub clock: &'a dyn Clock,
    /// Backoff jitter.
    pub rng: &'a dyn Rng,
    /// The configuration, or why it could not be read.
    pub config: Result<&'a Config, &'a str>,
    /// The mailer the configuration names (none without a configuration).
    pub mailer: Option<&'a dyn Mailer>,
    /// Posts webhooks.
    pub webhooks: &'a dyn WebhookSender,
    /// Re-enqueues webhook deliveries and the admins' emails.
    pub outbox: &'a dyn Outbox,
}

impl Ports<'_> {
    /// The backoff before `message`'s next delivery.
    fn retry_delay(&self, message: &Incoming) -> u32 {
        let base = self.config.map_or(DEFAULT_BASE_SECONDS, |c| c.mail_retry_base_seconds);
        next_retry_delay(self.rng, base, message.attempts.max(1))
    }

    fn retry(&self, message: &Incoming) -> Action {
        Action::Retry { delay_seconds: self.retry_delay(message) }
    }

    fn dead_letter(&self, message: &Incoming, letter: Letter) -> Action {
        Action::DeadLetter { letter, or_retry_after: self.retry_delay(message) }
    }
}

/// Decides (and does) what each message of a batch from `queue` comes to, in order.
pub async fn consume(queue: QueueKind, messages: &[Incoming], ports: &Ports<'_>) -> Vec<Action> {
    let mut actions = Vec::with_capacity(messages.len());
    for message in messages {
        actions.push(match queue {
            QueueKind::Emails => email(message, ports).await,
            QueueKind::EmailDeadLetters => email_dead_letter(message, ports).await,
            QueueKind::Webhooks => webhook(message, ports).await,
            QueueKind::WebhookDeadLetters => webhook_dead_letter(message, ports).await,
        });
    }
    actions
}

async fn email(message: &Incoming, ports: &Ports<'_>) -> Action {
    let (Ok(config), Some(mailer)) = (ports.config, ports.mailer) else {
        // Nothing can be sent: keep the message for a later try (then the dead-letter queue).
        log_error(&format!("email {} kept: {}", message.id, ports.config.err().unwrap_or("no mailer")));
        return ports.retry(message);
    };
    let job: Job = match serde_json::from_value(message.body.clone()) {
        Ok(job) => job,
        Err(e) => {
            // It will not parse next time either: straight to the dead-letter queue.
            log_error(&format!("unreadable queue message {}: {e}", message.id));
            return ports.dead_letter(message, Letter::Unreadable(message.body.clone()));
        }
    };
    match process(&job, ports.db, mailer, ports.clock, config).await {
        Disposition::Ack => Action::Ack,
        Disposition::Retry(why) => {
            log_error(&format!("job {} not delivered, will retry: {why}", job.id()));
            ports.retry(message)
        }
        Disposition::Fail(why) => {
            // Retrying cannot help (e.g. the mail API refused the message):
            // record it now rather than after hours of retries.
            log_error(&format!("job {} refused, to the dead-letter queue: {why}", job.id()));
            ports.dead_letter(message, Letter::Job(DeadLetter::Rejected { job, reason: why }))
        }
    }
}

async fn email_dead_letter(message: &Incoming, ports: &Ports<'_>) -> Action {
    let outcome = match serde_json::from_value::<DeadLetter>(message.body.clone()) {
        Ok(letter) => {
            log_error(&format!("email {} not delivered: {}", letter.job().id(), letter.reason()));
            dead_letter::record_dead_letter(&letter, ports.db, ports.clock).await
        }
        Err(e) => dead_letter::record_unreadable(&message.id, &format!("unreadable: {e}"), ports.db, ports.clock).await,
    };
    match outcome {
        Disposition::Ack => Action::Ack,
        Disposition::Retry(why) | Disposition::Fail(why) => {
            log_error(&why);
            ports.retry(message)
        }
    }
}

/// A webhook queue message: the delivery it is for.
#[derive(Deserialize)]
struct WebhookMessage {
    delivery_id: String,
}

fn delivery_id_of(message: &Incoming) -> Option<String> {
    serde_json::from_value::<WebhookMessage>(message.body.clone()).ok().map(|m| m.delivery_id)
}

async fn webhook(message: &Incoming, ports: &Ports<'_>) -> Action {
    let config = match ports.config {
        Ok(config) => config,
        Err(why) => {
            log_error(&format!("webhook message {} kept: {why}", message.id));
            return ports.retry(message);
        }
    };
    let Some(delivery_id) = delivery_id_of(message) else {
        log_error(&format!("unreadable webhook message {}", message.id));
        return Action::Ack;
    };
    let (development, own_host) = notifications::url_policy(config);
    let settings = WebhookSettings {
        key: &config.totp_key,
        schedule: &config.webhook_retry_schedule,
        development,
        own_host: own_host.as_deref(),
        app_url: &config.app_url,
    };
    let (next, disabled) =
        webhooks::deliver(&delivery_id, ports.db, ports.webhooks, ports.outbox, ports.clock, ports.rng, &settings)
            .await;
    if let Some(d) = disabled {
        notifications::tell_admins_disabled(ports.db, ports.outbox, ports.rng, &d).await;
    }
    match next {
        Next::Ack => Action::Ack,
        Next::Later(delay) => {
            if let Err(e) = ports.outbox.enqueue_webhook(&delivery_id, delay).await {
                // Still pending in D1 with its due time: the sweep resends it.
                log_error(&format!("re-enqueue of delivery {delivery_id} failed: {e}"));
            }
            Action::Ack
        }
        Next::Crash(why) => {
            log_error(&format!("webhook delivery {delivery_id} crashed: {why}"));
            ports.retry(message)
        }
    }
}

async fn webhook_dead_letter(message: &Incoming, ports: &Ports<'_>) -> Action {
    let delivery = delivery_id_of(message).unwrap_or_default();
    log_error(&format!("webhook delivery {delivery} crashed past its retries"));
    match webhooks::record_dead_letter(&message.id, &delivery, "retries exhausted", ports.db, ports.clock.now()).await {
        Ok(()) => Action::Ack,
        Err(e) => {
            log_error(&e);
            ports.retry(message)
        }
    }
}
