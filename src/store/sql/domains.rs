//! Verified domains ([`crate::app::domains`]) and the auto-joins they make.

use serde::Deserialize;

/// A new pending domain, unless the org has `?6` already or another org
/// has verified it (read beside it: [`DOMAIN_CLAIMED_ELSEWHERE`]). The same
/// name twice in one org is a unique violation (`org_domains_once_per_org`).
pub const INSERT_DOMAIN: &str = "INSERT INTO org_domains \
       (id, org_id, domain, txt_value, created_at, updated_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?5 \
     WHERE (SELECT COUNT(*) FROM org_domains WHERE org_id = ?2) < ?6 \
       AND NOT EXISTS (SELECT 1 FROM org_domains WHERE domain = ?3 AND state = 'verified' AND org_id <> ?2)";
/// Whether another org holds `?1` verified.
pub const DOMAIN_CLAIMED_ELSEWHERE: &str = "SELECT EXISTS (SELECT 1 FROM org_domains \
       WHERE domain = ?1 AND state = 'verified' AND org_id <> ?2) AS claimed";
/// One domain of one org.
pub const DOMAIN_IN_ORG: &str = "SELECT id, org_id, domain, txt_value, state, enrollment, join_role, created_at, \
       updated_at, verified_at, checked_at, lapsed_at FROM org_domains WHERE id = ?1 AND org_id = ?2";
/// An org's domains by name (at most `MAX_DOMAINS_PER_ORG`: no pages).
pub const LIST_DOMAINS: &str = "SELECT id, org_id, domain, txt_value, state, enrollment, join_role, created_at, \
       updated_at, verified_at, checked_at, lapsed_at FROM org_domains WHERE org_id = ?1 ORDER BY domain";
/// Verifies a pending or lapsed domain whose record (`?4`) was just found,
/// unless another org holds the name verified: the guard here, and the
/// unique partial index `org_domains_one_verified` behind it, so two orgs
/// verifying at once cannot both win.
pub const VERIFY_DOMAIN: &str = "UPDATE org_domains SET state = 'verified', verified_at = ?3, checked_at = ?3, \
       next_check_at = ?3 + ?5, lapsed_at = NULL, updated_at = ?3 \
     WHERE id = ?1 AND org_id = ?2 AND state <> 'verified' AND txt_value = ?4 \
       AND NOT EXISTS (SELECT 1 FROM org_domains AS o WHERE o.domain = org_domains.domain AND o.state = 'verified')";
/// Changes enrollment and role (NULL: unchanged). `?6` is whether the caller
/// may have the domain auto-join with more than member (admin, or a custom
/// role: `policy::may_auto_join_as`), judged in the statement against the
/// row as it is when written; a custom role must exist (deleted meanwhile:
/// nothing changes).
pub const UPDATE_DOMAIN: &str = "UPDATE org_domains SET enrollment = COALESCE(?3, enrollment), \
       join_role = COALESCE(?4, join_role), updated_at = ?5 \
     WHERE id = ?1 AND org_id = ?2 \
       AND (?6 OR NOT (COALESCE(?3, enrollment) = 'auto_join' AND COALESCE(?4, join_role) <> 'member')) \
       AND (?4 IS NULL OR ?4 IN ('member', 'admin') OR EXISTS (SELECT 1 FROM org_roles WHERE org_id = ?2 AND key = ?4))";
pub const DELETE_DOMAIN: &str = "DELETE FROM org_domains WHERE id = ?1 AND org_id = ?2";
/// A domain's audit row, its data read from the row itself (`?7`, `?8`),
/// written only if the statement before it changed something.
pub const AUDIT_DOMAIN_IF_CHANGED: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     SELECT ?1, org_id, NULL, ?2, ?3, ?4, 'domain', id, \
       json_object('domain', domain, 'state', state, 'enrollment', enrollment, 'role', join_role, 'found', ?9), ?5, ?6 \
     FROM org_domains WHERE id = ?7 AND org_id = ?8 AND changes() > 0";
/// [`AUDIT_DOMAIN_IF_CHANGED`], unconditional (a removal: written before the row goes).
pub const AUDIT_DOMAIN: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     SELECT ?1, org_id, NULL, ?2, ?3, ?4, 'domain', id, \
       json_object('domain', domain, 'state', state, 'enrollment', enrollment, 'role', join_role, 'found', ?9), ?5, ?6 \
     FROM org_domains WHERE id = ?7 AND org_id = ?8";

/// Verified domains whose next look-up is due, most overdue first.
pub const DOMAINS_DUE: &str = "SELECT id, org_id, domain, txt_value, next_check_at FROM org_domains \
     WHERE state = 'verified' AND next_check_at <= ?1 ORDER BY next_check_at LIMIT ?2";
/// After a re-check: found (`?4` = now, `?5` the next look-up), or no answer
/// (`?4` NULL keeps the last success). Only if nothing changed it meanwhile.
pub const RECHECKED_DOMAIN: &str = "UPDATE org_domains SET checked_at = COALESCE(?4, checked_at), next_check_at = ?5 \
     WHERE id = ?1 AND state = 'verified' AND txt_value = ?2 AND next_check_at = ?3";
