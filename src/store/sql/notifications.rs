//! Notification channels, their events and deliveries (migration 0013).
use serde::Deserialize;

/// A new channel of kind `?11`, unless the org has `?10` already (one guarded statement:
/// parallel creations cannot pass the limit together).
pub const INSERT_CHANNEL: &str = "INSERT INTO notification_channels \
       (id, org_id, url, description, event_types, secret, created_by_kind, created_by, created_at, updated_at, kind) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?11 \
     WHERE (SELECT COUNT(*) FROM notification_channels WHERE org_id = ?2 AND orphaned_at IS NULL) < ?10";
pub const LIST_CHANNELS: &str = "SELECT id, org_id, kind, url, description, event_types, enabled, disabled_reason, \
       previous_expires_at, failing_since, created_at, updated_at, secret, previous_secret, \
       (SELECT json_group_array(json_object('email', m.email, 'confirmed_at', m.confirmed_at)) \
        FROM notification_channel_emails AS m WHERE m.channel_id = notification_channels.id) AS emails \
     FROM notification_channels WHERE org_id = ?1 \
       AND (created_at, id) < (COALESCE(?2, 9223372036854775807), COALESCE(?3, '')) \
     ORDER BY created_at DESC, id DESC LIMIT ?4";
pub const CHANNEL_IN_ORG: &str = "SELECT id, org_id, kind, url, description, event_types, enabled, disabled_reason, \
       previous_expires_at, failing_since, created_at, updated_at, secret, previous_secret, \
       (SELECT json_group_array(json_object('email', m.email, 'confirmed_at', m.confirmed_at)) \
        FROM notification_channel_emails AS m WHERE m.channel_id = notification_channels.id) AS emails \
     FROM notification_channels WHERE id = ?1 AND org_id = ?2";
/// Changes what is given (NULL keeps). Enabling clears the reason and the
/// failure streak; disabling by hand records `manual`. `?8`: the event types
/// a new URL was allowed for (NULL: no condition); changed meanwhile, nothing changes.
pub const UPDATE_CHANNEL: &str = "UPDATE notification_channels SET \
       url = COALESCE(?3, url), description = COALESCE(?4, description), \
       event_types = COALESCE(?5, event_types), \
       enabled = COALESCE(?6, enabled), \
       disabled_reason = CASE WHEN ?6 = 1 THEN NULL WHEN ?6 = 0 AND enabled = 1 THEN 'manual' ELSE disabled_reason END, \
       failing_since = CASE WHEN ?6 = 1 THEN NULL ELSE failing_since END, \
       updated_at = ?7 \
     WHERE id = ?1 AND org_id = ?2 AND (?8 IS NULL OR event_types = ?8)";
pub const DELETE_CHANNEL: &str = "DELETE FROM notification_channels WHERE id = ?1 AND org_id = ?2";
/// The new secret signs from now on; the old one too until `?4` (NULL: not at all).
pub const ROTATE_CHANNEL_SECRET: &str = "UPDATE notification_channels SET \
       previous_secret = CASE WHEN ?4 IS NULL THEN NULL ELSE secret END, previous_expires_at = ?4, \
       secret = ?3, updated_at = ?5 WHERE id = ?1 AND org_id = ?2 AND kind = 'webhook'";
/// A ping: an event for one channel only (no audit fan-out).
pub const INSERT_PING_EVENT: &str = "INSERT INTO notification_events \
       (id, audit_id, org_id, type, actor_kind, actor_id, target_kind, target_id, data, occurred_at) \
     VALUES (?1, ?2, ?3, 'ping', ?4, ?5, 'notification_channel', ?6, '{}', ?7)";
pub const INSERT_PING_DELIVERY: &str = "INSERT INTO notification_deliveries \
       (id, event_id, channel_id, status, attempts, next_attempt_at, created_at) \
     SELECT ?1, ?2, id, 'pending', 0, ?4, ?4 FROM notification_channels WHERE id = ?3 AND enabled = 1";
/// A page of a channel's deliveries, each with its latest `?6` attempts (a JSON array).
pub const LIST_DELIVERIES: &str = "SELECT d.id, e.type AS event_type, d.status, d.attempts, d.next_attempt_at, \
       d.last_status_code, d.last_latency_ms, d.last_error, d.last_response, d.last_attempt_at, d.created_at, \
       (SELECT json_group_array(json_object('number', a.number, 'attempted_at', a.attempted_at, \
                 'status_code', a.status_code, 'latency_ms', a.latency_ms, 'error', a.error, 'response', a.response)) \
        FROM notification_attempts AS a WHERE a.delivery_id = d.id AND a.number > d.attempts - ?6) AS attempt_log \
     FROM notification_deliveries AS d JOIN notification_events AS e ON e.id = d.event_id \
     WHERE d.channel_id = ?1 AND (?2 IS NULL OR d.status = ?2) \
       AND (d.created_at, d.id) < (COALESCE(?3, 9223372036854775807), COALESCE(?4, '')) \
     ORDER BY d.created_at DESC, d.id DESC LIMIT ?5";
