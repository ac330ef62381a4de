//! Queue messages and their consumer. Messages carry ids; the consumer reads
//! what it needs, renders the email, sends it with the job id as idempotency
//! key and records a sent-marker, so a duplicate delivery sends nothing twice.
pub use crate::app::messages::Job;
use crate::app::{Clock, Config};
use crate::domain::channel::{self, ChannelKind};
use crate::domain::token::{channel_email_token, email_token, invitation_token, TokenPurpose};
use crate::stmt;
use crate::store::{sql, Db, DbError};
use async_trait::async_trait;
use serde::Deserialize;

pub mod consume;
pub mod dead_letter;
pub mod mail;
pub mod retry;
pub mod webhooks;

pub use dead_letter::{record_dead_letter, record_unreadable, DeadLetter};
pub use mail::OutgoingEmail;

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later (network error, 429, 5xx).
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying will not help (4xx other than 429): the message goes to the dead-letter queue.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Sends one email.
#[async_trait(?Send)]
pub trait Mailer {
    /// Sends `email`; `idempotency_key` lets the provider drop duplicates.
    async fn send(&self, email: &OutgoingEmail, idempotency_key: &str) -> Result<(), MailError>;
}

/// The development mailer: stores the message for `GET /v1/dev/emails`.
pub struct DevMailer<'a> {
    /// Where to store it.
    pub db: &'a dyn Db,
    /// Stamps `sent_at`.
    pub clock: &'a dyn Clock,
}

#[async_trait(?Send)]
impl Mailer for DevMailer<'_> {
    async fn send(&self, email: &OutgoingEmail, idempotency_key: &str) -> Result<(), MailError> {
        self.db
            .run(stmt!(
                sql::INSERT_DEV_EMAIL,
                idempotency_key,
                &email.to,
                &email.subject,
                &email.text,
                &email.html,
                self.clock.now()
            ))
            .await
            .map_err(|e| MailError::Transient(e.to_string()))?;
        Ok(())
    }
}

/// What to do with a message after processing it.
#[derive(Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Done (sent, already sent, or nothing to send any more).
    Ack,
    /// Try again later.
    Retry(String),
    /// Give up now: retrying will not help. The consumer moves the message to
    /// the dead-letter queue at once, whose consumer records it.
    Fail(String),
}

/// Processes one job. Idempotent: safe to run any number of times.
pub async fn process(job: &Job, db: &dyn Db, mailer: &dyn Mailer, clock: &dyn Clock, config: &Config) -> Disposition {
    match process_inner(job, db, mailer, clock, config).await {
        Ok(()) => Disposition::Ack,
        Err(Failure::Transient(e)) => Disposition::Retry(e),
        Err(Failure::Permanent(e)) => Disposition::Fail(e),
    }
}

enum Failure {
    Transient(String),
    Permanent(String),
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        Failure::Transient(e.to_string())
    }
}

async fn process_inner(
    job: &Job,
    db: &dyn Db,
    mailer: &dyn Mailer,
    clock: &dyn Clock,
    config: &Config,
) -> Result<(), Failure> {
    let sent: Option<serde_json::Value> = db.run(stmt!(sql::EMAIL_ALREADY_SENT, job.id())).await?.first()?;
    if sent.is_some() {
        return Ok(());
    }
    let Some(email) = render(job, db, clock, config).await? else {
        return Ok(()); // nothing to send any more (token used or expired, account gone)
    };
    match mailer.send(&email, job.id()).await {
        Ok(()) => {}
        Err(MailError::Transient(e)) => return Err(Failure::Transient(e)),
        Err(MailError::Permanent(e)) => return Err(Failure::Permanent(e)),
    }
    let now = clock.now();
    let mut marks = vec![stmt!(sql::MARK_EMAIL_SENT, job.id(), now)];
    if let Job::Invitation { invitation_id, nonce, .. } = job {
        // The invitation's current send is delivered: it shows as `sent`, and
        // failures of earlier sends stop showing.
        marks.push(stmt!(sql::MARK_INVITATION_DELIVERED, invitation_id, nonce));
        marks.push(stmt!(sql::RESOLVE_INVITATION_FAILURES, invitation_id, now));
    }
    db.batch(marks).await?;
    Ok(())
}

