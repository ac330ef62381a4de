//! Join links (migration 0017): shareable, multi-use links into an org.
//!
//! A person joins through one statement that checks everything the link
//! promises ([`MEMBER_FROM_JOIN_LINK`]): still live, a use left, a verified
//! address on an allowed domain. The use is counted right after it
//! ([`COUNT_JOIN_LINK_USE`], only if the member was added), in the same
//! batch: two people taking the last use at once cannot both join.

use serde::Deserialize;

pub const INSERT_JOIN_LINK: &str = "INSERT INTO join_links \
     (id, org_id, token_hash, role, allowed_domains, max_uses, created_by, created_at, expires_at, approval) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
pub const LIST_JOIN_LINKS: &str =
    "SELECT id, role, allowed_domains, max_uses, uses, approval, created_by, created_at, expires_at, revoked_at \
     FROM join_links WHERE org_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 100";
pub const REVOKE_JOIN_LINK: &str =
    "UPDATE join_links SET revoked_at = ?3 WHERE id = ?1 AND org_id = ?2 AND revoked_at IS NULL";
/// A link by its token's digest, with its org and (`?2`, a person or NULL)
/// that person's current role there.
pub const JOIN_LINK_BY_TOKEN: &str = "SELECT l.id, l.org_id, o.name AS org_name, o.slug AS org_slug, l.role, \
       l.allowed_domains, l.max_uses, l.uses, l.approval, l.expires_at, l.revoked_at, \
       (SELECT m.role FROM org_members m WHERE m.org_id = l.org_id AND m.user_id = ?2) AS member_role, \
       (SELECT r.id FROM membership_requests r \
         WHERE r.org_id = l.org_id AND r.user_id = ?2 AND r.status = 'pending') AS pending_request \
     FROM join_links l JOIN orgs o ON o.id = l.org_id WHERE l.token_hash = ?1";
/// The link a sign-up's verification link (`?1`, its email token) was made
/// through, as [`JOIN_LINK_BY_TOKEN`] reads it for person `?2`.
pub const JOIN_LINK_OF_SIGNUP: &str = "SELECT l.id, l.org_id, o.name AS org_name, o.slug AS org_slug, l.role, \
       l.allowed_domains, l.max_uses, l.uses, l.approval, l.expires_at, l.revoked_at, \
       (SELECT m.role FROM org_members m WHERE m.org_id = l.org_id AND m.user_id = ?2) AS member_role, \
       (SELECT r.id FROM membership_requests r \
         WHERE r.org_id = l.org_id AND r.user_id = ?2 AND r.status = 'pending') AS pending_request \
     FROM join_intents i JOIN join_links l ON l.id = i.link_id JOIN orgs o ON o.id = l.org_id \
     WHERE i.token_id = ?1";
/// Binds a sign-up's verification link (`?1`) to the join link whose token
/// digest is `?2`, if that email token was written (a limited resend may not be).
pub const INSERT_JOIN_INTENT: &str = "INSERT OR IGNORE INTO join_intents (token_id, link_id, created_at) \
     SELECT ?1, l.id, ?3 FROM join_links l WHERE l.token_hash = ?2 \
       AND EXISTS (SELECT 1 FROM email_tokens t WHERE t.id = ?1)";
/// Person `?2` joins through link `?1` at `?3`: only while the link is live
/// with a use left, and the person's address is verified and (when the
/// link names domains) exactly on one of them. Nothing for a member already.
pub const MEMBER_FROM_JOIN_LINK: &str =
    "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at, joined_via) \
     SELECT l.org_id, u.id, l.role, ?3, 'join_link' FROM join_links l JOIN users u ON u.id = ?2 \
     WHERE l.id = ?1 AND l.approval = 0 AND l.revoked_at IS NULL AND l.expires_at > ?3 \
       AND (l.max_uses IS NULL OR l.uses < l.max_uses) AND u.email_verified_at IS NOT NULL \
       AND (l.allowed_domains IS NULL \
         OR EXISTS (SELECT 1 FROM json_each(l.allowed_domains) d WHERE u.email LIKE '%@' || d.value))";
/// [`MEMBER_FROM_JOIN_LINK`] for a link that needs approval: person `?2`'s
/// pending request `?4` instead of a membership, under the same conditions,
/// and not for a member (a pending request of theirs fails the unique index).
pub const REQUEST_FROM_JOIN_LINK: &str = "INSERT INTO membership_requests \
       (id, org_id, user_id, via, join_link_id, role, created_at) \
     SELECT ?4, l.org_id, u.id, 'join_link', l.id, l.role, ?3 FROM join_links l JOIN users u ON u.id = ?2 \
     WHERE l.id = ?1 AND l.approval = 1 AND l.revoked_at IS NULL AND l.expires_at > ?3 \
       AND (l.max_uses IS NULL OR l.uses < l.max_uses) AND u.email_verified_at IS NOT NULL \
       AND (l.allowed_domains IS NULL \
         OR EXISTS (SELECT 1 FROM json_each(l.allowed_domains) d WHERE u.email LIKE '%@' || d.value)) \
       AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = l.org_id AND m.user_id = u.id)";
/// Right after [`MEMBER_FROM_JOIN_LINK`] or [`REQUEST_FROM_JOIN_LINK`]:
/// counts the use if a member or request was added.
pub const COUNT_JOIN_LINK_USE: &str = "UPDATE join_links SET uses = uses + 1 WHERE id = ?1 AND changes() > 0";

/// A link with its org ([`JOIN_LINK_BY_TOKEN`], [`JOIN_LINK_OF_SIGNUP`]).
#[derive(Debug, Clone, Deserialize)]
pub struct JoinLinkRow {
    /// `id`.
    pub id: String,
    /// `org_id`.
    pub org_id: String,
    /// `org_name`.
    pub org_name: String,
    /// `org_slug`.
    pub org_slug: String,
    /// `role`.
    pub role: String,
    /// `allowed_domains` (a JSON array, or NULL).
    pub allowed_domains: Option<String>,
    /// `max_uses`.
    pub max_uses: Option<i64>,
    /// `uses`.
    pub uses: i64,
    /// `approval`: 1 when joining needs an admin's approval.
    pub approval: i64,
    /// `expires_at`.
    pub expires_at: i64,
    /// `revoked_at`.
    pub revoked_at: Option<i64>,
    /// `member_role`: the asking person's role in the org, if a member.
    pub member_role: Option<String>,
    /// `pending_request`: the asking person's pending request there, if any.
    pub pending_request: Option<String>,
}

/// A link as lists show it ([`LIST_JOIN_LINKS`]).
#[derive(Debug, Clone, Deserialize)]
pub struct JoinLinkListRow {
    /// `id`.
    pub id: String,
    /// `role`.
    pub role: String,
    /// `allowed_domains` (a JSON array, or NULL).
    pub allowed_domains: Option<String>,
    /// `max_uses`.
    pub max_uses: Option<i64>,
    /// `uses`.
    pub uses: i64,
    /// `approval`.
    pub approval: i64,
    /// `created_by`.
    pub created_by: Option<String>,
    /// `created_at`.
    pub created_at: i64,
    /// `expires_at`.
    pub expires_at: i64,
    /// `revoked_at`.
    pub revoked_at: Option<i64>,
}
