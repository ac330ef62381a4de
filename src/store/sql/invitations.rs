//! Invitations, to an org or a workspace (one table; target `org_id` or
//! `workspace_id`): the row type, the statements both tenants share, and one
//! table of the target-specific statements per tenant ([`ORG_INVITATIONS`],
//! [`WORKSPACE_INVITATIONS`]) whose binders fix every parameter's place.
use crate::domain::tenant::{Tenant, TenantKind};
use crate::stmt;
use crate::store::Stmt;
use serde::{Deserialize, Serialize};

/// Where the email of an invitation's current link is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// Queued or being retried (the queue backs off for hours before it gives up).
    #[default]
    Pending,
    /// The mail API accepted it.
    Sent,
    /// The queue gave up on it (a permanent refusal or retries exhausted), and
    /// no later send has been delivered yet: resend it.
    Failed,
}

/// An invitation with its inviter's and target's names.
#[derive(Debug, Clone, Deserialize)]
pub struct InvitationRow {
    /// `inv_…`
    pub id: String,
    /// The org it is to, or…
    pub org_id: Option<String>,
    /// …the workspace.
    pub workspace_id: Option<String>,
    /// The invited address.
    pub email: String,
    /// As stored (parse strictly).
    pub role: String,
    /// `pending` (unexpired), `expired`, `accepted`, `revoked` or `declined`.
    pub status: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds (the page key).
    pub created_at: i64,
    /// Who sent it (null once that account is gone, or for an API key).
    pub invited_by: Option<String>,
    /// Their name.
    pub inviter_name: Option<String>,
    /// The org's name…
    pub org_name: Option<String>,
    /// …and slug.
    pub org_slug: Option<String>,
    /// The workspace's name.
    #[serde(default)]
    pub workspace_name: Option<String>,
    /// Lists only.
    #[serde(default)]
    pub delivery: Delivery,
    /// An org invitation giving a custom role: its permissions (JSON array;
    /// `INVITATION_VIEW` only), null otherwise.
    #[serde(default)]
    pub role_permissions: Option<String>,
}

impl InvitationRow {
    /// The tenant it invites to (exactly one of `org_id`, `workspace_id`: a
    /// CHECK in the schema; anything else is an internal error).
    pub fn tenant(&self) -> Result<Tenant<'_>, crate::store::DbError> {
        match (self.org_id.as_deref(), self.workspace_id.as_deref()) {
            (Some(org), None) => Ok(Tenant::Org(org)),
            (None, Some(ws)) => Ok(Tenant::Workspace(ws)),
            _ => Err(crate::store::DbError::Decode(format!("invitation {} has no single target", self.id))),
        }
    }

    /// Whether it belongs to `tenant`.
    pub fn is_in(&self, tenant: Tenant<'_>) -> bool {
        self.org_id.as_deref() == tenant.org_id() && self.workspace_id.as_deref() == tenant.workspace_id()
    }
}

/// What [`InvitationSql::limits`] reads: why a guarded insert or resend wrote nothing.
#[derive(Debug, Clone, Deserialize)]
pub struct InvitationLimits {
    /// The address's memberships of the tenant (0 or 1).
    pub members: i64,
    /// Pending, unexpired invitations of the tenant.
    pub pending: i64,
    /// The oldest send counted against the daily allowance.
    pub oldest_counted: Option<i64>,
    /// Sends in the last 24 hours.
    pub sent_today: i64,
}

/// The target-specific invitation statements of one tenant kind.
#[derive(Debug)]
pub struct InvitationSql {
    expire_sql: &'static str,
    insert_sql: &'static str,
    limits_sql: &'static str,
    list_sql: &'static str,
    revoke_sql: &'static str,
    resend_sql: &'static str,
}

/// Org invitations.
pub const ORG_INVITATIONS: InvitationSql = InvitationSql {
    expire_sql: EXPIRE_STALE_INVITATION,
    insert_sql: INSERT_ORG_INVITATION,
    limits_sql: ORG_INVITATION_LIMITS,
    list_sql: LIST_ORG_INVITATIONS,
    revoke_sql: REVOKE_ORG_INVITATION,
    resend_sql: RESEND_ORG_INVITATION,
};

