//! An org's access review: every member with their 2FA and last activity,
//! and every live API key with its scopes and last use.
use serde::Deserialize;

/// At most this many members and this many keys in one review (a D1 answer
/// stays well under its size limit); the view says when it was cut.
pub const REVIEW_LIMIT: i64 = 5000;

/// The org's members, oldest first, up to `?2`.
pub const REVIEW_MEMBERS: &str = "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, m.joined_via, \
       u.totp_enabled, u.last_active_at \
     FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 \
     ORDER BY m.joined_at, m.user_id LIMIT ?2";

/// The org's keys that work at `?2` (not revoked, or in a rotation's grace
/// period; not expired), oldest first, up to `?3`.
pub const REVIEW_API_KEYS: &str =
    "SELECT id, org_id, name, start, scopes, created_by, created_at, expires_at, revoked_at, last_used_at, rotated_to, \
       last_used_network, last_used_agent, trust_policy_id \
     FROM api_keys WHERE org_id = ?1 AND (revoked_at IS NULL OR revoked_at > ?2) \
       AND (expires_at IS NULL OR expires_at > ?2) \
     ORDER BY created_at, id LIMIT ?3";

/// A member as the review reads them ([`REVIEW_MEMBERS`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ReviewMemberRow {
    /// `usr_…`
    pub user_id: String,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// As stored.
    pub role: String,
    /// Unix seconds.
    pub joined_at: i64,
    /// How the membership came to be (null: older than the column).
    pub joined_via: Option<String>,
    /// 0/1.
    pub totp_enabled: i64,
    /// Unix seconds, or null: never.
    pub last_active_at: Option<i64>,
}
