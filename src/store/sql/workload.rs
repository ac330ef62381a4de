//! Workload identity: trust policies, single-use token ids, temporary keys.

use serde::Deserialize;

/// A new policy (the caller's role was checked by the write's guard), only
/// while the org has fewer than 100; bound as the update is (`?1` to `?9`),
/// with the issuer, which no update changes, as `?10`.
pub const INSERT_TRUST_POLICY: &str = "INSERT INTO trust_policies \
       (id, org_id, name, issuer, audience, conditions, scopes, max_ttl_seconds, created_by, created_at, updated_at) \
     SELECT ?1, ?2, ?3, ?10, ?4, ?5, ?6, ?7, ?8, ?9, ?9 \
     WHERE (SELECT COUNT(*) FROM trust_policies WHERE org_id = ?2) < 100";
/// An org's policies, newest first (at most 100 a org is the documented limit).
pub const LIST_TRUST_POLICIES: &str =
    "SELECT id, org_id, name, issuer, audience, conditions, scopes, max_ttl_seconds, \
       created_by, created_at, updated_at \
     FROM trust_policies WHERE org_id = ?1 ORDER BY created_at DESC LIMIT 100";
/// One policy of the org.
pub const TRUST_POLICY_IN_ORG: &str =
    "SELECT id, org_id, name, issuer, audience, conditions, scopes, max_ttl_seconds, \
       created_by, created_at, updated_at \
     FROM trust_policies WHERE id = ?1 AND org_id = ?2";
/// A change; whoever makes it becomes the person whose role bounds its scopes.
pub const UPDATE_TRUST_POLICY: &str = "UPDATE trust_policies SET name = ?3, audience = ?4, conditions = ?5, \
       scopes = ?6, max_ttl_seconds = ?7, created_by = ?8, updated_at = ?9 \
     WHERE id = ?1 AND org_id = ?2";
/// Deletes a policy (keys issued under it live out their short lives).
pub const DELETE_TRUST_POLICY: &str = "DELETE FROM trust_policies WHERE id = ?1 AND org_id = ?2";

/// The exchange's candidates: the policies naming this issuer and
/// audience, oldest first, with their creator's current role in the org
/// and whether that account is suspended.
pub const TRUST_POLICIES_FOR_TOKEN: &str = "SELECT p.id, p.org_id, p.name, p.issuer, p.audience, p.conditions, \
       p.scopes, p.max_ttl_seconds, p.created_by, p.created_at, p.updated_at, \
       (SELECT m.role FROM org_members AS m WHERE m.org_id = p.org_id AND m.user_id = p.created_by) AS creator_role, \
       (SELECT r.permissions FROM org_members AS m JOIN org_roles AS r ON r.org_id = m.org_id AND r.key = m.role \
         WHERE m.org_id = p.org_id AND m.user_id = p.created_by) AS creator_permissions, \
       (SELECT u.suspended_at FROM users AS u WHERE u.id = p.created_by) AS creator_suspended_at \
     FROM trust_policies AS p WHERE p.issuer = ?1 AND p.audience = ?2 ORDER BY p.created_at LIMIT 50";

/// A token's `jti`, used once: nothing inserted means a replay.
pub const INSERT_TOKEN_USE: &str = "INSERT INTO oidc_token_uses (issuer, jti, key_id, used_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (issuer, jti) DO NOTHING";
/// The temporary key, only if this exchange recorded the token's use (not
/// a concurrent replay), the policy still has these scopes, and its creator
/// still holds one of the roles `?13..?15` (the built-in roles that hold
/// every scope) or a custom role holding every scope of `?16` (a JSON array).
pub const INSERT_TEMPORARY_KEY: &str =
    "INSERT INTO api_keys (id, org_id, name, key_hash, start, scopes, created_by, created_at, expires_at, trust_policy_id) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 \
     WHERE EXISTS (SELECT 1 FROM oidc_token_uses WHERE issuer = ?11 AND jti = ?12 AND key_id = ?1) \
       AND EXISTS (SELECT 1 FROM trust_policies WHERE id = ?10 AND org_id = ?2 AND scopes = ?6 AND created_by = ?7) \
       AND EXISTS (SELECT 1 FROM org_members AS m WHERE m.org_id = ?2 AND m.user_id = ?7 \
         AND (m.role IN (?13, ?14, ?15) OR EXISTS (SELECT 1 FROM org_roles AS r \
           WHERE r.org_id = m.org_id AND r.key = m.role AND NOT EXISTS (SELECT 1 FROM json_each(?16) AS n \
             WHERE NOT EXISTS (SELECT 1 FROM json_each(r.permissions) AS h WHERE h.value = n.value)))))";

/// A trust policy row.
#[derive(Debug, Deserialize)]
pub struct TrustPolicyRow {
    /// `id`.
    pub id: String,
    /// `org_id`.
    pub org_id: String,
    /// `name`.
    pub name: String,
    /// `issuer`.
    pub issuer: String,
    /// `audience`.
    pub audience: String,
    /// `conditions` (JSON).
    pub conditions: String,
    /// `scopes`.
    pub scopes: String,
    /// `max_ttl_seconds`.
    pub max_ttl_seconds: i64,
    /// `created_by`.
    pub created_by: Option<String>,
    /// `created_at`.
    pub created_at: i64,
    /// `updated_at`.
    pub updated_at: i64,
}

/// A candidate of [`TRUST_POLICIES_FOR_TOKEN`] (no `serde(flatten)`: D1's
/// numbers would not survive its buffering).
#[derive(Debug, Deserialize)]
pub struct TrustCandidateRow {
    /// `id`.
    pub id: String,
    /// `org_id`.
    pub org_id: String,
    /// `name`.
    pub name: String,
    /// `conditions` (JSON).
    pub conditions: String,
    /// `scopes`.
    pub scopes: String,
    /// `max_ttl_seconds`.
    pub max_ttl_seconds: i64,
    /// `created_by`.
    pub created_by: Option<String>,
    /// The creator's current role in the org (none: not a member).
    pub creator_role: Option<String>,
    /// The creator's custom role's permissions (a JSON array), if that is
    /// what they hold.
    pub creator_permissions: Option<String>,
    /// Set when the creator's account is suspended.
    pub creator_suspended_at: Option<i64>,
}