/// A manual retry: a failed delivery (only: a delivered one is never
/// replayed) on an enabled channel is due now.
pub const RETRY_DELIVERY: &str = "UPDATE notification_deliveries SET status = 'pending', next_attempt_at = ?3, \
       enqueued_at = NULL, claimed_until = NULL \
     WHERE id = ?1 AND status = 'failed' \
       AND channel_id IN (SELECT id FROM notification_channels WHERE org_id = ?2 AND enabled = 1)";
pub const DELIVERY_CHANNEL: &str = "SELECT d.channel_id, d.status, c.enabled, e.audit_id \
     FROM notification_deliveries AS d JOIN notification_channels AS c ON c.id = d.channel_id \
     JOIN notification_events AS e ON e.id = d.event_id WHERE d.id = ?1 AND c.org_id = ?2";
/// Deliveries just fanned out from these audit rows (a JSON array), not yet enqueued.
pub const DELIVERIES_OF_AUDIT: &str = "SELECT d.id FROM notification_deliveries AS d \
     JOIN notification_events AS e ON e.id = d.event_id \
     WHERE e.audit_id IN (SELECT value FROM json_each(?1)) AND d.status = 'pending' AND d.enqueued_at IS NULL";
/// Due deliveries the queue does not hold: never enqueued (the enqueue
/// failed), or overdue by 5 minutes (a lost message). Oldest first.
pub const DUE_DELIVERIES: &str = "SELECT id FROM notification_deliveries \
     WHERE status = 'pending' AND next_attempt_at <= ?1 AND (claimed_until IS NULL OR claimed_until < ?1) \
       AND (enqueued_at IS NULL OR next_attempt_at <= ?1 - 300) \
     ORDER BY next_attempt_at LIMIT ?2";
pub const MARK_ENQUEUED: &str = "UPDATE notification_deliveries SET enqueued_at = ?2 WHERE id = ?1";
/// The attempt just recorded by [`RECORD_ATTEMPT`] (in the same batch, after
/// it: `number` is the delivery's new attempt count).
pub const INSERT_ATTEMPT: &str = "INSERT INTO notification_attempts \
       (delivery_id, number, attempted_at, status_code, latency_ms, error, response) \
     SELECT id, attempts, ?2, ?3, ?4, ?5, ?6 FROM notification_deliveries WHERE id = ?1";
/// Takes a due delivery for one send (a minute), so parallel messages for it send once.
pub const CLAIM_DELIVERY: &str = "UPDATE notification_deliveries SET claimed_until = ?2 + 60 \
     WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2 + 1 \
       AND (claimed_until IS NULL OR claimed_until < ?2)";
/// Everything a send needs, with the names a human message uses (the
/// org's, the actor's, the person targeted; each by key, each possibly gone).
pub const DELIVERY_FOR_SEND: &str = "SELECT d.id, d.status, d.attempts, d.next_attempt_at, d.claimed_until, \
       e.type AS event_type, e.org_id, e.actor_kind, e.actor_id, e.target_kind, e.target_id, e.data, e.occurred_at, \
       c.id AS channel_id, c.kind, c.url, c.enabled, c.secret, c.previous_secret, c.previous_expires_at, c.failing_since, \
       o.name AS org_name, COALESCE(au.name, ak.name) AS actor_name, au.email AS actor_email, \
       tu.name AS target_name, tu.email AS target_email \
     FROM notification_deliveries AS d JOIN notification_events AS e ON e.id = d.event_id \
     JOIN notification_channels AS c ON c.id = d.channel_id \
     LEFT JOIN orgs AS o ON o.id = e.org_id \
     LEFT JOIN users AS au ON e.actor_kind = 'user' AND au.id = e.actor_id \
     LEFT JOIN api_keys AS ak ON e.actor_kind = 'api_key' AND ak.id = e.actor_id \
     LEFT JOIN users AS tu ON e.target_kind = 'user' AND tu.id = e.target_id \
     WHERE d.id = ?1";
/// A delivery's recipients: its channel's confirmed addresses (email channels only have any).
pub const CONFIRMED_CHANNEL_EMAILS_OF_DELIVERY: &str = "SELECT m.id, m.email \
     FROM notification_deliveries AS d JOIN notification_channel_emails AS m ON m.channel_id = d.channel_id \
     WHERE d.id = ?1 AND m.confirmed_at IS NOT NULL ORDER BY m.email";
