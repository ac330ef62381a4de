//! Notification channels: an org's outgoing webhooks (Standard Webhooks).
//!
//! Events are recorded by the audit rows of the changes themselves (see
//! [`super::audit::Event`] and migration 0013's trigger), in the same batch;
//! this module manages channels, lists deliveries, and hands deliveries to
//! the webhook queue: right after the request that recorded them
//! ([`enqueue_recorded`]) and, for any the queue did not take, from the
//! scheduled sweep ([`sweep`]).
//!
//! Reading and changing channels both need `notifications:write` (owners and
//! admins; keys with that scope): a channel's URL often embeds a receiver's
//! token, and delivery logs quote receivers' answers, so `org:read` (every
//! member) is not enough to see them.
use super::access::{Credential, Granted, TwoFactorPolicy, Wrote};
use super::audit::{Actor, Event};
use super::page::PageRequest;
use super::{log_error, random, AppError, Deps, ErrorCode};
use crate::domain::channel::{self, ChannelKind};
use crate::domain::email::Email;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::policy::{Permission, Verdict};
use crate::domain::sealed::Purpose;
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::domain::token::{self, Secret};
use crate::domain::webhook::{self, Reads, SigningSecret, UrlPolicy, WebhookUrl};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, AttemptRow, ChannelRow, DeliveryRow, IdRow};
use crate::store::{Batch, Db, Read};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// Longest rotation grace.
pub const MAX_GRACE_SECONDS: i64 = 86_400;
/// Most event types one channel subscribes to (all of them).
pub const MAX_EVENT_TYPES: usize = 32;
/// Longest description.
const MAX_DESCRIPTION_CHARS: usize = 200;
/// Channels an org may have: each change fans out to each of them.
pub const MAX_CHANNELS_PER_ORG: i64 = 20;
/// Attempts listed per delivery (the latest).
pub const LISTED_ATTEMPTS: i64 = 20;
/// Deliveries one sweep hands to the queue.
const SWEEP_BATCH: i64 = 100;

/// An event type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventTypeView {
    /// e.g. `member.added`.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
    /// The permission reading its data takes, which whoever creates a channel
    /// for it (or changes such a channel's URL or types) must hold: a
    /// person by role, an API key by scope (`null`: none beyond
    /// `notifications:write`).
    pub requires: Option<&'static str>,
    /// Only a person may subscribe a channel to it (API keys never read API keys).
    pub person_only: bool,
}

/// Every event type.
pub fn event_types() -> Vec<EventTypeView> {
    webhook::EVENT_TYPES
        .iter()
        .map(|(name, reads, description)| {
            let (requires, person_only) = match reads {
                Reads::Nothing => (None, false),
                Reads::Permission(p) => (Some(p.as_str()), false),
                Reads::PersonWith(p) => (Some(p.as_str()), true),
            };
            EventTypeView { name, description, requires, person_only }
        })
        .collect()
}

/// An email channel's address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelEmailView {
    /// The address.
    pub email: String,
    /// Whether it followed its confirmation link (only confirmed addresses receive anything).
    pub confirmed: bool,
    /// When, RFC 3339.
    pub confirmed_at: Option<String>,
}

/// A channel as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelView {
    /// `nch_…`
    pub id: String,
    /// `webhook` (signed), `slack`, `discord` or `email`.
    pub kind: String,
    /// The receiver: a webhook's in full; a Slack or Discord URL (itself the
    /// credential) as its host and first path segment, `…` and its last 4
    /// characters; `null` for an email channel.
    pub url: Option<String>,
    /// An email channel's addresses (absent for the other kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<ChannelEmailView>>,
    /// Free text.
    pub description: String,
    /// Subscribed event types.
    pub event_types: Vec<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why it is off: `manual`, `gone` (the receiver answered 410) or
    /// `failing` (5 days without a successful delivery).
    pub disabled_reason: Option<String>,
    /// Until when the previous secret also signs (RFC 3339), during a rotation.
    pub previous_secret_expires_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// A new channel, or a rotated secret: the only answers with the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelWithSecret {
    /// The channel.
    #[serde(flatten)]
    pub channel: ChannelView,
    /// `whsec_…`: shown in this answer only; webhooks only (Slack,
    /// Discord and email channels are not signed: absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One attempt to deliver.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1 for the first attempt, counting on across manual retries.
    pub number: i64,
    /// When it was made, RFC 3339.
    pub attempted_at: String,
    /// The answer's status code (none: no answer).
    pub status_code: Option<i64>,
    /// How long it took, in milliseconds (none: no answer).
    pub latency_ms: Option<i64>,
    /// Why it failed (none: delivered).
    pub error: Option<String>,
    /// The first 256 bytes of the answer.
    pub response: Option<String>,
}

