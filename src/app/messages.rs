//! Queue messages: what the use cases enqueue (through [`super::Outbox`])
//! and `jobs` consumes. They live here, with the producer, so that `app`
//! never imports `jobs`: the consumer depends on the use-case layer's ports
//! and messages, never the other way round.
use serde::{Deserialize, Serialize};

/// A queued job. Small, versionless JSON: `{"kind": "...", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Email the link of an `email_tokens` row (verification or reset).
    EmailToken {
        /// Idempotency key.
        job_id: String,
        /// The row; the token is derived from it.
        token_id: String,
    },
    /// Email an invitation link. Skipped if the invitation was resent since (its nonce changed).
    Invitation {
        /// Idempotency key.
        job_id: String,
        /// The invitation.
        invitation_id: String,
        /// The send nonce the link is derived from.
        nonce: String,
    },
    /// Tell an account holder that someone tried to sign up with their address.
    AccountExists {
        /// Idempotency key (one per account per hour).
        job_id: String,
        /// The account.
        user_id: String,
    },
    /// Tell a person that a provider was linked to their account (from
    /// settings, or automatically through a provider-verified address).
    IdentityLinked {
        /// Idempotency key.
        job_id: String,
        /// The person.
        user_id: String,
        /// `github`, `google` or `gitlab`.
        provider: String,
    },
    /// Tell an org admin that a notification channel was disabled (410, or 5 days failing).
    ChannelDisabled {
        /// Idempotency key.
        job_id: String,
        /// The admin.
        user_id: String,
        /// The channel.
        channel_id: String,
    },
    /// Tell a person what a platform administrator did on their account.
    AdminNotice {
        /// Idempotency key.
        job_id: String,
        /// The person.
        user_id: String,
        /// The platform audit action (`user.suspended`, …).
        action: String,
    },
    /// Tell a person their membership request was approved or denied.
    MembershipDecided {
        /// Idempotency key.
        job_id: String,
        /// The request.
        request_id: String,
    },
    /// Email an email channel's address its confirmation link (derived from the row).
    ChannelEmailConfirmation {
        /// Idempotency key.
        job_id: String,
        /// The address row (`nce_…`).
        address_id: String,
    },
    /// Email one event of an email channel to one of its confirmed addresses.
    ChannelEvent {
        /// Idempotency key: `<delivery id>.<address id>`, the same on every
        /// attempt of the delivery, so a retried delivery mails nobody twice.
        job_id: String,
        /// The delivery (its event and channel).
        delivery_id: String,
        /// The address row (`nce_…`).
        address_id: String,
    },
    /// Tell a person (the key's creator, an org owner or admin) that an API
    /// key expires soon, or expired. Skipped if the key was revoked or rotated since.
    ApiKeyExpiry {
        /// Idempotency key.
        job_id: String,
        /// The key.
        key_id: String,
        /// The recipient.
        user_id: String,
        /// The warning's threshold in days (0: it expired).
        threshold: i64,
        /// Whole days left when the warning was recorded (the email says
        /// what the warning said, whenever the queue delivers it).
        days_left: i64,
    },
}

impl Job {
    /// The idempotency key.
    pub fn id(&self) -> &str {
        match self {
            Job::EmailToken { job_id, .. }
            | Job::AccountExists { job_id, .. }
            | Job::Invitation { job_id, .. }
            | Job::ChannelDisabled { job_id, .. }
            | Job::IdentityLinked { job_id, .. }
            | Job::MembershipDecided { job_id, .. }
            | Job::AdminNotice { job_id, .. }
            | Job::ChannelEmailConfirmation { job_id, .. }
            | Job::ChannelEvent { job_id, .. }
            | Job::ApiKeyExpiry { job_id, .. } => job_id,
        }
    }

    /// The `kind` tag, as stored with a failed delivery.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::EmailToken { .. } => "email_token",
            Job::Invitation { .. } => "invitation",
            Job::AccountExists { .. } => "account_exists",
            Job::ChannelDisabled { .. } => "channel_disabled",
            Job::IdentityLinked { .. } => "identity_linked",
            Job::MembershipDecided { .. } => "membership_decided",
            Job::AdminNotice { .. } => "admin_notice",
            Job::ChannelEmailConfirmation { .. } => "channel_email_confirmation",
            Job::ChannelEvent { .. } => "channel_event",
            Job::ApiKeyExpiry { .. } => "api_key_expiry",
        }
    }

    /// The row the email is about: the token, invitation or account id.
    pub fn subject_id(&self) -> &str {
        match self {
            Job::EmailToken { token_id, .. } => token_id,
            Job::Invitation { invitation_id, .. } => invitation_id,
            Job::AccountExists { user_id, .. } => user_id,
            Job::ChannelDisabled { channel_id, .. } => channel_id,
            Job::IdentityLinked { user_id, .. } => user_id,
            Job::MembershipDecided { request_id, .. } => request_id,
            Job::AdminNotice { user_id, .. } => user_id,
            Job::ChannelEmailConfirmation { address_id, .. } => address_id,
            Job::ChannelEvent { delivery_id, .. } => delivery_id,
            Job::ApiKeyExpiry { key_id, .. } => key_id,
        }
    }
}