/// An email channel's address, unconfirmed until its link is followed
/// (`?4`: the link token's SHA-256). Only with its channel (written just before
/// in the same batch; a channel refused by the limit takes no address).
pub const INSERT_CHANNEL_EMAIL: &str = "INSERT INTO notification_channel_emails \
       (id, channel_id, email, token_hash, expires_at, confirmed_at, created_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, NULL, ?6 WHERE EXISTS (SELECT 1 FROM notification_channels WHERE id = ?2)";
/// Confirms the address whose link token hashes to `?1`, once, before it
/// expires, while its channel's org exists (a deleted org's channels wait
/// for the sweep: their links confirm nothing).
pub const CONFIRM_CHANNEL_EMAIL: &str = "UPDATE notification_channel_emails SET confirmed_at = ?2 \
     WHERE token_hash = ?1 AND confirmed_at IS NULL AND expires_at > ?2 \
       AND channel_id IN (SELECT c.id FROM notification_channels AS c \
                          WHERE c.orphaned_at IS NULL AND c.org_id IN (SELECT id FROM orgs))";
/// The org's audit row for a confirmation (right after [`CONFIRM_CHANNEL_EMAIL`]:
/// only if it changed the row). The address holder acts through the link: `system`.
pub const AUDIT_CHANNEL_EMAIL_CONFIRMED: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at) \
     SELECT ?3, c.org_id, NULL, 'system', 'system', 'notification_channel.email_confirmed', \
       'notification_channel', c.id, json_object('email', m.email), ?2 \
     FROM notification_channel_emails AS m JOIN notification_channels AS c ON c.id = m.channel_id \
     WHERE m.token_hash = ?1 AND changes() > 0 AND c.org_id IN (SELECT id FROM orgs)";
/// The address a link token names, after a confirmation attempt (none once
/// its channel's org is deleted).
pub const CHANNEL_EMAIL_BY_TOKEN: &str = "SELECT m.email, m.confirmed_at, m.channel_id, c.org_id, \
       o.name AS org_name \
     FROM notification_channel_emails AS m JOIN notification_channels AS c ON c.id = m.channel_id \
     JOIN orgs AS o ON o.id = c.org_id WHERE m.token_hash = ?1 AND c.orphaned_at IS NULL";
/// The confirmation email: the address (still unconfirmed and in time) and its org.
pub const CHANNEL_EMAIL_FOR_CONFIRMATION: &str = "SELECT m.id, m.email, COALESCE(o.name, '') AS org_name, \
       c.description \
     FROM notification_channel_emails AS m JOIN notification_channels AS c ON c.id = m.channel_id \
     LEFT JOIN orgs AS o ON o.id = c.org_id \
     WHERE m.id = ?1 AND m.confirmed_at IS NULL AND m.expires_at > ?2";
/// An event email's recipient: still confirmed, on a channel still on.
pub const CHANNEL_EMAIL_FOR_EVENT: &str = "SELECT m.email FROM notification_channel_emails AS m \
     JOIN notification_channels AS c ON c.id = m.channel_id \
     WHERE m.id = ?1 AND m.confirmed_at IS NOT NULL AND c.enabled = 1";
/// The outcome of one attempt: `?3` status, `?4` next attempt (pending only).
pub const RECORD_ATTEMPT: &str = "UPDATE notification_deliveries SET status = ?3, attempts = attempts + 1, \
       next_attempt_at = ?4, claimed_until = NULL, enqueued_at = CASE WHEN ?4 IS NULL THEN enqueued_at ELSE ?2 END, \
       last_status_code = ?5, last_latency_ms = ?6, last_error = ?7, last_response = ?8, last_attempt_at = ?2 \
     WHERE id = ?1";
pub const CHANNEL_SUCCEEDED: &str = "UPDATE notification_channels SET failing_since = NULL WHERE id = ?1";
pub const CHANNEL_FAILED: &str =
    "UPDATE notification_channels SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1";
/// Disables a channel that is on (`?2`: gone or failing).
pub const DISABLE_CHANNEL: &str =
    "UPDATE notification_channels SET enabled = 0, disabled_reason = ?2, updated_at = ?3 \
     WHERE id = ?1 AND enabled = 1";
/// A delivery whose channel was disabled or deleted meanwhile ends here.
pub const ABANDON_DELIVERY: &str = "UPDATE notification_deliveries SET status = 'failed', next_attempt_at = NULL, \
       claimed_until = NULL, last_error = ?2 WHERE id = ?1 AND status = 'pending'";