/// One delivery: its attempts, oldest first, and the last one's outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `dlv_…`, also the `webhook-id` header.
    pub id: String,
    /// The event type.
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts made (all of them; `attempts` lists the latest 20).
    pub attempt_count: i64,
    /// The attempts, oldest first (the latest 20 when there were more).
    pub attempts: Vec<AttemptView>,
    /// When the next attempt is due (pending only), RFC 3339.
    pub next_attempt_at: Option<String>,
    /// The last answer's status code (none: no answer).
    pub last_status_code: Option<i64>,
    /// The last attempt's duration in milliseconds.
    pub last_latency_ms: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The first 256 bytes of the last answer.
    pub last_response: Option<String>,
    /// RFC 3339.
    pub last_attempt_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

fn view(r: &ChannelRow, now: i64) -> ChannelView {
    #[derive(serde::Deserialize)]
    struct Address {
        email: String,
        confirmed_at: Option<i64>,
    }
    let kind = ChannelKind::parse(&r.kind).unwrap_or(ChannelKind::Webhook);
    let emails = (kind == ChannelKind::Email).then(|| {
        let mut list: Vec<Address> = serde_json::from_str(&r.emails).unwrap_or_default();
        list.sort_by(|a, b| a.email.cmp(&b.email));
        list.into_iter()
            .map(|a| ChannelEmailView {
                email: a.email,
                confirmed: a.confirmed_at.is_some(),
                confirmed_at: a.confirmed_at.map(rfc3339),
            })
            .collect()
    });
    ChannelView {
        id: r.id.clone(),
        kind: kind.as_str().to_owned(),
        url: kind.has_url().then(|| channel::shown_url(kind, &r.url)),
        emails,
        description: r.description.clone(),
        event_types: serde_json::from_str(&r.event_types).unwrap_or_default(),
        enabled: r.enabled != 0,
        disabled_reason: r.disabled_reason.clone(),
        previous_secret_expires_at: r.previous_expires_at.filter(|t| *t > now).map(rfc3339),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

fn delivery_view(r: DeliveryRow) -> Result<DeliveryView, AppError> {
    let mut log: Vec<AttemptRow> = serde_json::from_str(&r.attempt_log)
        .map_err(|e| AppError::internal_from("a delivery's attempts as listed", e))?;
    log.sort_by_key(|a| a.number);
    let attempts = log
        .into_iter()
        .map(|a| AttemptView {
            number: a.number,
            attempted_at: rfc3339(a.attempted_at),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
            response: a.response,
        })
        .collect();
    Ok(DeliveryView {
        id: r.id,
        event_type: r.event_type,
        status: r.status,
        attempt_count: r.attempts,
        attempts,
        next_attempt_at: r.next_attempt_at.map(rfc3339),
        last_status_code: r.last_status_code,
        last_latency_ms: r.last_latency_ms,
        last_error: r.last_error,
        last_response: r.last_response,
        last_attempt_at: r.last_attempt_at.map(rfc3339),
        created_at: rfc3339(r.created_at),
    })
}

/// The URL rules as this deployment applies them.
pub fn url_policy(config: &super::Config) -> (bool, Option<String>) {
    (config.development, webhook::host_of(&config.app_url))
}

fn checked_url(deps: &Deps, kind: ChannelKind, raw: &str) -> Result<WebhookUrl, AppError> {
    let (development, own) = url_policy(&deps.config);
    channel::check_channel_url(kind, raw, UrlPolicy { development, own_host: own.as_deref() })
        .map_err(|e| AppError::refused(ErrorCode::InvalidWebhookUrl, format!("url: {e}")))
}

/// Days an email channel's confirmation link works.
pub const EMAIL_CONFIRMATION_SECONDS: i64 = 7 * 24 * 3600;

/// Where a new channel sends: a checked URL, or 1..10 distinct addresses.
#[derive(Debug, Clone)]
enum Target {
    Url(WebhookUrl),
    Emails(Vec<Email>),
}

/// The kind (default `webhook`) and its target: a URL for every kind but
/// email, which takes `emails` instead (each field only for its kinds).
fn checked_target(deps: &Deps, new: &NewChannel<'_>) -> Result<(ChannelKind, Target), AppError> {
    let kind = match new.kind {
        None => ChannelKind::Webhook,
        Some(raw) => ChannelKind::parse(raw).ok_or_else(|| {
            AppError::field(FieldError::new("kind", "invalid_kind", "must be webhook, slack, discord or email"))
        })?,
    };
    match (kind, new.url, new.emails) {
        (ChannelKind::Email, None, Some(raw)) => {
            let bad = |why: &str| AppError::field(FieldError::new("emails", "invalid_emails", why.to_owned()));
            if raw.is_empty() || raw.len() > channel::MAX_EMAILS {
                return Err(bad("must list 1 to 10 distinct email addresses"));
            }
            let mut emails: Vec<Email> = Vec::with_capacity(raw.len());
            for r in raw {
                let e = Email::parse(r).map_err(|e| bad(&format!("{r}: {}", e.message)))?;
                if emails.iter().any(|x| x.as_str() == e.as_str()) {
                    return Err(bad("must list 1 to 10 distinct email addresses"));
                }
                emails.push(e);
            }
            Ok((kind, Target::Emails(emails)))
        }
        (ChannelKind::Email, Some(_), _) => {
            Err(AppError::field(FieldError::new("url", "not_allowed", "an email channel takes `emails`, not a URL")))
        }
        (ChannelKind::Email, None, None) => {
            Err(AppError::field(FieldError::new("emails", "required", "an email channel needs 1 to 10 addresses")))
        }
        (_, _, Some(_)) => Err(AppError::field(FieldError::new(
            "emails",
            "not_allowed",
            "only an email channel takes `emails`; this kind takes a `url`",
        ))),
        (_, Some(url), None) => Ok((kind, Target::Url(checked_url(deps, kind, url)?))),
        (_, None, None) => {
            Err(AppError::field(FieldError::new("url", "required", "this kind of channel needs a `url`")))
        }
    }
}

fn checked_event_types(raw: &[String]) -> Result<String, AppError> {
    let bad = || {
        AppError::field(FieldError::new(
            "event_types",
            "invalid_event_types",
            "must list 1 or more distinct event types from GET /v1/notification-event-types",
        ))
    };
    if raw.is_empty() || raw.len() > MAX_EVENT_TYPES || !raw.iter().all(|t| webhook::is_event_type(t)) {
        return Err(bad());
    }
    let mut sorted: Vec<&String> = raw.iter().collect();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != raw.len() {
        return Err(bad());
    }
    Ok(serde_json::Value::from(raw.to_vec()).to_string())
}

fn checked_description(raw: &str) -> Result<&str, AppError> {
    if raw.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::field(FieldError::new("description", "too_long", "at most 200 characters")));
    }
    Ok(raw.trim())
}