/// Workspace invitations.
pub const WORKSPACE_INVITATIONS: InvitationSql = InvitationSql {
    expire_sql: EXPIRE_STALE_WS_INVITATION,
    insert_sql: INSERT_WS_INVITATION,
    limits_sql: WS_INVITATION_LIMITS,
    list_sql: LIST_WS_INVITATIONS,
    revoke_sql: REVOKE_WS_INVITATION,
    resend_sql: RESEND_WS_INVITATION,
};

/// The table of `kind`.
pub fn invitation_sql(kind: TenantKind) -> &'static InvitationSql {
    match kind {
        TenantKind::Org => &ORG_INVITATIONS,
        TenantKind::Workspace => &WORKSPACE_INVITATIONS,
    }
}

/// A new invitation, guarded in one statement: the address is no member,
/// and the tenant is within its pending and daily-send limits.
#[derive(Debug, Clone, Copy)]
pub struct NewInvitation<'a> {
    /// `inv_…`
    pub id: &'a str,
    /// The tenant.
    pub tenant_id: &'a str,
    /// Normalised address.
    pub email: &'a str,
    /// The role it grants (a built-in name, or an org's custom role key).
    pub role: &'a str,
    /// SHA-256 of the derived token.
    pub token_hash: &'a str,
    /// The send nonce the token is derived from.
    pub nonce: &'a str,
    /// The inviting person (None: an API key).
    pub invited_by: Option<&'a str>,
    /// Now.
    pub now: i64,
    /// Expiry.
    pub expires_at: i64,
    /// Pending invitations a tenant may have.
    pub max_pending: i64,
    /// Sends a tenant may make in 24 hours.
    pub daily_sends: i64,
}

/// A resend: a new token and expiry, within the daily allowance.
#[derive(Debug, Clone, Copy)]
pub struct Resend<'a> {
    /// `inv_…`
    pub id: &'a str,
    /// The tenant.
    pub tenant_id: &'a str,
    /// SHA-256 of the new token.
    pub token_hash: &'a str,
    /// The new nonce.
    pub nonce: &'a str,
    /// New expiry.
    pub expires_at: i64,
    /// Now.
    pub now: i64,
    /// Sends a tenant may make in 24 hours.
    pub daily_sends: i64,
}

impl InvitationSql {
    /// Marks a stale pending invitation of the address expired (so a new one may be made).
    pub fn expire_stale(&self, tenant_id: &str, email: &str, now: i64) -> Stmt {
        stmt!(self.expire_sql, tenant_id, email, now)
    }

    /// The guarded insert.
    pub fn insert(&self, n: &NewInvitation<'_>) -> Stmt {
        stmt!(
            self.insert_sql,
            n.id,
            n.tenant_id,
            n.email,
            n.role,
            n.token_hash,
            n.nonce,
            n.invited_by,
            n.now,
            n.expires_at,
            n.max_pending,
            n.daily_sends
        )
    }

    /// [`InvitationLimits`] of the tenant for `email` (empty: none).
    pub fn limits(&self, tenant_id: &str, email: &str, now: i64, daily_sends: i64) -> Stmt {
        stmt!(self.limits_sql, tenant_id, email, now, daily_sends)
    }

    /// A page of [`InvitationRow`]s, newest first, optionally by status.
    pub fn list(
        &self,
        tenant_id: &str,
        now: i64,
        status: Option<&str>,
        before: Option<i64>,
        before_id: Option<String>,
        limit: i64,
    ) -> Stmt {
        stmt!(self.list_sql, tenant_id, now, status, before, before_id, limit)
    }

    /// Revokes a pending invitation of the tenant.
    pub fn revoke(&self, id: &str, tenant_id: &str, now: i64) -> Stmt {
        stmt!(self.revoke_sql, id, tenant_id, now)
    }

