//! SCIM provisioning (`app::scim`): the org's SCIM tokens, its SCIM Users
//! (each a membership of the org with its account) and Groups (each standing
//! for the role its name spells), and the one statement that sets a
//! SCIM-managed member's role from their groups.
use serde::Deserialize;

// ---- tokens ----

/// A SCIM token as lists show it.
#[derive(Debug, Clone, Deserialize)]
pub struct ScimTokenRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub start: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A new token, while the org holds fewer than `?8` (follow the audit row
/// with its read-back: nothing inserted means the limit).
pub const INSERT_SCIM_TOKEN: &str =
    "INSERT INTO scim_tokens (id, org_id, name, token_hash, start, created_by, created_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE (SELECT COUNT(*) FROM scim_tokens WHERE org_id = ?2) < ?8";
pub const SCIM_TOKEN_IN_ORG: &str =
    "SELECT id, org_id, name, start, created_by, created_at, last_used_at FROM scim_tokens WHERE id = ?1 AND org_id = ?2";
/// The org's tokens, newest first (at most `MAX_TOKENS_PER_ORG`).
pub const LIST_SCIM_TOKENS: &str = "SELECT id, org_id, name, start, created_by, created_at, last_used_at \
     FROM scim_tokens WHERE org_id = ?1 ORDER BY created_at DESC, id DESC";
pub const DELETE_SCIM_TOKEN: &str = "DELETE FROM scim_tokens WHERE id = ?1 AND org_id = ?2";

/// The token `?1` (its digest), if it is one of org `?2`'s: a token of
/// another org is no token here.
#[derive(Debug, Clone, Deserialize)]
pub struct LiveScimTokenRow {
    pub id: String,
    pub last_used_at: Option<i64>,
}
pub const LIVE_SCIM_TOKEN: &str = "SELECT id, last_used_at FROM scim_tokens WHERE token_hash = ?1 AND org_id = ?2";
/// Opens every SCIM write: the token `?1` is still one of org `?2`'s, or
/// the batch rolls back.
pub const GUARD_SCIM_TOKEN: &str = "SELECT json(CASE WHEN EXISTS (SELECT 1 FROM scim_tokens \
       WHERE token_hash = ?1 AND org_id = ?2) THEN '1' ELSE 'guard' END) AS ok";
/// Off the request path, at most once a minute per token.
pub const TOUCH_SCIM_TOKEN: &str =
    "UPDATE scim_tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60)";

// ---- users ----

/// A SCIM User: the resource, its account, and (active) the role held.
#[derive(Debug, Clone, Deserialize)]
pub struct ScimUserRow {
    pub user_id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub active: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub email: String,
    pub name: String,
    /// The membership's role; null without one.
    pub role: Option<String>,
}

pub const SCIM_USER: &str = "SELECT s.user_id, s.user_name, s.external_id, s.given_name, s.family_name, s.active, \
       s.created_at, s.updated_at, u.email, u.name, m.role \
     FROM scim_users AS s JOIN users AS u ON u.id = s.user_id \
     LEFT JOIN org_members AS m ON m.org_id = s.org_id AND m.user_id = s.user_id \
     WHERE s.org_id = ?1 AND s.user_id = ?2";
pub const SCIM_USER_BY_NAME: &str = "SELECT s.user_id, s.user_name, s.external_id, s.given_name, s.family_name, \
       s.active, s.created_at, s.updated_at, u.email, u.name, m.role \
     FROM scim_users AS s JOIN users AS u ON u.id = s.user_id \
     LEFT JOIN org_members AS m ON m.org_id = s.org_id AND m.user_id = s.user_id \
     WHERE s.org_id = ?1 AND s.user_name = ?2";
/// Users with the `externalId` `?2`, oldest first (`?3` at most).
pub const SCIM_USERS_BY_EXTERNAL_ID: &str = "SELECT s.user_id, s.user_name, s.external_id, s.given_name, \
       s.family_name, s.active, s.created_at, s.updated_at, u.email, u.name, m.role \
     FROM scim_users AS s JOIN users AS u ON u.id = s.user_id \
     LEFT JOIN org_members AS m ON m.org_id = s.org_id AND m.user_id = s.user_id \
     WHERE s.org_id = ?1 AND s.external_id = ?2 LIMIT ?3";
/// A page of the org's Users, oldest first: `?2` rows after skipping `?3`.
pub const LIST_SCIM_USERS: &str = "SELECT s.user_id, s.user_name, s.external_id, s.given_name, s.family_name, \
       s.active, s.created_at, s.updated_at, u.email, u.name, m.role \
     FROM scim_users AS s JOIN users AS u ON u.id = s.user_id \
     LEFT JOIN org_members AS m ON m.org_id = s.org_id AND m.user_id = s.user_id \
     WHERE s.org_id = ?1 ORDER BY s.created_at, s.user_id LIMIT ?2 OFFSET ?3";
/// A count (`totalResults`).
#[derive(Debug, Clone, Deserialize)]
pub struct CountRow {
    pub n: i64,
}
pub const COUNT_SCIM_USERS: &str = "SELECT COUNT(*) AS n FROM scim_users WHERE org_id = ?1";

/// What a new User's address already has: its account, and whether that
/// account is a member of the org, and with which role.
#[derive(Debug, Clone, Deserialize)]
pub struct ScimHolderRow {
    pub id: String,
    pub email_verified_at: Option<i64>,
    pub suspended_at: Option<i64>,
    pub role: Option<String>,
}
pub const SCIM_HOLDER: &str = "SELECT u.id, u.email_verified_at, u.suspended_at, m.role \
     FROM users AS u LEFT JOIN org_members AS m ON m.org_id = ?1 AND m.user_id = u.id WHERE u.email = ?2";

/// A new User resource.
pub const INSERT_SCIM_USER: &str = "INSERT INTO scim_users \
       (org_id, user_id, user_name, external_id, given_name, family_name, active, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)";
/// A provisioned person's membership (`joined_via` 'domain': the org's
/// verified domain let them in, as with SSO); a member already keeps theirs.
pub const SCIM_JOIN: &str = "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at, joined_via) \
     SELECT ?1, ?2, 'member', ?3, 'domain' \
     WHERE EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?1 AND user_id = ?2 AND active = 1)";
/// Changes the kept attributes (`?3` = 1: set externalId to `?4`; `?5`: given
/// name; `?7`: family name).
pub const UPDATE_SCIM_USER: &str = "UPDATE scim_users SET \
       external_id = CASE WHEN ?3 = 1 THEN ?4 ELSE external_id END, \
       given_name = CASE WHEN ?5 = 1 THEN ?6 ELSE given_name END, \
       family_name = CASE WHEN ?7 = 1 THEN ?8 ELSE family_name END, updated_at = ?9 \
     WHERE org_id = ?1 AND user_id = ?2 \
       AND (external_id IS NOT (CASE WHEN ?3 = 1 THEN ?4 ELSE external_id END) \
         OR given_name IS NOT (CASE WHEN ?5 = 1 THEN ?6 ELSE given_name END) \
         OR family_name IS NOT (CASE WHEN ?7 = 1 THEN ?8 ELSE family_name END))";
/// Deprovisioning, 1 of 2: the membership goes; an owner only while another
/// owner stays (the rule of leaving).
pub const SCIM_REMOVE_MEMBER: &str = "DELETE FROM org_members WHERE org_id = ?1 AND user_id = ?2 \
       AND (role <> 'owner' OR (SELECT COUNT(*) FROM org_members WHERE org_id = ?1 AND role = 'owner') > 1)";
/// ... then: the member is gone, or the batch stops and nothing of the
/// request is kept (the org's last owner stays a member).
pub const GUARD_NOT_A_MEMBER: &str = "SELECT json(CASE WHEN NOT EXISTS (SELECT 1 FROM org_members \
       WHERE org_id = ?1 AND user_id = ?2) THEN '1' ELSE 'guard' END) AS ok";
/// Deprovisioning, 2 of 2: the resource turns inactive, once its membership
/// is gone (the last owner's stays: nothing changes).
pub const SCIM_DEACTIVATE: &str = "UPDATE scim_users SET active = 0, updated_at = ?3 \
     WHERE org_id = ?1 AND user_id = ?2 AND active = 1 \
       AND NOT EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?2)";
/// Reprovisioning (then [`SCIM_JOIN`] and [`SCIM_SET_ROLE`]).
pub const SCIM_ACTIVATE: &str =
    "UPDATE scim_users SET active = 1, updated_at = ?3 WHERE org_id = ?1 AND user_id = ?2 AND active = 0";
/// Deleting a User: the resource goes once its membership is gone.
pub const DELETE_SCIM_USER: &str = "DELETE FROM scim_users WHERE org_id = ?1 AND user_id = ?2 \
       AND NOT EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?2)";
/// ... and its group memberships, once the resource is gone.
pub const DELETE_SCIM_USER_GROUPS: &str = "DELETE FROM scim_group_members WHERE org_id = ?1 AND user_id = ?2 \
       AND NOT EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?1 AND user_id = ?2)";

/// Whether a member is managed by SCIM (read with a member change elsewhere):
/// an active User, while the org has a SCIM token. Once every token is
/// revoked the directory speaks for nobody, and owners manage its members again.
#[derive(Debug, Clone, Deserialize)]
pub struct ScimManagedRow {
    pub managed: i64,
}
pub const SCIM_MANAGED: &str = "SELECT 1 AS managed FROM scim_users WHERE org_id = ?1 AND user_id = ?2 AND active = 1 \
       AND EXISTS (SELECT 1 FROM scim_tokens WHERE org_id = ?1)";

/// The role of SCIM-managed member `?2` of org `?1` from their groups (the
/// `scim_group_roles` view, migration 0031). Owners keep their role (SCIM
/// never makes nor unmakes owners). Run after [`SCIM_ROLE_CHANGE_AUDIT`].
pub const SCIM_SET_ROLE: &str = "UPDATE org_members \
     SET role = (SELECT role FROM scim_group_roles WHERE org_id = ?1 AND user_id = ?2) \
     WHERE org_id = ?1 AND user_id = ?2 AND role <> 'owner' \
       AND EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?1 AND user_id = ?2 AND active = 1) \
       AND role IS NOT (SELECT role FROM scim_group_roles WHERE org_id = ?1 AND user_id = ?2)";
/// The `member.role_changed` row of [`SCIM_SET_ROLE`], just before it and
/// on the same conditions (so it is written exactly when the role changes),
/// with the role it had and the one it gets. Bound as
/// `sql::INSERT_AUDIT` (?2 the org, ?8 the member); `from`/`to` join ?9.
pub const SCIM_ROLE_CHANGE_AUDIT: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, json_set(?9, '$.from', m.role, '$.to', d.role), ?10, ?11 \
     FROM org_members AS m JOIN scim_group_roles AS d ON d.org_id = m.org_id AND d.user_id = m.user_id \
     WHERE m.org_id = ?2 AND m.user_id = ?8 AND m.role <> 'owner' AND m.role IS NOT d.role \
       AND EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?2 AND user_id = ?8 AND active = 1)";

