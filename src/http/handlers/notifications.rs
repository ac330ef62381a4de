//! Notification channels (outgoing webhooks, Standard Webhooks): channels,
//! secret rotation, test pings, delivery logs and manual retries.
use super::Problem;
use crate::app::notifications::{
    self as n, ChannelChange, ChannelView, ChannelWithSecret, ConfirmedEmailView, DeliveryView, EventTypeView,
    NewChannel,
};
use crate::app::Deps;
use crate::domain::tenant::Tenant;
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::ToSchema;

/// New channel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelBody {
    /// What the channel sends: `webhook` (the default: signed Standard
    /// Webhooks), `slack` (an incoming-webhook URL on `hooks.slack.com`),
    /// `discord` (a `discord.com`/`discordapp.com` `/api/webhooks/…` URL) or
    /// `email` (`emails`, each confirmed through an emailed link first).
    #[serde(default)]
    #[schema(schema_with = kind)]
    pub kind: Option<String>,
    /// Every kind but `email`. The receiver: `https` only, port 443, a host name (no IP literal in any
    /// notation), no credentials, no internal names (`localhost`, `*.local`,
    /// `*.internal`, single labels), no wildcard-DNS or rebinding domains
    /// (`nip.io`, `sslip.io`, `localtest.me`, `lvh.me`, …), not this service's
    /// own host nor `*.workers.dev`; Slack and Discord only on their own hosts.
    /// Otherwise 422 `invalid_webhook_url`.
    #[serde(default)]
    pub url: Option<String>,
    /// `email` only: 1 to 10 distinct addresses. Each is emailed a
    /// confirmation link and receives nothing until it is followed.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 10)]
    pub emails: Option<Vec<String>>,
    /// Free text, at most 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// 1 to 32 distinct types from `GET /v1/notification-event-types`, each
    /// one whose data the caller may read (its `requires`; 403 otherwise).
    #[schema(schema_with = event_types)]
    pub event_types: Vec<String>,
}

/// A change; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelBody {
    /// New receiver (same rules as on creation). Changing it, or
    /// `event_types`, needs the right to read every type the channel will carry.
    #[serde(default)]
    pub url: Option<String>,
    /// New description, at most 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// New subscription: 1 to 32 distinct types.
    #[serde(default)]
    #[schema(schema_with = event_types_or_null)]
    pub event_types: Option<Vec<String>>,
    /// On or off; turning on clears `disabled_reason` and the failure streak.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Rotation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretBody {
    /// 0..86400: how long the old secret keeps signing too (both signatures
    /// are sent, space-separated, in `webhook-signature`).
    #[schema(minimum = 0, maximum = 86400)]
    pub grace_period_seconds: i64,
}

/// The channel kinds.
fn kind() -> utoipa::openapi::schema::Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(crate::domain::channel::ChannelKind::ALL.iter().map(|k| k.as_str())))
        .description(Some("`webhook` (default), `slack`, `discord` or `email`"))
        .build()
}

/// A confirmation link's token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEmailBody {
    /// The token from the link (`/confirm-channel-email#token=…`).
    pub token: String,
}

/// 1 to 32 distinct names of [`crate::domain::webhook::EVENT_TYPES`].
fn event_types() -> Array {
    event_types_builder()
        .description(Some(
            "1 to 32 distinct types from `GET /v1/notification-event-types`, each one whose data the caller \
             may read (its `requires`; 403 otherwise).",
        ))
        .build()
}

fn event_types_builder() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(crate::domain::webhook::EVENT_TYPES.iter().map(|(name, _, _)| *name))),
        )
        .min_items(Some(1))
        .max_items(Some(n::MAX_EVENT_TYPES))
        .unique_items(true)
}

/// [`event_types`], or null (no change).
fn event_types_or_null() -> Array {
    event_types_builder()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .description(Some("New subscription: 1 to 32 distinct types; absent or null keeps the old one."))
        .build()
}

