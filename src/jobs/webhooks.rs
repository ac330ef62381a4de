//! The webhook queue's consumer: one message per delivery attempt, keyed by
//! the delivery id (idempotent: a claim in D1 lets one consumer send a due
//! delivery once; a stale or duplicate message is acked without sending).
//!
//! A failed delivery is not a failed message: its next attempt is scheduled
//! in D1 (attempts counted there) and sent as a new, delayed message, so the
//! queue's own retries and its dead-letter queue are left for crashes (D1
//! unreachable, a secret that does not decrypt).
use super::retry::jittered;
use crate::app::messages::Job;
use crate::app::{random, Clock, Outbox, Rng};
use crate::domain::channel::{self, ChannelKind, MessageFacts, Who};
use crate::domain::sealed::{Purpose, SealingKeys};
use crate::domain::webhook::{self, EventFacts, Outcome, Party, SigningSecret, UrlPolicy};
use crate::stmt;
use crate::store::sql::{self, ChannelEmailRow, SendRow};
use crate::store::{Batch, Db};
use async_trait::async_trait;

/// No answer within this long is a failed attempt (the body included).
pub const TIMEOUT_MS: u32 = 15_000;
/// How much of an answer is kept in the delivery log.
pub const RESPONSE_EXCERPT_BYTES: usize = 256;

/// One POST to a receiver.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// The channel's URL (checked again just before).
    pub url: String,
    /// `content-type`, `webhook-id`, `webhook-timestamp`, `webhook-signature`, `user-agent`.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON payload.
    pub body: String,
}

/// A receiver's answer (a redirect is an answer: never followed).
#[derive(Debug, Clone)]
pub struct WebhookResponse {
    /// Status code.
    pub status: u16,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// The first bytes of the body.
    pub body: Vec<u8>,
    /// How long it took.
    pub latency_ms: i64,
}

/// Posts webhooks: never follows redirects, gives up after [`TIMEOUT_MS`].
#[async_trait(?Send)]
pub trait WebhookSender {
    /// Sends `req`; `Err` for no answer (transport failure, timeout).
    async fn post(&self, req: WebhookRequest) -> Result<WebhookResponse, String>;
}

/// What the consumer needs from the configuration.
#[derive(Debug, Clone)]
pub struct WebhookSettings<'a> {
    /// The sealing keys (`TOTP_ENCRYPTION_KEY`, `TOTP_ENCRYPTION_KEY_PREVIOUS`).
    pub key: &'a SealingKeys,
    /// Seconds to wait after attempt 1, 2, … (`WEBHOOK_RETRY_SCHEDULE`).
    pub schedule: &'a [u32],
    /// Development: http to loopback allowed.
    pub development: bool,
    /// Our host, never a target.
    pub own_host: Option<&'a str>,
    /// The console (`APP_URL`), linked from human messages.
    pub app_url: &'a str,
}

/// The audit details of a delivery's event (an empty object if unreadable).
pub fn details_of(row: &SendRow) -> serde_json::Value {
    serde_json::from_str(&row.data).unwrap_or_else(|_| serde_json::json!({}))
}

/// The facts a human message is made of, from the row the consumer read.
pub fn message_facts<'a>(row: &'a SendRow, details: &'a serde_json::Value, app_url: &'a str) -> MessageFacts<'a> {
    // A deleted org's name survives in its `org.deleted` details.
    let org_name = row
        .org_name
        .as_deref()
        .or_else(|| details.get("name").and_then(serde_json::Value::as_str))
        .unwrap_or(&row.org_id);
    MessageFacts {
        event_type: &row.event_type,
        org_id: &row.org_id,
        org_name,
        actor: Who { kind: &row.actor_kind, name: row.actor_name.as_deref(), email: row.actor_email.as_deref() },
        target_kind: &row.target_kind,
        target: Who { kind: "user", name: row.target_name.as_deref(), email: row.target_email.as_deref() },
        details,
        app_url,
    }
}

/// What to do with the message.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Done (sent, failed for good, or nothing to do).
    Ack,
    /// Ack, and enqueue a new message for the delivery after this many seconds.
    Later(u32),
    /// A crash: retry the message (after `max_retries`, the dead-letter queue).
    Crash(String),
}

/// What a disable means for the org's admins: the channel and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// The org.
    pub org_id: String,
    /// The channel.
    pub channel_id: String,
    /// Its URL.
    pub url: String,
    /// `gone` or `failing`.
    pub reason: &'static str,
}

/// Processes one message for `delivery_id`. Returns what to do with the
/// message and, when this attempt disabled the channel, what to tell admins.
/// An email channel's delivery goes to the mail queue through `outbox`.
pub async fn deliver(
    delivery_id: &str,
    db: &dyn Db,
    sender: &dyn WebhookSender,
    outbox: &dyn Outbox,
    clock: &dyn Clock,
    rng: &dyn Rng,
    settings: &WebhookSettings<'_>,
) -> (Next, Option<Disabled>) {
    attempt(delivery_id, clock.now(), db, sender, outbox, rng, settings)
        .await
        .unwrap_or_else(|e| (Next::Crash(e), None))
}

