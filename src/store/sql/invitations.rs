//! Invitations, to an org or a workspace (one table; target `org_id` or `workspace_id`).

pub const EXPIRE_STALE_INVITATION: &str = "UPDATE invitations SET status = 'expired', closed_at = ?3 \
     WHERE org_id = ?1 AND email = ?2 AND status = 'pending' AND expires_at <= ?3";
/// Creates an invitation unless the address is a member, the org has 100
/// pending invitations, or it sent its daily allowance (one statement).
pub const INSERT_ORG_INVITATION: &str = "INSERT INTO invitations \
       (id, org_id, email, role, token_hash, send_nonce, invited_by, created_at, expires_at, last_sent_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8 \
     WHERE NOT EXISTS (SELECT 1 FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?2 AND u.email = ?3) \
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
       o.name AS org_name, o.slug AS org_slug, ws.name AS workspace_name \
     FROM invitations i LEFT JOIN users inv ON inv.id = i.invited_by LEFT JOIN orgs o ON o.id = i.org_id \
       LEFT JOIN workspaces ws ON ws.id = i.workspace_id \
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
       AND (?4 IS NULL OR i.created_at < ?4 OR (i.created_at = ?4 AND i.id < ?5)) \
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
pub const MEMBER_FROM_INVITATION: &str = "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at) \
     SELECT org_id, accepted_by, role, accepted_at FROM invitations \
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
       AND (?4 IS NULL OR i.created_at < ?4 OR (i.created_at = ?4 AND i.id < ?5)) \
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