fn seal(deps: &Deps, channel_id: &str, secret: &SigningSecret) -> Result<String, AppError> {
    Ok(deps.config.totp_key.seal(Purpose::WebhookSigningSecret, channel_id, random(deps.rng.as_ref())?, secret.bytes()))
}

fn new_secret(deps: &Deps) -> Result<SigningSecret, AppError> {
    Ok(SigningSecret::random(random(deps.rng.as_ref())?))
}

async fn manager(deps: &Deps, who: &Credential, org_id: &str) -> Result<Granted, AppError> {
    Ok(who.require_in_org(deps, org_id, Permission::NotificationsWrite, Batch::new()).await?.0)
}

/// A write of the channels' manager in one round trip ([`Credential::require_write`]).
async fn manager_write<T>(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    writes: impl FnOnce(&Actor, &mut Batch) -> Result<T, AppError>,
) -> Result<Wrote<Granted, T>, AppError> {
    who.require_write(deps, Tenant::Org(org_id), Permission::NotificationsWrite, TwoFactorPolicy::Enforce, writes).await
}

/// The caller and one channel of the org (another org's is 404), read in
/// the same round trip.
async fn manager_and_channel(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
) -> Result<(Granted, ChannelRow), AppError> {
    who.require_row(
        deps,
        Tenant::Org(org_id),
        Permission::NotificationsWrite,
        (IdKind::Channel, id, sql::CHANNEL_IN_ORG),
    )
    .await
}

/// Refuses event types whose data `who` may not read (SECURITY.md: a channel
/// receives only what its creator may read). `role` is the person's role in
/// the org; a key is judged by its scopes.
fn readable(me: &Granted, types: &[String]) -> Result<(), AppError> {
    for t in types {
        let needs = match webhook::reads(t) {
            Some(Reads::Permission(p) | Reads::PersonWith(p)) => p.as_str(),
            Some(Reads::Nothing) | None => "",
        };
        let refused = |code: ErrorCode, why: &str| {
            Err(AppError::refused(code, format!("event_types: {t} carries data only {needs} may read; {why}")))
        };
        match me.may_read(t) {
            Verdict::Allow => {}
            Verdict::MissingScope => return refused(ErrorCode::InsufficientScope, "this API key lacks that scope"),
            Verdict::UserRequired => return refused(ErrorCode::Forbidden, "API keys never read API keys"),
            Verdict::Forbidden | Verdict::TwoFactorRequired => {
                return refused(ErrorCode::Forbidden, "your role lacks it")
            }
        }
    }
    Ok(())
}