    /// The guarded resend.
    pub fn resend(&self, r: &Resend<'_>) -> Stmt {
        stmt!(self.resend_sql, r.id, r.tenant_id, r.token_hash, r.nonce, r.expires_at, r.now, r.daily_sends)
    }
}

pub const EXPIRE_STALE_INVITATION: &str = "UPDATE invitations SET status = 'expired', closed_at = ?3 \
     WHERE org_id = ?1 AND email = ?2 AND status = 'pending' AND expires_at <= ?3";
/// Creates an invitation unless the address is a member, the org has 100
/// pending invitations, or it sent its daily allowance, and while its role
/// (a custom one) exists (one statement).
pub const INSERT_ORG_INVITATION: &str = "INSERT INTO invitations \
       (id, org_id, email, role, token_hash, send_nonce, invited_by, created_at, expires_at, last_sent_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8 \
     WHERE (?4 IN ('owner', 'admin', 'member') OR EXISTS (SELECT 1 FROM org_roles WHERE org_id = ?2 AND key = ?4)) \
       AND NOT EXISTS (SELECT 1 FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?2 AND u.email = ?3) \
       AND (SELECT COUNT(*) FROM invitations WHERE org_id = ?2 AND status = 'pending' AND expires_at > ?8) < ?10 \
       AND (SELECT COUNT(*) FROM invitation_sends WHERE org_id = ?2 AND sent_at > ?8 - 86400) < ?11";
pub const RECORD_INVITATION_SEND: &str = "INSERT INTO invitation_sends (invitation_id, org_id, workspace_id, sent_at) \
     SELECT id, org_id, workspace_id, ?2 FROM invitations WHERE id = ?1 AND last_sent_at = ?2";
pub const ORG_INVITATION_LIMITS: &str = "SELECT \
       (SELECT COUNT(*) FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 AND u.email = ?2) AS members, \
       (SELECT COUNT(*) FROM invitations WHERE org_id = ?1 AND status = 'pending' AND expires_at > ?3) AS pending, \
       (SELECT MIN(sent_at) FROM (SELECT sent_at FROM invitation_sends WHERE org_id = ?1 AND sent_at > ?3 - 86400 \
          ORDER BY sent_at DESC LIMIT ?4)) AS oldest_counted, \
       (SELECT COUNT(*) FROM invitation_sends WHERE org_id = ?1 AND sent_at > ?3 - 86400) AS sent_today";
pub const INVITATION_VIEW: &str = "SELECT i.id, i.org_id, i.workspace_id, i.email, i.role, \
       CASE WHEN i.status = 'pending' AND i.expires_at <= ?2 THEN 'expired' ELSE i.status END AS status, \
       i.expires_at, i.created_at, i.send_nonce, i.invited_by, inv.name AS inviter_name, \
       o.name AS org_name, o.slug AS org_slug, ws.name AS workspace_name, r.permissions AS role_permissions \
     FROM invitations i LEFT JOIN users inv ON inv.id = i.invited_by LEFT JOIN orgs o ON o.id = i.org_id \
       LEFT JOIN workspaces ws ON ws.id = i.workspace_id \
       LEFT JOIN org_roles r ON r.org_id = i.org_id AND r.key = i.role \
     WHERE i.id = ?1";
pub const INVITATION_BY_TOKEN: &str = "SELECT i.id, i.org_id, i.workspace_id, i.email, i.role, \
       CASE WHEN i.status = 'pending' AND i.expires_at <= ?2 THEN 'expired' ELSE i.status END AS status, \
       i.expires_at, i.created_at, i.send_nonce, i.invited_by, inv.name AS inviter_name, \
       o.name AS org_name, o.slug AS org_slug, ws.name AS workspace_name \
     FROM invitations i LEFT JOIN users inv ON inv.id = i.invited_by LEFT JOIN orgs o ON o.id = i.org_id \
       LEFT JOIN workspaces ws ON ws.id = i.workspace_id \
     WHERE i.token_hash = ?1";
