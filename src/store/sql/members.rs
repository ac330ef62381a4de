//! Memberships of both tenants (org and workspace).

pub const INSERT_MEMBER: &str = "INSERT INTO org_members (org_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)";
pub const LIST_MEMBERS: &str = "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_enabled \
     FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 \
       AND (?2 IS NULL OR m.joined_at > ?2 OR (m.joined_at = ?2 AND m.user_id > ?3)) \
     ORDER BY m.joined_at, m.user_id LIMIT ?4";
pub const MEMBER: &str = "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_enabled \
     FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 AND m.user_id = ?2";
/// Changes a role if it is still what the caller decided on (`?4`), and never
/// leaves the org without an owner: one statement, so two owners demoting
/// each other at once cannot both succeed.
pub const CHANGE_ROLE: &str = "UPDATE org_members SET role = ?3 \
     WHERE org_id = ?1 AND user_id = ?2 AND role = ?4 \
       AND (role <> 'owner' OR ?3 = 'owner' \
            OR (SELECT COUNT(*) FROM org_members WHERE org_id = ?1 AND role = 'owner') > 1) \
       AND (?5 IS NULL OR EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?5 AND role = ?6))";
/// Removes a non-owner whose role is still `?3`, if the acting person (`?4`,
/// NULL for an API key) still has the role `?5` the decision was made with.
pub const REMOVE_MEMBER: &str =
    "DELETE FROM org_members WHERE org_id = ?1 AND user_id = ?2 AND role = ?3 AND role <> 'owner' \
       AND (?4 IS NULL OR EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?4 AND role = ?5))";
/// Leaves: an owner may go only while another owner stays.
pub const LEAVE_ORG: &str = "DELETE FROM org_members WHERE org_id = ?1 AND user_id = ?2 \
       AND (role <> 'owner' OR (SELECT COUNT(*) FROM org_members WHERE org_id = ?1 AND role = 'owner') > 1)";
pub const COUNT_OWNERS: &str = "SELECT COUNT(*) AS n FROM org_members WHERE org_id = ?1 AND role = 'owner'";
/// Transfer, step 1: the target (a member) becomes owner, if the caller is an owner.
pub const TRANSFER_PROMOTE: &str = "UPDATE org_members SET role = 'owner' WHERE org_id = ?1 AND user_id = ?2 \
       AND EXISTS (SELECT 1 FROM org_members WHERE org_id = ?1 AND user_id = ?3 AND role = 'owner')";
/// Transfer, step 2 (same batch): the caller becomes admin, if an owner remains.
pub const TRANSFER_DEMOTE: &str =
    "UPDATE org_members SET role = 'admin' WHERE org_id = ?1 AND user_id = ?2 AND role = 'owner' \
       AND (SELECT COUNT(*) FROM org_members WHERE org_id = ?1 AND role = 'owner') > 1";
pub const INSERT_WORKSPACE_MEMBER: &str =
    "INSERT INTO workspace_members (workspace_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)";
pub const LIST_WORKSPACE_MEMBERS: &str = "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_enabled \
     FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ?1 \
       AND (?2 IS NULL OR m.joined_at > ?2 OR (m.joined_at = ?2 AND m.user_id > ?3)) \
     ORDER BY m.joined_at, m.user_id LIMIT ?4";
pub const WORKSPACE_MEMBER: &str = "SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_enabled \
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