/// The sweep: `invitation.expired` for org invitations that expired unanswered,
/// as audit rows (the trigger fans them out), once each.
pub const RECORD_EXPIRED_INVITATIONS: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     SELECT 'evt_' || lower(hex(randomblob(16))), org_id, NULL, 'system', 'system', 'invitation.expired', \
       'invitation', id, json_object('email', email, 'role', role), ?1, '[\"invitation.expired\"]' \
     FROM invitations WHERE org_id IS NOT NULL AND status = 'pending' AND expires_at <= ?1 AND expiry_recorded = 0 \
     LIMIT 100";
pub const MARK_EXPIRY_RECORDED: &str = "UPDATE invitations SET expiry_recorded = 1 \
     WHERE org_id IS NOT NULL AND status = 'pending' AND expires_at <= ?1 AND expiry_recorded = 0 \
       AND EXISTS (SELECT 1 FROM audit_events AS a WHERE a.target_kind = 'invitation' \
                   AND a.target_id = invitations.id AND a.action = 'invitation.expired')";
/// With the org's deletion (after its `org.deleted` row): its channels are orphans.
pub const MARK_CHANNELS_ORPHANED: &str = "UPDATE notification_channels SET orphaned_at = ?2 WHERE org_id = ?1";
/// Channels of deleted orgs, once nothing is pending for them.
pub const DELETE_ORPHAN_CHANNELS: &str = "DELETE FROM notification_channels \
     WHERE orphaned_at IS NOT NULL AND orphaned_at <= ?1 \
       AND NOT EXISTS (SELECT 1 FROM notification_deliveries AS d WHERE d.channel_id = notification_channels.id \
                       AND d.status = 'pending')";
pub const RECORD_WEBHOOK_DEAD_LETTER: &str = "INSERT INTO notification_dead_letters \
       (message_id, delivery_id, reason, recorded_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (message_id) DO NOTHING";
/// Admins and owners of an org (the disable email).
pub const ORG_ADMIN_IDS: &str = "SELECT user_id FROM org_members WHERE org_id = ?1 AND role IN ('owner', 'admin')";

/// A channel row.
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelRow {
    pub id: String,
    pub org_id: String,
    pub kind: String,
    pub url: String,
    pub description: String,
    pub event_types: String,
    pub enabled: i64,
    pub disabled_reason: Option<String>,
    pub previous_expires_at: Option<i64>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub secret: String,
    pub previous_secret: Option<String>,
    /// JSON array of `{email, confirmed_at}` (empty but for email channels).
    pub emails: String,
}

/// A delivery as its list shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryRow {
    pub id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_response: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub created_at: i64,
    /// JSON array of [`AttemptRow`]s.
    pub attempt_log: String,
}

/// One attempt of a delivery, from [`LIST_DELIVERIES`]' `attempt_log`.
#[derive(Debug, Clone, Deserialize)]
pub struct AttemptRow {
    pub number: i64,
    pub attempted_at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
    pub response: Option<String>,
}

/// [`DELIVERY_FOR_SEND`].
#[derive(Debug, Clone, Deserialize)]
pub struct SendRow {
    pub id: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub claimed_until: Option<i64>,
    pub event_type: String,
    pub org_id: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub target_kind: String,
    pub target_id: String,
    pub data: String,
    pub occurred_at: i64,
    pub channel_id: String,
    pub kind: String,
    pub url: String,
    pub enabled: i64,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<i64>,
    pub failing_since: Option<i64>,
    pub org_name: Option<String>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub target_name: Option<String>,
    pub target_email: Option<String>,
}

/// An address of an email channel, by [`CONFIRMED_CHANNEL_EMAILS`].
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelEmailRow {
    pub id: String,
    pub email: String,
}

/// A row with one `id` column.
#[derive(Debug, Clone, Deserialize)]
pub struct IdRow {
    pub id: String,
}

/// The org's audit row for a channel the consumer just disabled (put right
/// after [`DISABLE_CHANNEL`]: written only if that changed the row).
pub const AUDIT_CHANNEL_DISABLED_BY_SYSTEM: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at) \
     SELECT 'evt_' || lower(hex(randomblob(16))), org_id, NULL, 'system', 'system', \
       'notification_channel.disabled', 'notification_channel', id, json_object('reason', ?2), ?3 \
     FROM notification_channels WHERE id = ?1 AND changes() > 0 AND org_id IN (SELECT id FROM orgs)";

/// The disable notice: the admin and the channel (still disabled).
/// An email channel's addresses come along (comma-separated), as it has no URL.
pub const CHANNEL_DISABLED_FOR_MAIL: &str = "SELECT u.email, u.name, c.org_id, c.kind, c.url, c.disabled_reason, \
       (SELECT group_concat(m.email, ', ') FROM notification_channel_emails AS m WHERE m.channel_id = c.id) AS emails \
     FROM notification_channels AS c JOIN users AS u ON u.id = ?2 \
     WHERE c.id = ?1 AND c.enabled = 0";