/// The attempt at `now` (read once: the claim, the signature and the record
/// all use it); `Err` is a crash.
async fn attempt(
    delivery_id: &str,
    now: i64,
    db: &dyn Db,
    sender: &dyn WebhookSender,
    outbox: &dyn Outbox,
    rng: &dyn Rng,
    settings: &WebhookSettings<'_>,
) -> Result<(Next, Option<Disabled>), String> {
    let mut batch = Batch::new();
    let claimed = batch.write(stmt!(sql::CLAIM_DELIVERY, delivery_id, now));
    let row = batch.read::<SendRow>(stmt!(sql::DELIVERY_FOR_SEND, delivery_id));
    // An email channel's recipients ride along (none for the other kinds).
    let recipients = batch.read::<ChannelEmailRow>(stmt!(sql::CONFIRMED_CHANNEL_EMAILS_OF_DELIVERY, delivery_id));
    let mut results = batch.run(db).await.map_err(|e| e.to_string())?;
    let claimed = results.changed(claimed) > 0;
    let recipients = results.all(recipients).map_err(|e| e.to_string())?;
    let Some(row) = results.first(row).map_err(|e| e.to_string())? else {
        return Ok((Next::Ack, None)); // deleted with its channel
    };
    if !claimed {
        // Not due yet (an early duplicate): come back when it is; anything
        // else (done, or another consumer holds it) needs nothing from us.
        return Ok(match row.next_attempt_at {
            Some(due) if row.status == "pending" && due > now + 1 => {
                (Next::Later(u32::try_from(due - now).unwrap_or(webhook::MAX_DELAY_SECONDS)), None)
            }
            _ => (Next::Ack, None),
        });
    }
    if row.enabled == 0 {
        db.run(stmt!(sql::ABANDON_DELIVERY, delivery_id, "channel disabled")).await.map_err(|e| e.to_string())?;
        return Ok((Next::Ack, None));
    }
    let kind = ChannelKind::parse(&row.kind).unwrap_or(ChannelKind::Webhook);
    let policy = UrlPolicy { development: settings.development, own_host: settings.own_host };
    let details = details_of(&row);
    let message = || channel::message(&message_facts(&row, &details, settings.app_url));
    let answer = match kind {
        ChannelKind::Email => to_mail_queue(delivery_id, &recipients, outbox).await,
        ChannelKind::Slack | ChannelKind::Discord => match channel::check_channel_url(kind, &row.url, policy) {
            Err(e) => Err(format!("url refused: {e}")),
            Ok(url) => {
                let body = channel::chat_body(kind, &message()).unwrap_or_default();
                let headers = vec![
                    ("content-type", "application/json".to_owned()),
                    ("user-agent", "Latchkey-Webhooks/1".to_owned()),
                ];
                sender.post(WebhookRequest { url: url.as_str().to_owned(), headers, body }).await
            }
        },
        ChannelKind::Webhook => match webhook::check_url(&row.url, policy) {
            Err(e) => Err(format!("url refused: {e}")),
            Ok(url) => {
                let secrets = secrets(&row, settings.key, now)?;
                let body = webhook::payload(&EventFacts {
                    event_type: &row.event_type,
                    occurred_at: row.occurred_at,
                    org_id: &row.org_id,
                    actor: Party { kind: &row.actor_kind, id: &row.actor_id },
                    target: Party { kind: &row.target_kind, id: &row.target_id },
                    details: &row.data,
                });
                let live: Vec<&SigningSecret> = secrets.iter().collect();
                let signature = webhook::signature_header(&live, delivery_id, now, &body);
                let headers = vec![
                    ("content-type", "application/json".to_owned()),
                    ("user-agent", "Latchkey-Webhooks/1".to_owned()),
                    ("webhook-id", delivery_id.to_owned()),
                    ("webhook-timestamp", now.to_string()),
                    ("webhook-signature", signature),
                ];
                sender.post(WebhookRequest { url: url.as_str().to_owned(), headers, body }).await
            }
        },
    };
    let (status, latency, error, excerpt, retry_after) = match &answer {
        Ok(r) => (
            Some(r.status),
            Some(r.latency_ms),
            None,
            Some(String::from_utf8_lossy(&r.body[..r.body.len().min(RESPONSE_EXCERPT_BYTES)]).into_owned()),
            webhook::retry_after_seconds(r.retry_after.as_deref()),
        ),
        Err(e) => (None, None, Some(e.chars().take(500).collect::<String>()), None, None),
    };
    let outcome = channel::outcome_for(kind, status);
    let attempts = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
    let failing_for = now - row.failing_since.unwrap_or(now);
    let disable = match outcome {
        Outcome::Delivered => None,
        Outcome::Gone => Some("gone"),
        Outcome::Failed => (failing_for >= webhook::DISABLE_AFTER_FAILING_SECONDS).then_some("failing"),
    };
    // No retry on a channel this attempt turns off.
    let next_delay = match (outcome, disable) {
        (Outcome::Failed, None) => settings.schedule.get((attempts - 1) as usize).map(|step| {
            let random = random::<4>(rng).map_or(u32::MAX / 2, u32::from_le_bytes);
            jittered(u64::from(*step), random).max(retry_after.unwrap_or(0)).min(webhook::MAX_DELAY_SECONDS)
        }),
        _ => None,
    };
    let final_status = match (outcome, next_delay) {
        (Outcome::Delivered, _) => "succeeded",
        (_, Some(_)) => "pending",
        (_, None) => "failed",
    };
    let error = error.or_else(|| (outcome != Outcome::Delivered).then(|| format!("answered {}", status.unwrap_or(0))));
    let mut batch = Batch::new();
    batch.add(stmt!(
        sql::RECORD_ATTEMPT,
        delivery_id,
        now,
        final_status,
        next_delay.map(|d| now + i64::from(d)),
        status.map(i64::from),
        latency,
        error.as_deref(),
        excerpt.as_deref()
    ));
    // The attempt itself, for the delivery's list of attempts (after the
    // line above: its number is the new attempt count).
    batch.add(stmt!(sql::INSERT_ATTEMPT, delivery_id, now, status.map(i64::from), latency, error, excerpt));
    match outcome {
        Outcome::Delivered => batch.add(stmt!(sql::CHANNEL_SUCCEEDED, &row.channel_id)),
        Outcome::Gone | Outcome::Failed => batch.add(stmt!(sql::CHANNEL_FAILED, &row.channel_id, now)),
    }
    let disabled = disable.map(|reason| {
        let w = batch.write(stmt!(sql::DISABLE_CHANNEL, &row.channel_id, reason, now));
        batch.add(stmt!(sql::AUDIT_CHANNEL_DISABLED_BY_SYSTEM, &row.channel_id, reason, now));
        (w, reason)
    });
    let results = batch.run(db).await.map_err(|e| e.to_string())?;
    let disabled = disabled.filter(|(w, _)| results.changed(*w) > 0).map(|(_, reason)| Disabled {
        org_id: row.org_id.clone(),
        channel_id: row.channel_id.clone(),
        url: row.url.clone(),
        reason,
    });
    let next = match next_delay {
        Some(d) if disabled.is_none() => Next::Later(d),
        _ => Next::Ack,
    };
    Ok((next, disabled))
}

