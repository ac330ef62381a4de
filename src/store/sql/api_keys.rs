//! API keys.

use serde::Deserialize;

/// The whole check of a presented key, and its org: one round trip.
pub const LIVE_API_KEY: &str = "SELECT k.id, k.org_id, k.name, k.scopes, k.expires_at, k.last_used_at, \
       o.name AS org_name, o.slug AS org_slug, o.require_2fa AS org_require_2fa, o.created_at AS org_created_at, \
       (SELECT u.suspended_at FROM users u WHERE u.id = k.created_by) AS creator_suspended_at \
     FROM api_keys k JOIN orgs o ON o.id = k.org_id \
     WHERE k.key_hash = ?1 AND (k.revoked_at IS NULL OR k.revoked_at > ?2) AND (k.expires_at IS NULL OR k.expires_at > ?2)";
/// Off the request path, at most once a minute per key.
/// With the coarse network (`key_policy::coarse_ip`) and the user agent.
pub const TOUCH_API_KEY: &str = "UPDATE api_keys SET last_used_at = ?2, last_used_network = ?3, last_used_agent = ?4 \
     WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60)";
/// A new key, only if the org's key policy (read in this statement, so a
/// concurrent change of it cannot slip by) admits its lifetime: the same
/// rule as `KeyPolicy::violation`. Nothing inserted: the policy refused.
pub const INSERT_API_KEY: &str =
    "INSERT INTO api_keys (id, org_id, name, key_hash, start, scopes, created_by, created_at, expires_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 \
     WHERE NOT EXISTS (SELECT 1 FROM api_key_policies AS p WHERE p.org_id = ?2 \
       AND ((?9 IS NULL AND (p.require_expiry = 1 OR p.max_lifetime_days IS NOT NULL)) \
            OR ?9 - ?8 > p.max_lifetime_days * 86400))";
pub const API_KEY_IN_ORG: &str =
    "SELECT id, org_id, name, start, scopes, created_by, created_at, expires_at, revoked_at, last_used_at, rotated_to, \
       last_used_network, last_used_agent, trust_policy_id \
     FROM api_keys WHERE id = ?1 AND org_id = ?2";
/// A page of the org's keys; with `?6` only live, unrotated keys expiring
/// within `?6` seconds of `?5` (now), with `?7` only those unused (or, never
/// used, created) `?7` seconds or longer ago. Both walk the org's keys by index.
pub const LIST_API_KEYS: &str =
    "SELECT id, org_id, name, start, scopes, created_by, created_at, expires_at, revoked_at, last_used_at, rotated_to, \
       last_used_network, last_used_agent, trust_policy_id \
     FROM api_keys WHERE org_id = ?1 AND (created_at, id) < (COALESCE(?2, 9223372036854775807), COALESCE(?3, '')) \
       AND (?6 IS NULL OR (revoked_at IS NULL AND rotated_to IS NULL AND expires_at > ?5 AND expires_at <= ?5 + ?6)) \
       AND (?7 IS NULL OR (revoked_at IS NULL AND rotated_to IS NULL AND (expires_at IS NULL OR expires_at > ?5) \
                           AND COALESCE(last_used_at, created_at) <= ?5 - ?7)) \
     ORDER BY created_at DESC, id DESC LIMIT ?4";
/// Revokes now (also cuts a rotation's grace period short).
pub const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = ?3 \
     WHERE id = ?1 AND org_id = ?2 AND (revoked_at IS NULL OR revoked_at > ?3)";
/// Rotation, step 1: the old key (live, not rotated before) ends after the
/// grace period, only if the org's key policy admits the new key's expiry
/// `?6` (as [`INSERT_API_KEY`]), so a refused rotation leaves the old key be.
pub const ROTATE_API_KEY: &str = "UPDATE api_keys SET revoked_at = ?4, rotated_to = ?5 \
     WHERE id = ?1 AND org_id = ?2 AND rotated_to IS NULL AND revoked_at IS NULL \
       AND (expires_at IS NULL OR expires_at > ?3) \
       AND NOT EXISTS (SELECT 1 FROM api_key_policies AS p WHERE p.org_id = ?2 \
         AND ((?6 IS NULL AND (p.require_expiry = 1 OR p.max_lifetime_days IS NOT NULL)) \
              OR ?6 - ?3 > p.max_lifetime_days * 86400))";
/// Rotation, step 2 (same batch): the new key, expiring at `?7`, only if step 1 happened.
pub const INSERT_ROTATED_API_KEY: &str =
    "INSERT INTO api_keys (id, org_id, name, key_hash, start, scopes, created_by, created_at, expires_at) \
     SELECT ?1, org_id, name, ?2, ?3, scopes, ?4, ?5, ?7 FROM api_keys WHERE id = ?6 AND rotated_to = ?1";

/// The org's key policy (no row: the default).
pub const API_KEY_POLICY: &str =
    "SELECT max_lifetime_days, require_expiry, warn_before_days, updated_at FROM api_key_policies WHERE org_id = ?1";