pub const LIST_ORG_INVITATIONS: &str = "SELECT i.id, i.org_id, i.workspace_id, i.email, i.role, \
       CASE WHEN i.status = 'pending' AND i.expires_at <= ?2 THEN 'expired' ELSE i.status END AS status, \
       i.expires_at, i.created_at, i.send_nonce, i.invited_by, inv.name AS inviter_name, \
       CASE WHEN i.delivered_nonce = i.send_nonce THEN 'sent' \
         WHEN EXISTS (SELECT 1 FROM mail_failures f WHERE f.kind = 'invitation' AND f.subject_id = i.id \
           AND f.resolved_at IS NULL) THEN 'failed' ELSE 'pending' END AS delivery, \
       NULL AS org_name, NULL AS org_slug \
     FROM invitations i LEFT JOIN users inv ON inv.id = i.invited_by \
     WHERE i.org_id = ?1 \
       AND (?3 IS NULL OR (CASE WHEN i.status = 'pending' AND i.expires_at <= ?2 THEN 'expired' ELSE i.status END) = ?3) \
       AND (i.created_at, i.id) < (COALESCE(?4, 9223372036854775807), COALESCE(?5, '')) \
     ORDER BY i.created_at DESC, i.id DESC LIMIT ?6";
pub const REVOKE_ORG_INVITATION: &str = "UPDATE invitations SET status = 'revoked', closed_at = ?3 \
     WHERE id = ?1 AND org_id = ?2 AND status = 'pending'";
/// Resend: a new nonce (so a new token: the old link dies) and a new expiry,
/// within the org's daily allowance.
pub const RESEND_ORG_INVITATION: &str =
    "UPDATE invitations SET token_hash = ?3, send_nonce = ?4, expires_at = ?5, last_sent_at = ?6 \
     WHERE id = ?1 AND org_id = ?2 AND status = 'pending' \
       AND (SELECT COUNT(*) FROM invitation_sends WHERE org_id = ?2 AND sent_at > ?6 - 86400) < ?7";
/// Accepts: only one caller can flip a pending, unexpired invitation for their address.
pub const ACCEPT_INVITATION: &str =
    "UPDATE invitations SET status = 'accepted', accepted_at = ?2, accepted_by = ?3, closed_at = ?2 \
     WHERE token_hash = ?1 AND status = 'pending' AND expires_at > ?2 AND email = ?4";
/// Same batch as the accept: the membership, only if this accept happened.
pub const MEMBER_FROM_INVITATION: &str =
    "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at, joined_via) \
     SELECT org_id, accepted_by, role, accepted_at, 'invitation' FROM invitations \
     WHERE token_hash = ?1 AND status = 'accepted' AND accepted_by = ?2 AND accepted_at = ?3 AND org_id IS NOT NULL";
pub const DECLINE_INVITATION: &str = "UPDATE invitations SET status = 'declined', closed_at = ?2 \
     WHERE token_hash = ?1 AND status = 'pending' AND expires_at > ?2";
/// Sign-up with an invitation: the account exists only if the invitation for that address is pending.
pub const INSERT_USER_FROM_INVITATION: &str = "INSERT INTO users (id, email, name, password_hash, email_verified_at, created_at, updated_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?5, ?5 \
     WHERE EXISTS (SELECT 1 FROM invitations WHERE token_hash = ?6 AND status = 'pending' AND expires_at > ?5 AND email = ?2)";
pub const INVITATION_FOR_MAIL: &str = "SELECT i.id, i.email, i.role, i.status, i.expires_at, i.send_nonce, \
       inv.name AS inviter_name, COALESCE(o.name, ws.name) AS org_name \
     FROM invitations i LEFT JOIN users inv ON inv.id = i.invited_by LEFT JOIN orgs o ON o.id = i.org_id \
       LEFT JOIN workspaces ws ON ws.id = i.workspace_id WHERE i.id = ?1";
pub const EXPIRE_STALE_WS_INVITATION: &str = "UPDATE invitations SET status = 'expired', closed_at = ?3 \
     WHERE workspace_id = ?1 AND email = ?2 AND status = 'pending' AND expires_at <= ?3";