/// An email channel's delivery: one job on the mail queue per confirmed
/// address (their ids derived from the delivery's and the address's, so a
/// retry mails nobody twice), answered as a 202 once all are enqueued. No
/// confirmed address: skipped (a success, nothing sent).
async fn to_mail_queue(
    delivery_id: &str,
    recipients: &[ChannelEmailRow],
    outbox: &dyn Outbox,
) -> Result<WebhookResponse, String> {
    for r in recipients {
        let job = Job::ChannelEvent {
            job_id: format!("{delivery_id}.{}", r.id),
            delivery_id: delivery_id.to_owned(),
            address_id: r.id.clone(),
        };
        outbox.enqueue(&job).await.map_err(|e| format!("mail queue refused: {e}"))?;
    }
    let said = match recipients.len() {
        0 => "skipped: no confirmed address".to_owned(),
        n => format!("queued for {n} confirmed address{}", if n == 1 { "" } else { "es" }),
    };
    Ok(WebhookResponse { status: 202, retry_after: None, body: said.into_bytes(), latency_ms: 0 })
}

/// The live secrets: the current one, and the previous one during its grace.
fn secrets(row: &SendRow, key: &SealingKeys, now: i64) -> Result<Vec<SigningSecret>, String> {
    let open = |sealed: &str| {
        key.open(Purpose::WebhookSigningSecret, &row.channel_id, sealed)
            .ok()
            .map(|o| o.plaintext)
            .and_then(SigningSecret::from_bytes)
            .ok_or_else(|| format!("channel {}: the signing secret does not decrypt", row.channel_id))
    };
    let mut out = vec![open(&row.secret)?];
    if let (Some(previous), Some(until)) = (&row.previous_secret, row.previous_expires_at) {
        if until > now {
            out.push(open(previous)?);
        }
    }
    Ok(out)
}

/// Records a message the webhook dead-letter queue received (a crash that
/// outlasted the queue's retries). The delivery stays pending in D1: once
/// overdue, the sweep enqueues it again.
pub async fn record_dead_letter(
    message_id: &str,
    delivery_id: &str,
    reason: &str,
    db: &dyn Db,
    now: i64,
) -> Result<(), String> {
    let reason: String = reason.chars().take(500).collect();
    db.run(stmt!(sql::RECORD_WEBHOOK_DEAD_LETTER, message_id, delivery_id, reason, now))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
