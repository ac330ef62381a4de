//! API keys.

use serde::Deserialize;

/// The whole check of a presented key, and its org: one round trip.
pub const LIVE_API_KEY: &str = "SELECT k.id, k.org_id, k.name, k.scopes, k.expires_at, k.last_used_at, \
       o.name AS org_name, o.slug AS org_slug, o.require_2fa AS org_require_2fa, o.created_at AS org_created_at, \
       (SELECT u.suspended_at FROM users u WHERE u.id = k.created_by) AS creator_suspended_at \
     FROM api_keys k JOIN orgs o ON o.id = k.org_id \
     WHERE k.key_hash = ?1 AND (k.revoked_at IS NULL OR k.revoked_at > ?2) AND (k.expires_at IS NULL OR k.expires_at > ?2)";
/// Off the request path, at most once a minute per key.
pub const TOUCH_API_KEY: &str = "UPDATE api_keys SET last_used_at = ?2 \
     WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60)";
pub const INSERT_API_KEY: &str =
    "INSERT INTO api_keys (id, org_id, name, key_hash, start, scopes, created_by, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
pub const API_KEY_IN_ORG: &str =
    "SELECT id, org_id, name, start, scopes, created_by, created_at, expires_at, revoked_at, last_used_at, rotated_to \
     FROM api_keys WHERE id = ?1 AND org_id = ?2";
pub const LIST_API_KEYS: &str =
    "SELECT id, org_id, name, start, scopes, created_by, created_at, expires_at, revoked_at, last_used_at, rotated_to \
     FROM api_keys WHERE org_id = ?1 AND (created_at, id) < (COALESCE(?2, 9223372036854775807), COALESCE(?3, '')) \
     ORDER BY created_at DESC, id DESC LIMIT ?4";
/// Revokes now (also cuts a rotation's grace period short).
pub const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = ?3 \
     WHERE id = ?1 AND org_id = ?2 AND (revoked_at IS NULL OR revoked_at > ?3)";
/// Rotation, step 1: the old key (live, not rotated before) ends after the grace period.
pub const ROTATE_API_KEY: &str = "UPDATE api_keys SET revoked_at = ?4, rotated_to = ?5 \
     WHERE id = ?1 AND org_id = ?2 AND rotated_to IS NULL AND revoked_at IS NULL \
       AND (expires_at IS NULL OR expires_at > ?3)";
/// Rotation, step 2 (same batch): the new key, only if step 1 happened.
pub const INSERT_ROTATED_API_KEY: &str =
    "INSERT INTO api_keys (id, org_id, name, key_hash, start, scopes, created_by, created_at, expires_at) \
     SELECT ?1, org_id, name, ?2, ?3, scopes, ?4, ?5, expires_at FROM api_keys WHERE id = ?6 AND rotated_to = ?1";

/// An API key as lists show it ([`LIST_API_KEYS`], [`API_KEY_IN_ORG`]).
#[derive(Debug, Deserialize)]
pub struct ApiKeyRow {
    /// `id`.
    pub id: String,
    /// `org_id`.
    pub org_id: String,
    /// `name`.
    pub name: String,
    /// `start`.
    pub start: String,
    /// `scopes`.
    pub scopes: String,
    /// `created_by`.
    pub created_by: Option<String>,
    /// `created_at`.
    pub created_at: i64,
    /// `expires_at`.
    pub expires_at: Option<i64>,
    /// `revoked_at`.
    pub revoked_at: Option<i64>,
    /// `last_used_at`.
    pub last_used_at: Option<i64>,
    /// `rotated_to`.
    pub rotated_to: Option<String>,
}

/// A live key with its org ([`LIVE_API_KEY`]).
#[derive(Debug, Clone, Deserialize)]
pub struct LiveKeyRow {
    /// `id`.
    pub id: String,
    /// `org_id`.
    pub org_id: String,
    /// `name`.
    pub name: String,
    /// `scopes`.
    pub scopes: String,
    /// `expires_at`.
    pub expires_at: Option<i64>,
    /// `last_used_at`.
    pub last_used_at: Option<i64>,
    /// `org_name`.
    pub org_name: String,
    /// `org_slug`.
    pub org_slug: String,
    /// `org_require_2fa`.
    pub org_require_2fa: i64,
    /// `org_created_at`.
    pub org_created_at: i64,
    /// When the person who created the key was suspended (the key stops with them).
    #[serde(default)]
    pub creator_suspended_at: Option<i64>,
}
