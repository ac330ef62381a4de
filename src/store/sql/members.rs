//! Memberships of both tenants (org and workspace): one row type, and one
//! table of statements per tenant ([`ORG_MEMBERS`], [`WORKSPACE_MEMBERS`])
//! whose binders fix every parameter's place.
use crate::domain::policy::Role;
use crate::domain::tenant::TenantKind;
use crate::stmt;
use crate::store::Stmt;
use serde::Deserialize;

/// A member with their account, as both tenants' queries return it.
#[derive(Debug, Clone, Deserialize)]
pub struct MemberRow {
    /// `usr_…`
    pub user_id: String,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// As stored; parse with `Role::parse` (an unknown one is an internal error).
    pub role: String,
    /// Unix seconds.
    pub joined_at: i64,
    /// 0/1.
    pub totp_enabled: i64,
    /// Unix seconds of their last sign-in, session refresh or use of a key
    /// they created (`users.last_active_at`, migration 0023); null: never.
    #[serde(default)]
    pub last_active_at: Option<i64>,
    /// Org members holding a custom role: its permissions (JSON array), read
    /// in the same row (`LEFT JOIN org_roles`); null otherwise.
    #[serde(default)]
    pub role_permissions: Option<String>,
}

/// The membership statements of one tenant kind. Every field is a literal
/// from this file; the binders below put the parameters in their places.
#[derive(Debug)]
pub struct MemberSql {
    insert_sql: &'static str,
    list_sql: &'static str,
    get_sql: &'static str,
    change_role_sql: &'static str,
    remove_sql: &'static str,
    leave_sql: &'static str,
}

/// Org memberships.
pub const ORG_MEMBERS: MemberSql = MemberSql {
    insert_sql: INSERT_MEMBER,
    list_sql: LIST_MEMBERS,
    get_sql: MEMBER,
    change_role_sql: CHANGE_ROLE,
    remove_sql: REMOVE_MEMBER,
    leave_sql: LEAVE_ORG,
};

/// Direct workspace memberships (grant admins are not rows: they are derived).
pub const WORKSPACE_MEMBERS: MemberSql = MemberSql {
    insert_sql: INSERT_WORKSPACE_MEMBER,
    list_sql: LIST_WORKSPACE_MEMBERS,
    get_sql: WORKSPACE_MEMBER,
    change_role_sql: CHANGE_WORKSPACE_ROLE,
    remove_sql: REMOVE_WORKSPACE_MEMBER,
    leave_sql: LEAVE_WORKSPACE,
};

/// The table of `kind`.
pub fn member_sql(kind: TenantKind) -> &'static MemberSql {
    match kind {
        TenantKind::Org => &ORG_MEMBERS,
        TenantKind::Workspace => &WORKSPACE_MEMBERS,
    }
}

/// A guarded role change: the target still has `current`, the tenant keeps
/// an owner, and the caller still has the role the decision was made with.
#[derive(Debug, Clone, Copy)]
pub struct RoleChange<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The member whose role changes.
    pub user_id: &'a str,
    /// Their role when the decision was made (a built-in name or an org's custom role key).
    pub current: &'a str,
    /// The new role.
    pub new: &'a str,
    /// The acting person (None: an API key, in its org).
    pub caller: Option<&'a str>,
    /// The caller's role the decision was made with.
    pub caller_role: &'a str,
}

impl MemberSql {
    /// A new membership.
    pub fn insert(&self, tenant_id: &str, user_id: &str, role: Role, joined_at: i64) -> Stmt {
        stmt!(self.insert_sql, tenant_id, user_id, role.as_str(), joined_at)
    }

    /// A page of members, oldest first, after the `(joined_at, user_id)`
    /// key; with `inactive_before`, only those last active before it (or never).
    pub fn list(
        &self,
        tenant_id: &str,
        after: Option<i64>,
        after_id: Option<String>,
        limit: i64,
        inactive_before: Option<i64>,
    ) -> Stmt {
        stmt!(self.list_sql, tenant_id, after, after_id, limit, inactive_before)
    }

