//! Customer workspaces.

use serde::Deserialize;

pub const INSERT_WORKSPACE: &str = "INSERT INTO workspaces (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)";
/// A workspace as `?2` sees it: their direct role, and from the
/// `workspace_reach_first` view (migration 0033) the first org through which
/// a grant reaches them and the first whose 2FA rule they do not meet (a
/// refusal to explain). Derived on every request.
pub const WORKSPACE_FOR_USER: &str = "SELECT w.id, w.name, w.plan, w.billing_email, w.created_at, \
       (SELECT role FROM workspace_members WHERE workspace_id = w.id AND user_id = ?2) AS direct_role, \
       f.via_org_id, f.via_org_name, f.needs_2fa_org \
     FROM workspaces w LEFT JOIN workspace_reach_first f ON f.workspace_id = ?1 AND f.user_id = ?2 \
     WHERE w.id = ?1";
pub const MY_WORKSPACES: &str = "SELECT w.id, w.name, w.plan, w.billing_email, w.created_at, m.role AS direct_role, \
       NULL AS via_org_id, NULL AS via_org_name \
     FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ?1 \
     ORDER BY w.created_at DESC, w.id DESC LIMIT 100";
/// Workspaces reached through my orgs' grants (and not directly), each with
/// what [`WORKSPACE_FOR_USER`] reads from `workspace_reach_first` (where only
/// orgs whose 2FA rule I do not meet reach me, the list names the workspace
/// by id only).
pub const SHARED_WITH_ME: &str = "SELECT w.id, w.name, w.plan, w.billing_email, w.created_at, NULL AS direct_role, \
       f.via_org_id, f.via_org_name, f.needs_2fa_org \
     FROM workspace_reach_first f JOIN workspaces w ON w.id = f.workspace_id \
     WHERE f.user_id = ?1 \
       AND NOT EXISTS (SELECT 1 FROM workspace_members d WHERE d.workspace_id = w.id AND d.user_id = ?1) \
     ORDER BY w.created_at DESC, w.id DESC LIMIT 100";
pub const UPDATE_WORKSPACE: &str = "UPDATE workspaces SET name = ?2, updated_at = ?3 WHERE id = ?1";
pub const UPDATE_BILLING: &str = "UPDATE workspaces SET plan = ?2, billing_email = ?3, updated_at = ?4 WHERE id = ?1";
pub const DELETE_WORKSPACE_INVITATIONS: &str = "DELETE FROM invitations WHERE workspace_id = ?1";
pub const DELETE_WORKSPACE_AUDIT: &str = "DELETE FROM audit_events WHERE workspace_id = ?1 AND org_id IS NULL";
pub const DELETE_WORKSPACE: &str = "DELETE FROM workspaces WHERE id = ?1";

/// A workspace as one person sees it ([`sql::WORKSPACE_FOR_USER`]).
#[derive(Debug, Clone, Deserialize)]
pub struct WorkspaceRow {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `plan`.
    pub plan: String,
    /// `billing_email`.
    pub billing_email: Option<String>,
    /// `created_at`.
    pub created_at: i64,
    /// `direct_role`.
    pub direct_role: Option<String>,
    /// `via_org_id`.
    pub via_org_id: Option<String>,
    /// `via_org_name`.
    pub via_org_name: Option<String>,
    /// `{id, name}` of an org whose grant reaches the person but whose
    /// `require_2fa` they do not meet (JSON, from [`sql::WORKSPACE_FOR_USER`]).
    #[serde(default)]
    pub needs_2fa_org: Option<String>,
}
