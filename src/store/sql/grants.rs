//! Workspace grants to organizations, and install links.

use serde::Deserialize;

/// A grant, written only within the limits (one guarded statement, so
/// parallel requests cannot pass them together): fewer than `?5` grants of
/// the workspace in the last `?7` seconds and, by slug (`?8` = 1), fewer than
/// `?6` grants by slug to the org, and no refusal of the org's.
pub const INSERT_GRANT: &str = "INSERT INTO workspace_grants (workspace_id, org_id, granted_by, granted_at) \
     SELECT ?1, ?2, ?3, ?4 \
     WHERE (SELECT COUNT(*) FROM grant_changes WHERE workspace_id = ?1 AND changed_at > ?4 - ?7) < ?5 \
       AND (?8 = 0 OR ((SELECT COUNT(*) FROM grant_changes WHERE org_id = ?2 AND by_slug = 1 AND changed_at > ?4 - ?7) < ?6 \
         AND NOT EXISTS (SELECT 1 FROM grant_refusals WHERE org_id = ?2 AND workspace_id = ?1)))";
/// Right after [`INSERT_GRANT`]: counts the grant if it was written.
pub const LOG_GRANT_IF_CHANGED: &str = "INSERT INTO grant_changes (workspace_id, org_id, by_slug, changed_at) \
     SELECT ?1, ?2, ?3, ?4 WHERE changes() > 0";
/// Why [`INSERT_GRANT`] wrote nothing: the counts in the window, when the
/// oldest of the last `?5` (workspace) or `?6` (org) leaves it, and a refusal.
pub const GRANT_LIMITS: &str = "SELECT \
       (SELECT COUNT(*) FROM grant_changes WHERE workspace_id = ?1 AND changed_at > ?3 - ?4) AS workspace_grants, \
       (SELECT MIN(changed_at) FROM (SELECT changed_at FROM grant_changes WHERE workspace_id = ?1 \
          AND changed_at > ?3 - ?4 ORDER BY changed_at DESC LIMIT ?5)) AS workspace_oldest, \
       (SELECT COUNT(*) FROM grant_changes WHERE org_id = ?2 AND by_slug = 1 AND changed_at > ?3 - ?4) AS org_grants, \
       (SELECT MIN(changed_at) FROM (SELECT changed_at FROM grant_changes WHERE org_id = ?2 AND by_slug = 1 \
          AND changed_at > ?3 - ?4 ORDER BY changed_at DESC LIMIT ?6)) AS org_oldest, \
       EXISTS (SELECT 1 FROM grant_refusals WHERE org_id = ?2 AND workspace_id = ?1) AS refused";
/// The org relinquished the workspace: its grants by slug are refused.
pub const REFUSE_GRANTS: &str = "INSERT INTO grant_refusals (org_id, workspace_id, created_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT (org_id, workspace_id) DO NOTHING";
/// The org asked again (one of its install links was accepted).
pub const LIFT_GRANT_REFUSAL: &str = "DELETE FROM grant_refusals WHERE org_id = ?1 AND workspace_id = ?2";
/// The workspace's grants that left every window (run with each new grant,
/// so the log stays as small as the windows).
pub const PRUNE_GRANT_CHANGES: &str = "DELETE FROM grant_changes WHERE workspace_id = ?1 AND changed_at <= ?2";
pub const LIST_GRANTS: &str =
    "SELECT o.id, o.name, o.slug, g.granted_at FROM workspace_grants g JOIN orgs o ON o.id = g.org_id \
     WHERE g.workspace_id = ?1 ORDER BY g.granted_at, g.org_id LIMIT 100";
pub const DELETE_GRANT: &str = "DELETE FROM workspace_grants WHERE workspace_id = ?1 AND org_id = ?2";
/// A grant with both sides named (for the audit entries of its end).
pub const GRANT_BOTH_SIDES: &str = "SELECT o.id AS org_id, o.name AS org_name, o.slug AS org_slug, \
       w.id AS workspace_id, w.name AS workspace_name \
     FROM workspace_grants g JOIN orgs o ON o.id = g.org_id JOIN workspaces w ON w.id = g.workspace_id \
     WHERE g.workspace_id = ?1 AND g.org_id = ?2";