// ---- groups ----

/// A SCIM Group.
#[derive(Debug, Clone, Deserialize)]
pub struct ScimGroupRow {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
pub const SCIM_GROUP: &str = "SELECT id, display_name, external_id, created_at, updated_at \
     FROM scim_groups WHERE id = ?1 AND org_id = ?2";
pub const SCIM_GROUP_BY_NAME: &str = "SELECT id, display_name, external_id, created_at, updated_at \
     FROM scim_groups WHERE org_id = ?1 AND role_key = ?2";
pub const SCIM_GROUPS_BY_EXTERNAL_ID: &str = "SELECT id, display_name, external_id, created_at, updated_at \
     FROM scim_groups WHERE org_id = ?1 AND external_id = ?2 LIMIT ?3";
pub const LIST_SCIM_GROUPS: &str = "SELECT id, display_name, external_id, created_at, updated_at \
     FROM scim_groups WHERE org_id = ?1 ORDER BY created_at, id LIMIT ?2 OFFSET ?3";
pub const COUNT_SCIM_GROUPS: &str = "SELECT COUNT(*) AS n FROM scim_groups WHERE org_id = ?1";

/// A member of a group, with the address to show.
#[derive(Debug, Clone, Deserialize)]
pub struct ScimGroupMemberRow {
    pub user_id: String,
    pub email: String,
}
pub const SCIM_GROUP_MEMBERS: &str = "SELECT gm.user_id, u.email FROM scim_group_members AS gm \
     JOIN users AS u ON u.id = gm.user_id WHERE gm.group_id = ?1 ORDER BY gm.user_id";

/// A new group; a name (its role key) taken in the org fails as a unique violation.
pub const INSERT_SCIM_GROUP: &str = "INSERT INTO scim_groups \
       (id, org_id, display_name, role_key, external_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
/// Renames (`?3`, `?4` the role key) and sets the externalId (`?5` = 1: to `?6`).
pub const UPDATE_SCIM_GROUP: &str = "UPDATE scim_groups SET display_name = COALESCE(?3, display_name), \
       role_key = COALESCE(?4, role_key), external_id = CASE WHEN ?5 = 1 THEN ?6 ELSE external_id END, updated_at = ?7 \
     WHERE id = ?1 AND org_id = ?2";
/// A group's memberships, before the group goes.
pub const DELETE_SCIM_GROUP_MEMBERS: &str = "DELETE FROM scim_group_members WHERE group_id = ?1 AND org_id = ?2";
pub const DELETE_SCIM_GROUP: &str = "DELETE FROM scim_groups WHERE id = ?1 AND org_id = ?2";
/// A member joins a group: only a User of the group's org (others are ignored).
pub const ADD_SCIM_GROUP_MEMBER: &str =
    "INSERT OR IGNORE INTO scim_group_members (group_id, org_id, user_id, added_at) \
     SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?2 AND user_id = ?3) \
       AND EXISTS (SELECT 1 FROM scim_groups WHERE id = ?1 AND org_id = ?2)";
pub const REMOVE_SCIM_GROUP_MEMBER: &str =
    "DELETE FROM scim_group_members WHERE group_id = ?1 AND org_id = ?2 AND user_id = ?3";
