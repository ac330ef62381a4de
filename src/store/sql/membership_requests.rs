//! Membership requests (migration 0019): people asking to join an org.
//! Deciding is one guarded statement on a pending request; the membership
//! follows it in the same batch only if it changed the request.

use serde::Deserialize;

/// The columns a request is shown with, joined with its person and org.
pub const LIST_ORG_REQUESTS: &str = "SELECT r.id, r.org_id, o.name AS org_name, o.slug AS org_slug, r.user_id, \
       u.email, u.name, r.via, r.role, r.status, r.created_at, r.decided_at \
     FROM membership_requests r JOIN users u ON u.id = r.user_id JOIN orgs o ON o.id = r.org_id \
     WHERE r.org_id = ?1 AND (?2 IS NULL OR r.status = ?2) ORDER BY r.created_at DESC, r.id DESC LIMIT 100";
pub const LIST_MY_REQUESTS: &str = "SELECT r.id, r.org_id, o.name AS org_name, o.slug AS org_slug, r.user_id, \
       u.email, u.name, r.via, r.role, r.status, r.created_at, r.decided_at \
     FROM membership_requests r JOIN users u ON u.id = r.user_id JOIN orgs o ON o.id = r.org_id \
     WHERE r.user_id = ?1 ORDER BY r.created_at DESC, r.id DESC LIMIT 100";
pub const REQUEST_BY_ID: &str = "SELECT r.id, r.org_id, o.name AS org_name, o.slug AS org_slug, r.user_id, \
       u.email, u.name, r.via, r.role, r.status, r.created_at, r.decided_at \
     FROM membership_requests r JOIN users u ON u.id = r.user_id JOIN orgs o ON o.id = r.org_id WHERE r.id = ?1";
/// Decides pending request `?1` of org `?2`: `?3` approved or denied, with
/// role `?4` (approved; the asked role stays on a denial), at `?5`, by `?6`.
pub const DECIDE_REQUEST: &str = "UPDATE membership_requests \
     SET status = ?3, role = COALESCE(?4, role), decided_at = ?5, decided_by = ?6 \
     WHERE id = ?1 AND org_id = ?2 AND status = 'pending'";
/// Right after [`DECIDE_REQUEST`]: the membership of an approved request.
pub const MEMBER_FROM_REQUEST: &str =
    "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at, joined_via) \
     SELECT org_id, user_id, role, decided_at, 'request' FROM membership_requests \
     WHERE id = ?1 AND status = 'approved' AND changes() > 0";
/// Person `?1` asks to join org `?2` (request `?3`, at `?4`), which their
/// verified address's domain suggests to them (a verified domain of the org
/// with `suggest` enrollment), unless a member already.
pub const REQUEST_FROM_SUGGESTION: &str =
    "INSERT INTO membership_requests (id, org_id, user_id, via, role, created_at) \
     SELECT ?3, d.org_id, u.id, 'suggestion', d.join_role, ?4 FROM users AS u JOIN org_domains AS d \
       ON d.domain = substr(u.email, length(rtrim(u.email, replace(u.email, '@', ''))) + 1) \
       AND d.state = 'verified' AND d.enrollment = 'suggest' AND d.org_id = ?2 \
     WHERE u.id = ?1 AND u.email_verified_at IS NOT NULL \
       AND NOT EXISTS (SELECT 1 FROM org_members AS m WHERE m.org_id = d.org_id AND m.user_id = u.id)";
/// The person (`?2`) withdraws their pending request `?1`.
pub const WITHDRAW_REQUEST: &str = "UPDATE membership_requests SET status = 'withdrawn', decided_at = ?3 \
     WHERE id = ?1 AND user_id = ?2 AND status = 'pending'";

/// A request with its person and org.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestRow {
    /// `id`.
    pub id: String,
    /// `org_id`.
    pub org_id: String,
    /// `org_name`.
    pub org_name: String,
    /// `org_slug`.
    pub org_slug: String,
    /// `user_id`.
    pub user_id: String,
    /// `email`.
    pub email: String,
    /// `name`.
    pub name: String,
    /// `via`.
    pub via: String,
    /// `role`.
    pub role: String,
    /// `status`.
    pub status: String,
    /// `created_at`.
    pub created_at: i64,
    /// `decided_at`.
    pub decided_at: Option<i64>,
}