fn audit<'a>(
    org_id: &'a str,
    actor: &'a Actor,
    action: &'static str,
    id: &'a str,
    data: serde_json::Value,
) -> Event<'a> {
    Event::in_tenant(Tenant::Org(org_id), actor, action, "notification_channel", id, data)
}

/// What a new channel is.
#[derive(Debug, Clone)]
pub struct NewChannel<'a> {
    /// `webhook` (the default), `slack`, `discord` or `email`.
    pub kind: Option<&'a str>,
    /// The receiver (every kind but email).
    pub url: Option<&'a str>,
    /// An email channel's addresses (1..10).
    pub emails: Option<&'a [String]>,
    /// Free text.
    pub description: &'a str,
    /// Subscribed event types.
    pub event_types: &'a [String],
}

/// Creates a channel; the answer carries its secret, once.
pub async fn create_channel(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    new: NewChannel<'_>,
) -> Result<ChannelWithSecret, AppError> {
    let id = deps.new_id(IdKind::Channel)?;
    let now = deps.now();
    let (target, types) = (checked_target(deps, &new), checked_event_types(new.event_types));
    // Only a webhook is signed; the others keep no secret ('').
    let kind = target.as_ref().map_or(ChannelKind::Webhook, |(k, _)| *k);
    let secret = kind.signed().then(|| new_secret(deps)).transpose()?;
    let sealed = secret.as_ref().map(|s| seal(deps, &id, s)).transpose()?.unwrap_or_default();
    let addresses = match &target {
        Ok((_, Target::Emails(emails))) => new_addresses(deps, emails)?,
        _ => Vec::new(),
    };
    let description = checked_description(new.description);
    // A key, or input to refuse: the resolution answers first (a caller who
    // may not learns nothing from a 422), then the write. A person's valid
    // channel is written in one round trip, its check inside the write.
    let resolved = match (who, &target, &types, &description) {
        (Credential::Session(_), Ok(_), Ok(_), Ok(_)) => None,
        _ => Some(manager(deps, who, org_id).await?),
    };
    let ((kind, target), types) = (target?, types?);
    if let Some(a) = &resolved {
        readable(a, new.event_types)?;
    }
    let fields = ChannelFields {
        id: &id,
        org_id,
        kind,
        target: &target,
        addresses: &addresses,
        description: description?,
        types: &types,
        sealed,
        now,
    };
    let row = match resolved {
        // The guard admits only roles that have what reading the subscribed
        // types' data takes.
        None => {
            let reads: Vec<Permission> = new
                .event_types
                .iter()
                .filter_map(|t| match webhook::reads(t) {
                    Some(Reads::Permission(p) | Reads::PersonWith(p)) => Some(p),
                    Some(Reads::Nothing) | None => None,
                })
                .collect();
            let may_read = |granted: &Granted| readable(granted, new.event_types);
            let write = |actor: &Actor, batch: &mut Batch| fields.insert(deps, actor, new.event_types, batch);
            let tenant = Tenant::Org(org_id);
            let wrote = who
                .require_write_checked(deps, tenant, Permission::NotificationsWrite, &reads, &may_read, write)
                .await?;
            wrote.ran?.first(wrote.handles)?
        }
        Some(a) => {
            let mut batch = Batch::new();
            let row = fields.insert(deps, a.actor(), new.event_types, &mut batch)?;
            batch.run(deps.db.as_ref()).await?.first(row)?
        }
    };
    let Some(row) = row else {
        return Err(AppError::refused(
            ErrorCode::Conflict,
            format!("an organization has at most {MAX_CHANNELS_PER_ORG} notification channels; delete one first"),
        ));
    };
    // Each address gets its confirmation link (after the rows are written;
    // a refused enqueue is logged: delete and re-create the channel).
    for (address_id, _, _) in &addresses {
        let job = super::messages::Job::ChannelEmailConfirmation {
            job_id: deps.new_id(IdKind::Job)?,
            address_id: address_id.clone(),
        };
        if let Err(e) = deps.outbox.enqueue(&job).await {
            log_error(&format!("enqueue of {} failed: {e}", job.id()));
        }
    }
    Ok(ChannelWithSecret { channel: view(&row, now), secret: secret.map(|s| s.expose()) })
}

/// New address rows: `(id, address, SHA-256 of its link token)`; the token
/// itself is derived again from the id when the email is rendered.
fn new_addresses(deps: &Deps, emails: &[Email]) -> Result<Vec<(String, String, String)>, AppError> {
    emails
        .iter()
        .map(|e| {
            let id = deps.new_id(IdKind::ChannelEmail)?;
            let digest = token::channel_email_token(&deps.config.token_secret, &id).digest();
            Ok((id, e.as_str().to_owned(), digest))
        })
        .collect()
}