/// Same batch as a grant's end: pending invitations that the org's members
/// sent through the grant (without a direct admin or owner role) die with it.
pub const REVOKE_INVITATIONS_THROUGH_GRANT: &str = "UPDATE invitations SET status = 'revoked', closed_at = ?3 \
     WHERE workspace_id = ?1 AND status = 'pending' \
       AND invited_by IN (SELECT user_id FROM org_members WHERE org_id = ?2) \
       AND NOT EXISTS (SELECT 1 FROM workspace_members d WHERE d.workspace_id = ?1 \
                       AND d.user_id = invitations.invited_by AND d.role IN ('owner', 'admin'))";
pub const MANAGED_WORKSPACES: &str = "SELECT w.id, w.name, w.plan, w.created_at, g.granted_at FROM workspace_grants g \
     JOIN workspaces w ON w.id = g.workspace_id WHERE g.org_id = ?1 ORDER BY g.granted_at DESC, g.workspace_id LIMIT 100";
/// Whether the workspace is granted to the org of the key with this digest.
pub const GRANT_OF_KEY: &str = "SELECT g.workspace_id FROM workspace_grants g JOIN api_keys k ON k.org_id = g.org_id \
     WHERE g.workspace_id = ?1 AND k.key_hash = ?2";
pub const GRANT_OF_ORG: &str = "SELECT workspace_id FROM workspace_grants WHERE workspace_id = ?1 AND org_id = ?2";
pub const INSERT_INSTALL_LINK: &str =
    "INSERT INTO install_links (id, org_id, token_hash, created_by, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const LIST_INSTALL_LINKS: &str = "SELECT id, created_by, created_at, expires_at, revoked_at FROM install_links \
     WHERE org_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 100";
pub const REVOKE_INSTALL_LINK: &str =
    "UPDATE install_links SET revoked_at = ?3 WHERE id = ?1 AND org_id = ?2 AND revoked_at IS NULL";
pub const INSTALL_LINK_BY_TOKEN: &str =
    "SELECT l.id, l.org_id, l.expires_at, l.revoked_at, o.name AS org_name, o.slug AS org_slug \
     FROM install_links l JOIN orgs o ON o.id = l.org_id WHERE l.token_hash = ?1";

/// A grant with its org ([`LIST_GRANTS`]).
#[derive(Debug, Deserialize)]
pub struct GrantRow {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `slug`.
    pub slug: String,
    /// `granted_at`.
    pub granted_at: i64,
}

/// Why a grant was not written ([`GRANT_LIMITS`]).
#[derive(Debug, Deserialize)]
pub struct GrantLimits {
    /// Grants of the workspace in the window.
    pub workspace_grants: i64,
    /// When the oldest counted one was made.
    pub workspace_oldest: Option<i64>,
    /// Grants by slug to the org in the window.
    pub org_grants: i64,
    /// When the oldest counted one was made.
    pub org_oldest: Option<i64>,
    /// The org refuses grants by slug from the workspace.
    pub refused: i64,
}

/// Both sides of a grant, named ([`GRANT_BOTH_SIDES`]).
#[derive(Debug, Deserialize)]
pub struct GrantSides {
    /// `org_id`.
    pub org_id: String,
    /// `org_name`.
    pub org_name: String,
    /// `org_slug`.
    pub org_slug: String,
    /// `workspace_id`.
    pub workspace_id: String,
    /// `workspace_name`.
    pub workspace_name: String,
}

/// An install link with its org ([`INSTALL_LINK_BY_TOKEN`]).
#[derive(Debug, Deserialize)]
pub struct InstallLinkRow {
    /// `org_id`.
    pub org_id: String,
    /// `expires_at`.
    pub expires_at: i64,
    /// `revoked_at`.
    pub revoked_at: Option<i64>,
    /// `org_name`.
    pub org_name: String,
    /// `org_slug`.
    pub org_slug: String,
}

/// A workspace granted to an org ([`MANAGED_WORKSPACES`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ManagedWorkspaceRow {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `plan`.
    pub plan: String,
    /// `created_at`.
    pub created_at: i64,
    /// `granted_at`.
    pub granted_at: i64,
}

/// An install link as lists show it ([`LIST_INSTALL_LINKS`]).
#[derive(Debug, Clone, Deserialize)]
pub struct InstallLinkListRow {
    /// `id`.
    pub id: String,
    /// `created_by`.
    pub created_by: Option<String>,
    /// `created_at`.
    pub created_at: i64,
    /// `expires_at`.
    pub expires_at: i64,
    /// `revoked_at`.
    pub revoked_at: Option<i64>,
}
