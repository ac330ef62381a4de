//! Custom roles (`org_roles`): an org's own named permission sets. Every
//! write re-checks in the statement what it rests on (the caller's role,
//! the limit, the role not being in use), so two requests at once cannot
//! both pass a rule one of them would break.
use serde::Deserialize;

/// A custom role's row.
#[derive(Debug, Clone, Deserialize)]
pub struct RoleRow {
    /// Its key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Description ('' when none).
    pub description: String,
    /// JSON array of permission names.
    pub permissions: String,
    /// Creation.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// The org's custom roles, by key (at most 25: no paging).
pub const LIST_ROLES: &str = "SELECT key, name, description, permissions, created_at, updated_at \
     FROM org_roles WHERE org_id = ?1 ORDER BY key";
/// One custom role (`?1` org, `?2` key).
pub const ROLE: &str = "SELECT key, name, description, permissions, created_at, updated_at \
     FROM org_roles WHERE org_id = ?1 AND key = ?2";
/// How many custom roles the org has.
pub const ROLE_COUNT: &str = "SELECT COUNT(*) AS n FROM org_roles WHERE org_id = ?1";
/// A new role (`?1` org, `?2` key, `?3` name, `?4` description, `?5`
/// permissions, `?6` now) while the org has fewer than `?7`, if the acting
/// person `?8` still has the role `?9` the decision was made with. A key
/// taken is a unique violation.
pub const INSERT_ROLE: &str =
    "INSERT INTO org_roles (org_id, key, name, description, permissions, created_at, updated_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6 \
     WHERE (SELECT COUNT(*) FROM org_roles WHERE org_id = ?1) < ?7 \
       AND EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?8 AND role = ?9)";
/// Changes a role (`?3` name, `?4` description, `?5` permissions; NULL keeps
/// each), if the acting person `?7` still has the role `?8`.
pub const UPDATE_ROLE: &str = "UPDATE org_roles SET name = COALESCE(?3, name), \
       description = COALESCE(?4, description), permissions = COALESCE(?5, permissions), updated_at = ?6 \
     WHERE org_id = ?1 AND key = ?2 \
       AND EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?7 AND role = ?8)";
/// Deletes a role nobody holds, no pending invitation gives and no domain
/// auto-joins people with, if the
/// acting person `?3` still has the role `?4`. An assignment racing it is
/// serialized with it: whichever comes first wins, and the other sees it
/// (the assignment's own statement requires the role to exist).
pub const DELETE_ROLE: &str = "DELETE FROM org_roles WHERE org_id = ?1 AND key = ?2 \
       AND NOT EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND role = ?2) \
       AND NOT EXISTS (SELECT 1 FROM invitations WHERE org_id = ?1 AND role = ?2 AND status = 'pending') \
       AND NOT EXISTS (SELECT 1 FROM org_domains WHERE org_id = ?1 AND join_role = ?2) \
       AND NOT EXISTS (SELECT 1 FROM join_links WHERE org_id = ?1 AND role = ?2 AND revoked_at IS NULL) \
       AND NOT EXISTS (SELECT 1 FROM membership_requests WHERE org_id = ?1 AND role = ?2 AND status = 'pending') \
       AND NOT EXISTS (SELECT 1 FROM sso_connections WHERE org_id = ?1 AND default_role = ?2) \
       AND EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?3 AND role = ?4)";
/// Whether the role is held or given by a pending invitation (after a
/// refused delete: which refusal).
pub const ROLE_USE: &str = "SELECT \
       EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND role = ?2) AS members, \
       EXISTS (SELECT 1 FROM invitations WHERE org_id = ?1 AND role = ?2 AND status = 'pending') AS invitations, \
       EXISTS (SELECT 1 FROM org_domains WHERE org_id = ?1 AND join_role = ?2) AS domains, \
       EXISTS (SELECT 1 FROM join_links WHERE org_id = ?1 AND role = ?2 AND revoked_at IS NULL) AS join_links, \
       EXISTS (SELECT 1 FROM membership_requests WHERE org_id = ?1 AND role = ?2 AND status = 'pending') AS requests, \
       EXISTS (SELECT 1 FROM sso_connections WHERE org_id = ?1 AND default_role = ?2) AS sso";