/// A new channel's row, checked.
struct ChannelFields<'a> {
    id: &'a str,
    org_id: &'a str,
    kind: ChannelKind,
    target: &'a Target,
    addresses: &'a [(String, String, String)],
    description: &'a str,
    types: &'a str,
    sealed: String,
    now: i64,
}

impl ChannelFields<'_> {
    /// The guarded insert (at most [`MAX_CHANNELS_PER_ORG`]), its audit row,
    /// and the row read back (none: the org is full).
    fn insert(
        &self,
        deps: &Deps,
        actor: &Actor,
        event_types: &[String],
        batch: &mut Batch,
    ) -> Result<Read<ChannelRow>, AppError> {
        let (id, org_id, now) = (self.id, self.org_id, self.now);
        let data = match self.target {
            Target::Url(url) => {
                json!({"kind": self.kind.as_str(), "url": webhook::audit_origin(url), "event_types": event_types})
            }
            Target::Emails(emails) => json!({
                "kind": self.kind.as_str(),
                "emails": emails.iter().map(Email::as_str).collect::<Vec<_>>(),
                "event_types": event_types,
            }),
        };
        let event = audit(org_id, actor, "notification_channel.created", id, data);
        let url = match self.target {
            Target::Url(url) => url.as_str(),
            Target::Emails(_) => "",
        };
        let (kind, max) = (actor.kind, MAX_CHANNELS_PER_ORG);
        batch.add(stmt!(
            sql::INSERT_CHANNEL,
            id,
            org_id,
            url,
            self.description,
            self.types,
            &self.sealed,
            kind,
            &actor.id,
            now,
            max,
            self.kind.as_str()
        ));
        batch.add(event.stmt_if_changed(deps)?);
        let expires = now + EMAIL_CONFIRMATION_SECONDS;
        for (address_id, email, digest) in self.addresses {
            batch.add(stmt!(sql::INSERT_CHANNEL_EMAIL, address_id, id, email, digest, expires, now));
        }
        Ok(batch.read::<ChannelRow>(stmt!(sql::CHANNEL_IN_ORG, id, org_id)))
    }
}

/// The org's channels, newest first.
pub async fn list_channels(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    page: &PageRequest,
) -> Result<(Vec<ChannelView>, Option<String>), AppError> {
    let (k, id, limit) = page.sql_params();
    let mut batch = Batch::new();
    let rows = batch.read::<ChannelRow>(stmt!(sql::LIST_CHANNELS, org_id, k, id, limit));
    let (_, mut results) = who.require_in_org(deps, org_id, Permission::NotificationsWrite, batch).await?;
    let rows = results.all(rows)?;
    let (rows, next) = page.finish(rows, |r| (r.created_at, r.id.clone()));
    let now = deps.now();
    Ok((rows.iter().map(|r| view(r, now)).collect(), next))
}

/// One channel.
pub async fn get_channel(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<ChannelView, AppError> {
    Ok(view(&manager_and_channel(deps, who, org_id, id).await?.1, deps.now()))
}

/// A change: only what is given changes.
#[derive(Debug, Clone, Default)]
pub struct ChannelChange<'a> {
    /// New receiver.
    pub url: Option<&'a str>,
    /// New description.
    pub description: Option<&'a str>,
    /// New subscription.
    pub event_types: Option<&'a [String]>,
    /// On or off.
    pub enabled: Option<bool>,
}

/// Changes a channel.
pub async fn update_channel(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    change: ChannelChange<'_>,
) -> Result<ChannelView, AppError> {
    let (a, current) = manager_and_channel(deps, who, org_id, id).await?;
    let actor = a.actor().clone();
    let kind = ChannelKind::parse(&current.kind).unwrap_or(ChannelKind::Webhook);
    if change.url.is_some() && !kind.has_url() {
        return Err(AppError::field(FieldError::new("url", "not_allowed", "an email channel has no URL")));
    }
    let url = change.url.map(|u| checked_url(deps, kind, u)).transpose()?;
    let types = change.event_types.map(checked_event_types).transpose()?;
    // A new receiver, or a new subscription: only for what the changer may
    // read (all the types the channel will carry).
    let retargeted_types = (url.is_some() && change.event_types.is_none()).then_some(current.event_types.as_str());
    if url.is_some() || change.event_types.is_some() {
        let kept: Vec<String>;
        let carried = match change.event_types {
            Some(t) => t,
            None => {
                kept = serde_json::from_str(&current.event_types)
                    .map_err(|e| AppError::internal_from("a channel's stored event types", e))?;
                &kept
            }
        };
        readable(&a, carried)?;
    }
    let description = change.description.map(checked_description).transpose()?;
    let now = deps.now();
    let data = json!({
        "url": url.as_ref().map(webhook::audit_origin),
        "description": description,
        "event_types": change.event_types,
        "enabled": change.enabled,
    });
    let action = match change.enabled {
        Some(false) => "notification_channel.disabled",
        Some(true) => "notification_channel.enabled",
        None => "notification_channel.updated",
    };
    let event = audit(org_id, &actor, action, id, data);
    let mut batch = Batch::new();
    // A new URL for the types checked above only: if someone changed them
    // meanwhile, nothing changes (409; the caller tries again and is judged
    // on the new ones).
    let updated = batch.write(stmt!(
        sql::UPDATE_CHANNEL,
        id,
        org_id,
        url.as_ref().map(WebhookUrl::as_str),
        description,
        types,
        change.enabled,
        now,
        retargeted_types
    ));
    batch.add(event.stmt_if_changed(deps)?);
    let row = batch.read::<ChannelRow>(stmt!(sql::CHANNEL_IN_ORG, id, org_id));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let changed = results.changed(updated) > 0;
    let row = results.first(row)?.ok_or(AppError::NotFound)?;
    if !changed {
        return Err(AppError::refused(ErrorCode::Conflict, "the channel changed meanwhile; try again"));
    }
    Ok(view(&row, now))
}