/// The statuses a delivery list may be filtered on ([`n::DELIVERY_STATUSES`]).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet; another attempt is scheduled.
    Pending,
    /// Delivered.
    Succeeded,
    /// Given up on; may be retried.
    Failed,
}

/// The event types.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeList {
    /// Every type a channel may subscribe to.
    pub data: Vec<EventTypeView>,
}

/// A page of channels.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    /// Newest first; never a secret.
    pub data: Vec<ChannelView>,
    /// Next page.
    pub next_cursor: Option<String>,
}

/// A page of deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub data: Vec<DeliveryView>,
    /// Next page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/notification-event-types`.
#[utoipa::path(get, path = "/v1/notification-event-types", summary = "List the notification event types", tag = "notifications",
    responses((status = 200, body = EventTypeList, description = "Payloads are `{type, timestamp, data: {org_id, actor: {kind, id}, target: {kind, id}, details}}`, under 20 KB; `webhook-id` is the delivery id, stable across retries")))]
pub async fn list_event_types(Call { deps, cred, .. }: Call<'_>) -> Answer {
    // Static, but only for a live credential.
    cred.principal(deps).await?;
    Ok(Response::json(200, &EventTypeList { data: n::event_types() }))
}

/// `POST /v1/orgs/{org_id}/notification-channels`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/notification-channels", summary = "Create a notification channel", tag = "notifications",
    request_body = CreateChannelBody,
    responses((status = 201, body = ChannelWithSecret, description = "A webhook's `secret` (`whsec_` + base64 of 32 random bytes) appears in this answer only; it is stored encrypted. Slack, Discord and email channels have none. An email channel's addresses are each sent a confirmation link"),
              (status = 403, body = Problem, description = "forbidden or insufficient_scope: needs `notifications:write` (owners and admins; keys with that scope), and for each event type the permission reading its data takes (`requires` in the event types; `api_key.*` a person's)"),
              (status = 409, body = Problem, description = "conflict: the organization has 20 channels already"),
              (status = 422, body = Problem, description = "invalid_webhook_url (Slack and Discord URLs only on their own hosts), or validation_failed (kind, url, emails, event_types, description)")))]
pub async fn create_channel(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: CreateChannelBody = json(req)?;
    let new = NewChannel {
        kind: body.kind.as_deref(),
        url: body.url.as_deref(),
        emails: body.emails.as_deref(),
        description: body.description.as_deref().unwrap_or(""),
        event_types: &body.event_types,
    };
    Ok(Response::json(201, &n::create_channel(deps, cred, org.id(), new).await?))
}

/// `GET /v1/orgs/{org_id}/notification-channels`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/notification-channels", summary = "List an organization's notification channels", tag = "notifications",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ChannelList, description = "Needs `notifications:write` (admin+): URLs often carry receivers' tokens")))]
pub async fn list_channels(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let (data, next_cursor) = n::list_channels(deps, cred, org.id(), &extract::page(req)?).await?;
    Ok(Response::json(200, &ChannelList { data, next_cursor }))
}

/// `GET /v1/orgs/{org_id}/notification-channels/{id}`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/notification-channels/{id}", summary = "Get a notification channel", tag = "notifications",
    responses((status = 200, body = ChannelView)))]
pub async fn get_channel(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    Ok(Response::json(200, &n::get_channel(deps, cred, org.id(), id).await?))
}

/// `PATCH /v1/orgs/{org_id}/notification-channels/{id}`.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/notification-channels/{id}", summary = "Update a notification channel", tag = "notifications",
    request_body = UpdateChannelBody,
    responses((status = 200, body = ChannelView),
              (status = 403, body = Problem, description = "forbidden, insufficient_scope, email_not_verified or two_factor_required; a new `url` or `event_types` also needs the right to read every event type the channel will carry"),
              (status = 409, body = Problem, description = "conflict: the channel's event types changed while a new `url` was being judged on them; try again"),
              (status = 422, body = Problem, description = "invalid_webhook_url, or validation_failed")))]