/// The record is gone: the domain lapses (only as the re-check read it).
pub const LAPSE_DOMAIN: &str = "UPDATE org_domains SET state = 'lapsed', lapsed_at = ?4, updated_at = ?4 \
     WHERE id = ?1 AND state = 'verified' AND txt_value = ?2 AND next_check_at = ?3";

// The statements below find the domain of `u.email` after its last `@`:
// `substr(u.email, length(rtrim(u.email, replace(u.email, '@', ''))) + 1)`
// (rtrim drops every trailing character but `@`), written out in each, as
// statements stay literals.

/// Auto-join, 1 of 3 (`?1` person, `?2` now, `?3` audit id, `?4` event
/// types): `member.joined`, for a person whose verified address is on a
/// verified auto-join domain, who has not joined through it before and is
/// not a member. Before the membership, which it describes.
pub const AUTO_JOIN_AUDIT: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     SELECT ?3, d.org_id, NULL, 'user', u.id, 'member.joined', 'member', u.id, \
       json_object('via', 'domain', 'domain', d.domain, 'role', d.join_role), ?2, ?4 \
     FROM users AS u JOIN org_domains AS d \
       ON d.domain = substr(u.email, length(rtrim(u.email, replace(u.email, '@', ''))) + 1) \
       AND d.state = 'verified' AND d.enrollment = 'auto_join' \
     WHERE u.id = ?1 AND u.email_verified_at IS NOT NULL \
       AND NOT EXISTS (SELECT 1 FROM domain_joins AS j WHERE j.org_id = d.org_id AND j.domain = d.domain AND j.user_id = u.id) \
       AND NOT EXISTS (SELECT 1 FROM org_members AS m WHERE m.org_id = d.org_id AND m.user_id = u.id) \
     LIMIT 1";
/// Auto-join, 2 of 3: the membership, with the domain's role.
pub const AUTO_JOIN_MEMBER: &str = "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at, joined_via) \
     SELECT d.org_id, u.id, d.join_role, ?2, 'domain' \
     FROM users AS u JOIN org_domains AS d \
       ON d.domain = substr(u.email, length(rtrim(u.email, replace(u.email, '@', ''))) + 1) \
       AND d.state = 'verified' AND d.enrollment = 'auto_join' \
     WHERE u.id = ?1 AND u.email_verified_at IS NOT NULL \
       AND (d.join_role IN ('member', 'admin') OR EXISTS (SELECT 1 FROM org_roles AS r WHERE r.org_id = d.org_id AND r.key = d.join_role)) \
       AND NOT EXISTS (SELECT 1 FROM domain_joins AS j WHERE j.org_id = d.org_id AND j.domain = d.domain AND j.user_id = u.id) \
     LIMIT 1";
/// Auto-join, 3 of 3: recorded, member before or not, so it happens once.
pub const AUTO_JOIN_RECORD: &str = "INSERT OR IGNORE INTO domain_joins (org_id, domain, user_id, joined_at) \
     SELECT d.org_id, d.domain, u.id, ?2 \
     FROM users AS u JOIN org_domains AS d \
       ON d.domain = substr(u.email, length(rtrim(u.email, replace(u.email, '@', ''))) + 1) \
       AND d.state = 'verified' AND d.enrollment = 'auto_join' \
     WHERE u.id = ?1 AND u.email_verified_at IS NOT NULL \
     LIMIT 1";
/// Orgs suggesting themselves to the person `?1` (a verified address on
/// their verified `suggest` domain), where they are not a member.
pub const SUGGESTED_ORGS: &str = "SELECT o.id, o.name, o.slug, d.domain \
     FROM users AS u JOIN org_domains AS d \
       ON d.domain = substr(u.email, length(rtrim(u.email, replace(u.email, '@', ''))) + 1) \
       AND d.state = 'verified' AND d.enrollment = 'suggest' \
     JOIN orgs AS o ON o.id = d.org_id \
     WHERE u.id = ?1 AND u.email_verified_at IS NOT NULL \
       AND NOT EXISTS (SELECT 1 FROM org_members AS m WHERE m.org_id = d.org_id AND m.user_id = u.id)";

/// A domain row.
#[derive(Debug, Clone, Deserialize)]
pub struct DomainRow {
    pub id: String,
    pub org_id: String,
    pub domain: String,
    pub txt_value: String,
    pub state: String,
    pub enrollment: String,
    pub join_role: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub verified_at: Option<i64>,
    pub checked_at: Option<i64>,
    pub lapsed_at: Option<i64>,
}

/// A domain due for its re-check ([`DOMAINS_DUE`]).
#[derive(Debug, Clone, Deserialize)]
pub struct DueDomainRow {
    pub id: String,
    pub org_id: String,
    pub domain: String,
    pub txt_value: String,
    pub next_check_at: i64,
}

/// [`DOMAIN_CLAIMED_ELSEWHERE`].
#[derive(Debug, Clone, Deserialize)]
pub struct ClaimedRow {
    pub claimed: i64,
}

/// An org suggested to a person ([`SUGGESTED_ORGS`]).
#[derive(Debug, Clone, Deserialize)]
pub struct SuggestedOrgRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub domain: String,
}