/// Deletes a channel and its deliveries.
pub async fn delete_channel(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let (kind, sql, action) = (IdKind::Channel, sql::DELETE_CHANNEL, "notification_channel.deleted");
    who.delete_org_row(deps, org_id, Permission::NotificationsWrite, kind, id, sql, action, "notification_channel")
        .await
}

/// A new secret; the old one keeps signing for `grace_seconds` (0..=86400).
pub async fn rotate_secret(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    grace_seconds: i64,
) -> Result<ChannelWithSecret, AppError> {
    if !(0..=MAX_GRACE_SECONDS).contains(&grace_seconds) {
        // Credentials and access first: a stranger learns nothing from a 422.
        manager(deps, who, org_id).await?;
        return Err(AppError::field(FieldError::new(
            "grace_period_seconds",
            "out_of_range",
            "must be an integer from 0 to 86400",
        )));
    }
    let now = deps.now();
    let secret = new_secret(deps)?;
    let sealed = seal(deps, id, &secret)?;
    let until = (grace_seconds > 0).then_some(now + grace_seconds);
    // One round trip: the guard, the rotation, its audit row and the read-back
    // (no row: not this org's channel, 404).
    let wrote = manager_write(deps, who, org_id, |actor, batch| {
        let event = audit(
            org_id,
            actor,
            "notification_channel.secret_rotated",
            id,
            json!({"grace_period_seconds": grace_seconds}),
        );
        batch.add(stmt!(sql::ROTATE_CHANNEL_SECRET, id, org_id, sealed, until, now));
        batch.add(event.stmt_if_changed(deps)?);
        Ok(batch.read::<ChannelRow>(stmt!(sql::CHANNEL_IN_ORG, id, org_id)))
    })
    .await?;
    let row = wrote.ran?.first(wrote.handles)?.ok_or(AppError::NotFound)?;
    if row.kind != ChannelKind::Webhook.as_str() {
        return Err(AppError::refused(
            ErrorCode::ChannelKindMismatch,
            format!("a {} channel has no signing secret: only webhooks are signed", row.kind),
        ));
    }
    Ok(ChannelWithSecret { channel: view(&row, now), secret: Some(secret.expose()) })
}

/// Sends a `ping` to one channel (it must be enabled).
pub async fn test_channel(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let (me, row) = manager_and_channel(deps, who, org_id, id).await?;
    let actor = me.actor().clone();
    if row.enabled == 0 {
        return Err(AppError::refused(ErrorCode::Conflict, "the channel is disabled; enable it first"));
    }
    let now = deps.now();
    let audit_id = deps.new_id(IdKind::Event)?;
    let event_id = deps.new_id(IdKind::NotificationEvent)?;
    let delivery_id = deps.new_id(IdKind::Delivery)?;
    let event = audit(org_id, &actor, "notification_channel.tested", id, json!({"delivery_id": delivery_id}));
    let mut batch = Batch::new();
    batch.add(stmt!(sql::INSERT_PING_EVENT, &event_id, &audit_id, org_id, actor.kind, &actor.id, id, now));
    let inserted = batch.write(stmt!(sql::INSERT_PING_DELIVERY, &delivery_id, &event_id, id, now));
    batch.add(event.stmt_if_changed(deps)?);
    if batch.run(deps.db.as_ref()).await?.changed(inserted) == 0 {
        return Err(AppError::refused(ErrorCode::Conflict, "the channel is disabled; enable it first"));
    }
    // Enqueued after the response, as every event's deliveries are (the
    // sweep takes any the queue did not).
    deps.notified.borrow_mut().push(audit_id);
    Ok(())
}