    /// One member ([`MemberRow`]).
    pub fn get(&self, tenant_id: &str, user_id: &str) -> Stmt {
        stmt!(self.get_sql, tenant_id, user_id)
    }

    /// The guarded role change.
    pub fn change_role(&self, c: &RoleChange<'_>) -> Stmt {
        stmt!(self.change_role_sql, c.tenant_id, c.user_id, c.new, c.current, c.caller, c.caller_role)
    }

    /// Removes a non-owner whose role is still `role`, if the caller still has `caller_role`.
    pub fn remove(&self, tenant_id: &str, user_id: &str, role: &str, caller: Option<&str>, caller_role: &str) -> Stmt {
        stmt!(self.remove_sql, tenant_id, user_id, role, caller, caller_role)
    }

    /// Leaves, unless that would leave the tenant without an owner.
    pub fn leave(&self, tenant_id: &str, user_id: &str) -> Stmt {
        stmt!(self.leave_sql, tenant_id, user_id)
    }
}

/// The creator's membership (the only direct insert: everyone else joins by
/// a guarded statement of the way they came).
pub const INSERT_MEMBER: &str =
    "INSERT INTO org_members (org_id, user_id, role, joined_at, joined_via) VALUES (?1, ?2, ?3, ?4, 'created')";
pub const LIST_MEMBERS: &str =
    "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_enabled, u.last_active_at, \
       r.permissions AS role_permissions \
     FROM org_members m JOIN users u ON u.id = m.user_id \
     LEFT JOIN org_roles r ON r.org_id = m.org_id AND r.key = m.role WHERE m.org_id = ?1 \
       AND (m.joined_at, m.user_id) > (COALESCE(?2, -1), COALESCE(?3, '')) \
       AND (?5 IS NULL OR u.last_active_at IS NULL OR u.last_active_at < ?5) \
     ORDER BY m.joined_at, m.user_id LIMIT ?4";
pub const MEMBER: &str = "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_enabled, u.last_active_at, \
       r.permissions AS role_permissions \
     FROM org_members m JOIN users u ON u.id = m.user_id \
     LEFT JOIN org_roles r ON r.org_id = m.org_id AND r.key = m.role WHERE m.org_id = ?1 AND m.user_id = ?2";
/// Changes a role if it is still what the caller decided on (`?4`), and never
/// leaves the org without an owner: one statement, so two owners demoting
/// each other at once cannot both succeed. Never a member the org's
/// directory manages (SCIM: an active User while the org has a SCIM token):
/// nor do the removals below touch one.
pub const CHANGE_ROLE: &str = "UPDATE org_members SET role = ?3 \
     WHERE org_id = ?1 AND user_id = ?2 AND role = ?4 \
       AND (?3 IN ('owner', 'admin', 'member') OR EXISTS (SELECT 1 FROM org_roles WHERE org_id = ?1 AND key = ?3)) \
       AND (role <> 'owner' OR ?3 = 'owner' \
            OR (SELECT COUNT(*) FROM org_members WHERE org_id = ?1 AND role = 'owner') > 1) \
       AND (?5 IS NULL OR EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?5 AND role = ?6)) \
       AND NOT EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?1 AND user_id = ?2 AND active = 1 \
            AND EXISTS (SELECT 1 FROM scim_tokens WHERE org_id = ?1))";
/// Removes a non-owner whose role is still `?3`, if the acting person (`?4`,
/// NULL for an API key) still has the role `?5` the decision was made with.
pub const REMOVE_MEMBER: &str =
    "DELETE FROM org_members WHERE org_id = ?1 AND user_id = ?2 AND role = ?3 AND role <> 'owner' \
       AND (?4 IS NULL OR EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?4 AND role = ?5)) \
       AND NOT EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?1 AND user_id = ?2 AND active = 1 \
            AND EXISTS (SELECT 1 FROM scim_tokens WHERE org_id = ?1))";