pub async fn update_channel(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    let body: UpdateChannelBody = json(req)?;
    let change = ChannelChange {
        url: body.url.as_deref(),
        description: body.description.as_deref(),
        event_types: body.event_types.as_deref(),
        enabled: body.enabled,
    };
    Ok(Response::json(200, &n::update_channel(deps, cred, org.id(), id, change).await?))
}

/// `DELETE /v1/orgs/{org_id}/notification-channels/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/notification-channels/{id}", summary = "Delete a notification channel", tag = "notifications",
    responses((status = 204, description = "Deleted with its deliveries")))]
pub async fn delete_channel(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    n::delete_channel(deps, cred, org.id(), id).await?;
    Ok(Response::empty(204))
}

/// `POST /v1/orgs/{org_id}/notification-channels/{id}/rotate-secret`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/notification-channels/{id}/rotate-secret", summary = "Rotate a notification channel's signing secret", tag = "notifications",
    request_body = RotateSecretBody,
    responses((status = 200, body = ChannelWithSecret, description = "The new secret, once; during the grace both signatures are sent"),
              (status = 409, body = Problem, description = "channel_kind_mismatch: only webhook channels are signed"),
              (status = 422, body = Problem, description = "validation_failed: grace_period_seconds outside 0..86400")))]
pub async fn rotate_secret(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    let body: RotateSecretBody = json(req)?;
    Ok(Response::json(200, &n::rotate_secret(deps, cred, org.id(), id, body.grace_period_seconds).await?))
}

/// `POST /v1/orgs/{org_id}/notification-channels/{id}/test`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/notification-channels/{id}/test", summary = "Send a test notification", tag = "notifications",
    responses((status = 202, description = "A `ping` event is delivered to this channel only"),
              (status = 409, body = Problem, description = "conflict: the channel is disabled")))]
pub async fn test_channel(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    n::test_channel(deps, cred, org.id(), id).await?;
    Ok(Response::empty(202))
}

/// `GET /v1/orgs/{org_id}/notification-channels/{id}/deliveries`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/notification-channels/{id}/deliveries", summary = "List a notification channel's deliveries", tag = "notifications",
    params(("status" = Option<DeliveryStatus>, Query, description = "pending, succeeded or failed"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = DeliveryList, description = "Each delivery with its attempts (time, status code, latency, error, response excerpt; the latest 20), the last one's outcome and the next attempt")))]
pub async fn list_deliveries(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    let status = req.query_param("status");
    let (data, next_cursor) =
        n::list_deliveries(deps, cred, org.id(), id, status.as_deref(), &extract::page(req)?).await?;
    Ok(Response::json(200, &DeliveryList { data, next_cursor }))
}

/// `POST /v1/orgs/{org_id}/notification-channels/deliveries/{id}/retry`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/notification-channels/deliveries/{id}/retry", summary = "Retry a failed webhook delivery", tag = "notifications",
    params(("id" = String, Path, description = "The delivery (`dlv_…`)")),
    responses((status = 202, description = "A failed delivery is sent again now (the same `webhook-id`)"),
              (status = 409, body = Problem, description = "delivery_not_failed: only failed deliveries are retried (a delivered one is never replayed); conflict: the channel is disabled")))]
pub async fn retry_delivery(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    n::retry_delivery(deps, cred, org.id(), id).await?;
    Ok(Response::empty(202))
}

/// `POST /v1/notification-channels/confirm-email`.
#[utoipa::path(post, path = "/v1/notification-channels/confirm-email", summary = "Confirm an email channel's address", tag = "notifications",
    request_body = ConfirmEmailBody,
    responses((status = 200, body = ConfirmedEmailView, description = "The address receives the channel's events from now on; following the link again answers the same"),
              (status = 400, body = Problem, description = "invalid_token: unknown, or expired (7 days) before it was followed")))]
pub async fn confirm_channel_email(deps: &Deps, req: &Request) -> Answer {
    let body: ConfirmEmailBody = json(req)?;
    Ok(Response::json(200, &n::confirm_channel_email(deps, &body.token).await?))
}