/// Delivery statuses a list may filter on.
pub const DELIVERY_STATUSES: [&str; 3] = ["pending", "succeeded", "failed"];

/// A channel's deliveries, newest first, optionally of one status.
pub async fn list_deliveries(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    status: Option<&str>,
    page: &PageRequest,
) -> Result<(Vec<DeliveryView>, Option<String>), AppError> {
    let (k, after, limit) = page.sql_params();
    // The channel and the page ride along with the decision (one round trip).
    let mut batch = Batch::new();
    let channel =
        looks_like(IdKind::Channel, id).then(|| batch.read::<ChannelRow>(stmt!(sql::CHANNEL_IN_ORG, id, org_id)));
    let rows = batch.read::<DeliveryRow>(stmt!(sql::LIST_DELIVERIES, id, status, k, after, limit, LISTED_ATTEMPTS));
    let (_, mut results) = who.require_in_org(deps, org_id, Permission::NotificationsWrite, batch).await?;
    if let Some(s) = status {
        if !DELIVERY_STATUSES.contains(&s) {
            return Err(AppError::field(FieldError::new(
                "status",
                "invalid_status",
                "must be pending, succeeded or failed",
            )));
        }
    }
    let channel = results.first_if(channel)?;
    channel.ok_or(AppError::NotFound)?;
    let rows = results.all(rows)?;
    let (rows, next) = page.finish(rows, |r| (r.created_at, r.id.clone()));
    Ok((rows.into_iter().map(delivery_view).collect::<Result<_, _>>()?, next))
}

/// Sends a failed delivery again now (its channel must be enabled). Only a
/// failed one: replaying delivered history is not a retry (409
/// `delivery_not_failed`; a pending one is retried on its schedule).
pub async fn retry_delivery(deps: &Deps, who: &Credential, org_id: &str, delivery_id: &str) -> Result<(), AppError> {
    #[derive(serde::Deserialize)]
    struct Row {
        channel_id: String,
        status: String,
        enabled: i64,
        audit_id: String,
    }
    // The delivery rides along with the decision (one round trip).
    let mut batch = Batch::new();
    let row = looks_like(IdKind::Delivery, delivery_id)
        .then(|| batch.read::<Row>(stmt!(sql::DELIVERY_CHANNEL, delivery_id, org_id)));
    let (me, mut results) = who.require_in_org(deps, org_id, Permission::NotificationsWrite, batch).await?;
    let actor = me.actor().clone();
    let row = results.first_if(row)?;
    let row = row.ok_or(AppError::NotFound)?;
    let not_failed = || {
        AppError::refused(
            ErrorCode::DeliveryNotFailed,
            "only a failed delivery is retried: a delivered one is never sent again, a pending one is on its schedule",
        )
    };
    if row.status != "failed" {
        return Err(not_failed());
    }
    if row.enabled == 0 {
        return Err(AppError::refused(ErrorCode::Conflict, "the channel is disabled; enable it first"));
    }
    let now = deps.now();
    let event = Event {
        target_kind: "notification_delivery",
        target_id: delivery_id,
        ..audit(org_id, &actor, "notification_delivery.retried", &row.channel_id, json!({"channel_id": row.channel_id}))
    };
    let mut batch = Batch::new();
    let retried = batch.write(stmt!(sql::RETRY_DELIVERY, delivery_id, org_id, now));
    batch.add(event.stmt_if_changed(deps)?);
    if batch.run(deps.db.as_ref()).await?.changed(retried) == 0 {
        // Changed meanwhile: retried by someone else, or the channel turned off.
        return Err(not_failed());
    }
    // Enqueued after the response with its event's other pending deliveries.
    deps.notified.borrow_mut().push(row.audit_id);
    Ok(())
}

/// Hands deliveries to the webhook queue, marking each enqueued. A refused
/// enqueue is logged and left for the sweep.
pub async fn enqueue(db: &dyn Db, outbox: &dyn super::Outbox, ids: &[String], now: i64) {
    for id in ids {
        match outbox.enqueue_webhook(id, 0).await {
            Ok(()) => {
                if let Err(e) = db.run(stmt!(sql::MARK_ENQUEUED, id, now)).await {
                    log_error(&format!("marking delivery {id} enqueued: {e}"));
                }
            }
            Err(e) => log_error(&format!("enqueue of delivery {id} failed, the sweep will retry: {e}")),
        }
    }
}