async fn render(job: &Job, db: &dyn Db, clock: &dyn Clock, config: &Config) -> Result<Option<OutgoingEmail>, Failure> {
    match job {
        Job::EmailToken { token_id, .. } => {
            #[derive(Deserialize)]
            struct Row {
                id: String,
                purpose: String,
                expires_at: i64,
                used_at: Option<i64>,
                email: String,
                name: String,
            }
            let row: Option<Row> = db.run(stmt!(sql::EMAIL_TOKEN_FOR_MAIL, token_id)).await?.first()?;
            let Some(row) = row.filter(|r| r.used_at.is_none() && r.expires_at > clock.now()) else {
                return Ok(None);
            };
            let purpose = match row.purpose.as_str() {
                "verify_email" => TokenPurpose::VerifyEmail,
                "password_reset" => TokenPurpose::PasswordReset,
                other => return Err(Failure::Permanent(format!("unknown token purpose {other}"))),
            };
            let token = email_token(&config.token_secret, purpose, &row.id);
            Ok(Some(match purpose {
                TokenPurpose::VerifyEmail => mail::verify_email(config, &row.email, &row.name, token.expose()),
                TokenPurpose::PasswordReset => mail::password_reset(config, &row.email, &row.name, token.expose()),
            }))
        }
        Job::Invitation { invitation_id, nonce, .. } => {
            #[derive(Deserialize)]
            struct Row {
                id: String,
                email: String,
                role: String,
                status: String,
                expires_at: i64,
                send_nonce: String,
                inviter_name: Option<String>,
                org_name: Option<String>,
            }
            let row: Option<Row> = db.run(stmt!(sql::INVITATION_FOR_MAIL, invitation_id)).await?.first()?;
            let Some(row) =
                row.filter(|r| r.status == "pending" && r.expires_at > clock.now() && &r.send_nonce == nonce)
            else {
                return Ok(None); // accepted, revoked, expired or resent since
            };
            let token = invitation_token(&config.token_secret, &row.id, &row.send_nonce);
            Ok(Some(mail::invitation(
                config,
                &row.email,
                row.inviter_name.as_deref().unwrap_or("Someone"),
                row.org_name.as_deref().unwrap_or("a workspace"),
                &row.role,
                token.expose(),
            )))
        }
        Job::AccountExists { user_id, .. } => {
            #[derive(Deserialize)]
            struct Row {
                email: String,
                name: String,
            }
            let row: Option<Row> = db.run(stmt!(sql::USER_BY_ID, user_id)).await?.first()?;
            Ok(row.map(|r| mail::account_exists(config, &r.email, &r.name)))
        }
        Job::IdentityLinked { user_id, provider, .. } => {
            #[derive(Deserialize)]
            struct Row {
                email: String,
                name: String,
                identity_email: Option<String>,
            }
            let row: Option<Row> = db.run(stmt!(sql::IDENTITY_FOR_MAIL, user_id, provider)).await?.first()?;
            Ok(row.map(|r| mail::identity_linked(config, &r.email, &r.name, provider, r.identity_email.as_deref())))
        }
        Job::ChannelDisabled { user_id, channel_id, .. } => {
            #[derive(Deserialize)]
            struct Row {
                email: String,
                name: String,
                org_id: String,
                kind: String,
                url: String,
                disabled_reason: Option<String>,
                emails: Option<String>,
            }
            let row: Option<Row> = db.run(stmt!(sql::CHANNEL_DISABLED_FOR_MAIL, channel_id, user_id)).await?.first()?;
            Ok(row.map(|r| {
                // A Slack or Discord URL is the credential: masked, as the API
                // shows it; an email channel is named by its addresses.
                let kind = ChannelKind::parse(&r.kind).unwrap_or(ChannelKind::Webhook);
                let target = match kind {
                    ChannelKind::Email => format!("email to {}", r.emails.as_deref().unwrap_or_default()),
                    _ => channel::shown_url(kind, &r.url),
                };
                let reason = r.disabled_reason.as_deref().unwrap_or("");
                mail::channel_disabled(config, &r.email, &r.name, &target, &r.org_id, reason)
            }))
        }
        Job::ChannelEmailConfirmation { address_id, .. } => {
            #[derive(Deserialize)]
            struct Row {
                id: String,
                email: String,
                org_name: String,
            }
            let row: Option<Row> =
                db.run(stmt!(sql::CHANNEL_EMAIL_FOR_CONFIRMATION, address_id, clock.now())).await?.first()?;
            Ok(row.map(|r| {
                let token = channel_email_token(&config.token_secret, &r.id);
                mail::channel_email_confirmation(config, &r.email, &r.org_name, token.expose())
            }))
        }
        Job::ChannelEvent { delivery_id, address_id, .. } => {
            #[derive(Deserialize)]
            struct Row {
                email: String,
            }
            // Still confirmed, on a channel still on (else nothing to send).
            let to: Option<Row> = db.run(stmt!(sql::CHANNEL_EMAIL_FOR_EVENT, address_id)).await?.first()?;
            let facts: Option<sql::SendRow> = db.run(stmt!(sql::DELIVERY_FOR_SEND, delivery_id)).await?.first()?;
            Ok(to.zip(facts).map(|(to, row)| {
                let details = webhooks::details_of(&row);
                let facts = webhooks::message_facts(&row, &details, &config.app_url);
                mail::channel_event(
                    &to.email,
                    facts.org_name,
                    &channel::sentence(&facts),
                    &channel::console_link(&facts),
                )
            }))
        }
        Job::AdminNotice { user_id, action, .. } => {
            let row: Option<sql::UserRow> = db.run(stmt!(sql::USER_BY_ID, user_id)).await?.first()?;
            Ok(row.map(|r| mail::admin_notice(config, &r.email, &r.name, action)))
        }
        Job::ApiKeyExpiry { key_id, user_id, days_left, .. } => {
            let row: Option<sql::KeyMailRow> = db.run(stmt!(sql::API_KEY_FOR_MAIL, key_id, user_id)).await?.first()?;
            let now = clock.now();
            // Revoked or rotated since the warning: nothing to rotate any more.
            Ok(row
                .filter(|r| r.rotated_to.is_none() && r.revoked_at.is_none_or(|t| t > now))
                .map(|r| mail::api_key_expiry(config, &r, *days_left)))
        }
        Job::MembershipDecided { request_id, .. } => {
            let row: Option<sql::RequestRow> = db.run(stmt!(sql::REQUEST_BY_ID, request_id)).await?.first()?;
            Ok(row.and_then(|r| match r.status.as_str() {
                "approved" | "denied" => Some(mail::membership_decided(config, &r)),
                _ => None,
            }))
        }
    }
}