/// Sets the org's key policy.
pub const UPSERT_API_KEY_POLICY: &str = "INSERT INTO api_key_policies \
       (org_id, max_lifetime_days, require_expiry, warn_before_days, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (org_id) DO UPDATE SET max_lifetime_days = excluded.max_lifetime_days, \
       require_expiry = excluded.require_expiry, warn_before_days = excluded.warn_before_days, \
       updated_at = excluded.updated_at";

/// The daily sweep's keys (`?1` now): live, unrotated keys that expire
/// within a year or expired in the last week, with a warning due and not
/// sent (a crossed threshold of their org's policy, or 0 once expired), most
/// urgent first, with their org's policy and the thresholds sent.
pub const KEYS_DUE_WARNING: &str = "SELECT k.id, k.org_id, k.name, k.created_by, k.expires_at, \
       p.max_lifetime_days, COALESCE(p.require_expiry, 0) AS require_expiry, \
       COALESCE(p.warn_before_days, '[14,3]') AS warn_before_days, \
       (SELECT json_group_array(w.threshold) FROM api_key_warnings AS w WHERE w.key_id = k.id) AS sent \
     FROM api_keys AS k LEFT JOIN api_key_policies AS p ON p.org_id = k.org_id \
     WHERE k.expires_at > ?1 - 604800 AND k.expires_at <= ?1 + 31622400 \
       AND k.revoked_at IS NULL AND k.rotated_to IS NULL \
       AND ((k.expires_at <= ?1 AND NOT EXISTS \
              (SELECT 1 FROM api_key_warnings AS w WHERE w.key_id = k.id AND w.threshold = 0)) \
            OR EXISTS (SELECT 1 FROM json_each(COALESCE(p.warn_before_days, '[14,3]')) AS t \
              WHERE k.expires_at > ?1 AND k.expires_at <= ?1 + t.value * 86400 AND NOT EXISTS \
                (SELECT 1 FROM api_key_warnings AS w WHERE w.key_id = k.id AND w.threshold = t.value))) \
     ORDER BY k.expires_at LIMIT ?2";
/// A warning sent, once per key and threshold: nothing changed means
/// another run sent it (the audit row after it is written only if this changed).
pub const INSERT_KEY_WARNING: &str = "INSERT INTO api_key_warnings (key_id, threshold, sent_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT (key_id, threshold) DO NOTHING";
/// What an expiry email says, for one recipient.
pub const API_KEY_FOR_MAIL: &str = "SELECT k.name AS key_name, k.expires_at, k.revoked_at, k.rotated_to, \
       o.id AS org_id, o.name AS org_name, u.email, u.name \
     FROM api_keys AS k JOIN orgs AS o ON o.id = k.org_id JOIN users AS u ON u.id = ?2 WHERE k.id = ?1";

/// An API key as lists show it ([`LIST_API_KEYS`], [`API_KEY_IN_ORG`]) and the
/// access review reads it ([`super::REVIEW_API_KEYS`]).
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
    /// `last_used_network`.
    pub last_used_network: Option<String>,
    /// `last_used_agent`.
    pub last_used_agent: Option<String>,
    /// `trust_policy_id`: set on temporary keys (workload identity).
    #[serde(default)]
    pub trust_policy_id: Option<String>,
}

/// An org's key policy ([`API_KEY_POLICY`]).
#[derive(Debug, Deserialize)]
pub struct KeyPolicyRow {
    /// `max_lifetime_days`.
    pub max_lifetime_days: Option<i64>,
    /// `require_expiry`.
    pub require_expiry: i64,
    /// `warn_before_days` (JSON).
    pub warn_before_days: String,
    /// `updated_at`.
    pub updated_at: i64,
}

/// A key the sweep looks at ([`KEYS_DUE_WARNING`]).
#[derive(Debug, Deserialize)]
pub struct KeyDueRow {
    /// `id`.
    pub id: String,
    /// `org_id`.
    pub org_id: String,
    /// `name`.
    pub name: String,
    /// `created_by`.
    pub created_by: Option<String>,
    /// `expires_at`.
    pub expires_at: i64,
    /// `max_lifetime_days`.
    pub max_lifetime_days: Option<i64>,
    /// `require_expiry`.
    pub require_expiry: i64,
    /// `warn_before_days` (JSON).
    pub warn_before_days: String,
    /// `sent` (JSON array of thresholds).
    pub sent: String,
}

/// An expiry email's facts ([`API_KEY_FOR_MAIL`]).
#[derive(Debug, Deserialize)]
pub struct KeyMailRow {
    /// `key_name`.
    pub key_name: String,
    /// `expires_at`.
    pub expires_at: Option<i64>,
    /// `revoked_at`.
    pub revoked_at: Option<i64>,
    /// `rotated_to`.
    pub rotated_to: Option<String>,
    /// `org_id`.
    pub org_id: String,
    /// `org_name`.
    pub org_name: String,
    /// `email`.
    pub email: String,
    /// `name`.
    pub name: String,
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