pub const INSERT_WS_INVITATION: &str = "INSERT INTO invitations \
       (id, workspace_id, email, role, token_hash, send_nonce, invited_by, created_at, expires_at, last_sent_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8 \
     WHERE NOT EXISTS (SELECT 1 FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ?2 AND u.email = ?3) \
       AND (SELECT COUNT(*) FROM invitations WHERE workspace_id = ?2 AND status = 'pending' AND expires_at > ?8) < ?10 \
       AND (SELECT COUNT(*) FROM invitation_sends WHERE workspace_id = ?2 AND sent_at > ?8 - 86400) < ?11";
pub const WS_INVITATION_LIMITS: &str = "SELECT \
       (SELECT COUNT(*) FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ?1 AND u.email = ?2) AS members, \
       (SELECT COUNT(*) FROM invitations WHERE workspace_id = ?1 AND status = 'pending' AND expires_at > ?3) AS pending, \
       (SELECT MIN(sent_at) FROM (SELECT sent_at FROM invitation_sends WHERE workspace_id = ?1 AND sent_at > ?3 - 86400 \
          ORDER BY sent_at DESC LIMIT ?4)) AS oldest_counted, \
       (SELECT COUNT(*) FROM invitation_sends WHERE workspace_id = ?1 AND sent_at > ?3 - 86400) AS sent_today";
pub const LIST_WS_INVITATIONS: &str = "SELECT i.id, i.org_id, i.workspace_id, i.email, i.role, \
       CASE WHEN i.status = 'pending' AND i.expires_at <= ?2 THEN 'expired' ELSE i.status END AS status, \
       i.expires_at, i.created_at, i.send_nonce, i.invited_by, inv.name AS inviter_name, \
       CASE WHEN i.delivered_nonce = i.send_nonce THEN 'sent' \
         WHEN EXISTS (SELECT 1 FROM mail_failures f WHERE f.kind = 'invitation' AND f.subject_id = i.id \
           AND f.resolved_at IS NULL) THEN 'failed' ELSE 'pending' END AS delivery, \
       NULL AS org_name, NULL AS org_slug, NULL AS workspace_name \
     FROM invitations i LEFT JOIN users inv ON inv.id = i.invited_by \
     WHERE i.workspace_id = ?1 \
       AND (?3 IS NULL OR (CASE WHEN i.status = 'pending' AND i.expires_at <= ?2 THEN 'expired' ELSE i.status END) = ?3) \
       AND (i.created_at, i.id) < (COALESCE(?4, 9223372036854775807), COALESCE(?5, '')) \
     ORDER BY i.created_at DESC, i.id DESC LIMIT ?6";
pub const REVOKE_WS_INVITATION: &str = "UPDATE invitations SET status = 'revoked', closed_at = ?3 \
     WHERE id = ?1 AND workspace_id = ?2 AND status = 'pending'";
pub const RESEND_WS_INVITATION: &str =
    "UPDATE invitations SET token_hash = ?3, send_nonce = ?4, expires_at = ?5, last_sent_at = ?6 \
     WHERE id = ?1 AND workspace_id = ?2 AND status = 'pending' \
       AND (SELECT COUNT(*) FROM invitation_sends WHERE workspace_id = ?2 AND sent_at > ?6 - 86400) < ?7";
pub const WS_MEMBER_FROM_INVITATION: &str = "INSERT OR IGNORE INTO workspace_members (workspace_id, user_id, role, joined_at) \
     SELECT workspace_id, accepted_by, role, accepted_at FROM invitations \
     WHERE token_hash = ?1 AND status = 'accepted' AND accepted_by = ?2 AND accepted_at = ?3 AND workspace_id IS NOT NULL";

/// Counts a send (or resend) of invitation `id` at `now` against its
/// tenant's daily allowance, if the batch's write before it happened.
pub fn record_invitation_send(id: &str, now: i64) -> Stmt {
    stmt!(RECORD_INVITATION_SEND, id, now)
}