/// After a request: enqueues the deliveries its audit rows fanned out.
pub async fn enqueue_recorded(deps: &Deps) {
    let recorded = std::mem::take(&mut *deps.notified.borrow_mut());
    if recorded.is_empty() {
        return;
    }
    let ids = serde_json::Value::from(recorded).to_string();
    match deps.db.run(stmt!(sql::DELIVERIES_OF_AUDIT, ids)).await.and_then(|o| o.decode::<IdRow>()) {
        Ok(rows) => {
            let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
            enqueue(deps.db.as_ref(), deps.outbox.as_ref(), &ids, deps.now()).await;
        }
        Err(e) => log_error(&format!("reading new deliveries (the sweep will enqueue them): {e}")),
    }
}

/// The scheduled sweep: records `invitation.expired` for org invitations
/// that expired, deletes device sign-in requests an hour after they expired
/// ([`super::device::SWEEP_GRACE_SECONDS`]), enqueues due deliveries the
/// queue does not hold, and removes the channels of deleted orgs once
/// nothing is pending for them.
pub async fn sweep(db: &dyn Db, outbox: &dyn super::Outbox, now: i64) -> Result<usize, AppError> {
    db.batch(vec![
        stmt!(sql::RECORD_EXPIRED_INVITATIONS, now),
        stmt!(sql::MARK_EXPIRY_RECORDED, now),
        stmt!(sql::FORGET_DEVICE_AUTHORIZATIONS, now - super::device::SWEEP_GRACE_SECONDS),
    ])
    .await?;
    let due: Vec<IdRow> = db.run(stmt!(sql::DUE_DELIVERIES, now, SWEEP_BATCH)).await?.decode()?;
    let ids: Vec<String> = due.into_iter().map(|r| r.id).collect();
    enqueue(db, outbox, &ids, now).await;
    db.run(stmt!(sql::DELETE_ORPHAN_CHANNELS, now)).await?;
    Ok(ids.len())
}

/// Emails the org's owners and admins (through the mail queue) that the
/// consumer disabled a channel. Logged, not failed: the channel shows
/// `disabled_reason` either way.
pub async fn tell_admins_disabled(
    db: &dyn Db,
    outbox: &dyn super::Outbox,
    rng: &dyn super::Rng,
    disabled: &crate::jobs::webhooks::Disabled,
) {
    #[derive(serde::Deserialize)]
    struct Admin {
        user_id: String,
    }
    let admins: Vec<Admin> = match db.run(stmt!(sql::ORG_ADMIN_IDS, &disabled.org_id)).await.and_then(|o| o.decode()) {
        Ok(a) => a,
        Err(e) => return log_error(&format!("reading admins for a disabled channel: {e}")),
    };
    for admin in admins {
        let Ok(bytes) = random::<16>(rng) else { return log_error("no randomness for a job id") };
        let job = super::messages::Job::ChannelDisabled {
            job_id: crate::domain::ids::new_id(IdKind::Job, bytes),
            user_id: admin.user_id,
            channel_id: disabled.channel_id.clone(),
        };
        if let Err(e) = outbox.enqueue(&job).await {
            log_error(&format!("enqueue of {} failed: {e}", job.id()));
        }
    }
}

/// An address confirmed through its link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfirmedEmailView {
    /// The address.
    pub email: String,
    /// The organization whose channel it receives.
    pub org_name: String,
    /// When it was confirmed, RFC 3339.
    pub confirmed_at: String,
}

/// Confirms one address of an email channel through the token its email
/// carried (public: holding the link is the proof). One round trip: the
/// guarded confirmation, its audit row, the address read back. Following a
/// link again answers the same; an unknown or expired one is 400 `invalid_token`.
pub async fn confirm_channel_email(deps: &Deps, raw_token: &str) -> Result<ConfirmedEmailView, AppError> {
    #[derive(serde::Deserialize)]
    struct Row {
        email: String,
        confirmed_at: Option<i64>,
        org_name: String,
    }
    if !token::plausible(raw_token) {
        return Err(AppError::InvalidToken);
    }
    let digest = Secret::from_client(raw_token).digest();
    let now = deps.now();
    let audit_id = deps.new_id(IdKind::Event)?;
    let mut batch = Batch::new();
    batch.add(stmt!(sql::CONFIRM_CHANNEL_EMAIL, &digest, now));
    batch.add(stmt!(sql::AUDIT_CHANNEL_EMAIL_CONFIRMED, &digest, now, &audit_id));
    let row = batch.read::<Row>(stmt!(sql::CHANNEL_EMAIL_BY_TOKEN, &digest));
    let row = batch.run(deps.db.as_ref()).await?.first(row)?;
    match row {
        Some(Row { email, confirmed_at: Some(at), org_name }) => {
            Ok(ConfirmedEmailView { email, org_name, confirmed_at: rfc3339(at) })
        }
        _ => Err(AppError::InvalidToken),
    }
}