/// Leaves: an owner may go only while another owner stays.
pub const LEAVE_ORG: &str = "DELETE FROM org_members WHERE org_id = ?1 AND user_id = ?2 \
       AND (role <> 'owner' OR (SELECT COUNT(*) FROM org_members WHERE org_id = ?1 AND role = 'owner') > 1) \
       AND NOT EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?1 AND user_id = ?2 AND active = 1 \
            AND EXISTS (SELECT 1 FROM scim_tokens WHERE org_id = ?1))";
/// Transfer, step 1: the target (a member) becomes owner, if the caller is an owner.
pub const TRANSFER_PROMOTE: &str = "UPDATE org_members SET role = 'owner' WHERE org_id = ?1 AND user_id = ?2 \
       AND EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?3 AND role = 'owner') \
       AND NOT EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?1 AND user_id = ?2 AND active = 1 \
            AND EXISTS (SELECT 1 FROM scim_tokens WHERE org_id = ?1))";
/// Transfer, step 2 (same batch): the caller becomes admin, if an owner remains.
pub const TRANSFER_DEMOTE: &str =
    "UPDATE org_members SET role = 'admin' WHERE org_id = ?1 AND user_id = ?2 AND role = 'owner' \
       AND (SELECT COUNT(*) FROM org_members WHERE org_id = ?1 AND role = 'owner') > 1";
pub const INSERT_WORKSPACE_MEMBER: &str =
    "INSERT INTO workspace_members (workspace_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)";
pub const LIST_WORKSPACE_MEMBERS: &str =
    "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_enabled, u.last_active_at \
     FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ?1 \
       AND (m.joined_at, m.user_id) > (COALESCE(?2, -1), COALESCE(?3, '')) \
       AND (?5 IS NULL OR u.last_active_at IS NULL OR u.last_active_at < ?5) \
     ORDER BY m.joined_at, m.user_id LIMIT ?4";
pub const WORKSPACE_MEMBER: &str =
    "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_enabled, u.last_active_at \
     FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ?1 AND m.user_id = ?2";
/// As [`CHANGE_ROLE`]: the target still has `?4`, the workspace keeps an
/// owner, and the caller (`?5`) still has the direct role `?6` the decision was made with.
pub const CHANGE_WORKSPACE_ROLE: &str = "UPDATE workspace_members SET role = ?3 \
     WHERE workspace_id = ?1 AND user_id = ?2 AND role = ?4 \
       AND (role <> 'owner' OR ?3 = 'owner' \
            OR (SELECT COUNT(*) FROM workspace_members WHERE workspace_id = ?1 AND role = 'owner') > 1) \
       AND EXISTS (SELECT 1 FROM workspace_members WHERE workspace_id = ?1 AND user_id = ?5 AND role = ?6)";
/// Removes a non-owner whose role is still `?3`, if the caller (`?4`) still
/// has the direct role `?5` the decision was made with.
pub const REMOVE_WORKSPACE_MEMBER: &str =
    "DELETE FROM workspace_members WHERE workspace_id = ?1 AND user_id = ?2 AND role = ?3 AND role <> 'owner' \
       AND EXISTS (SELECT 1 FROM workspace_members WHERE workspace_id = ?1 AND user_id = ?4 AND role = ?5)";
pub const LEAVE_WORKSPACE: &str = "DELETE FROM workspace_members WHERE workspace_id = ?1 AND user_id = ?2 \
       AND (role <> 'owner' OR (SELECT COUNT(*) FROM workspace_members WHERE workspace_id = ?1 AND role = 'owner') > 1)";

/// Ownership transfer (orgs): the target becomes owner if the caller
/// (`from`) is one; then, in the same batch, the caller becomes admin if an
/// owner remains.
pub fn transfer_ownership(org_id: &str, to: &str, from: &str) -> (Stmt, Stmt) {
    (stmt!(TRANSFER_PROMOTE, org_id, to, from), stmt!(TRANSFER_DEMOTE, org_id, from))
}
