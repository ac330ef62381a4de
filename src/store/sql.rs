//! Every SQL statement of the service, in one place. Writes that guard an
//! invariant do it in the statement itself (`WHERE … AND used_at IS NULL`),
//! never by reading first.

// ---- users ----
pub const INSERT_USER: &str =
    "INSERT INTO users (id, email, name, password_hash, email_verified_at, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
pub const USER_BY_EMAIL: &str =
    "SELECT id, email, name, password_hash, email_verified_at, failed_logins, locked_until, totp_enabled, created_at \
     FROM users WHERE email = ?1";
pub const USER_BY_ID: &str =
    "SELECT id, email, name, password_hash, email_verified_at, failed_logins, locked_until, totp_enabled, created_at \
     FROM users WHERE id = ?1";
pub const UPDATE_USER_NAME: &str = "UPDATE users SET name = ?2, updated_at = ?3 WHERE id = ?1 \
     RETURNING id, email, name, password_hash, email_verified_at, failed_logins, locked_until, totp_enabled, created_at";
pub const SET_PASSWORD_HASH: &str = "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1";
/// After a reset: new hash, counters cleared, and the address proven.
pub const RESET_PASSWORD: &str = "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = NULL, \
       email_verified_at = COALESCE(email_verified_at, ?3), updated_at = ?3 WHERE id = ?1";

// ---- single-use email tokens ----
/// Creates a token for the user with `email` unless 5 of that purpose were
/// created in the last hour (the per-address send limit), in one statement.
/// `?7` = 1 restricts it to unverified accounts (verification resends).
/// `?9` and `?10` are the password hash and name of the sign-up this link
/// belongs to, or NULL for a resend (whose link accepts the password of any
/// claimable sign-up).
pub const INSERT_EMAIL_TOKEN_LIMITED: &str =
    "INSERT INTO email_tokens (id, user_id, purpose, token_hash, created_at, expires_at, password_hash, name) \
     SELECT ?1, u.id, ?2, ?3, ?4, ?5, ?9, ?10 \
     FROM users u \
     WHERE u.email = ?6 AND (?7 = 0 OR u.email_verified_at IS NULL) \
       AND (SELECT COUNT(*) FROM email_tokens t \
            WHERE t.user_id = u.id AND t.purpose = ?2 AND t.created_at > ?4 - 3600) < ?8";
pub const INSERT_EMAIL_TOKEN: &str =
    "INSERT INTO email_tokens (id, user_id, purpose, token_hash, created_at, expires_at, password_hash, name) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/// Consumes a token: only one caller can ever see its row come back.
pub const CONSUME_EMAIL_TOKEN: &str = "UPDATE email_tokens SET used_at = ?1 \
     WHERE token_hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1 RETURNING user_id, password_hash";
/// A live verification link of a still unverified account, with the
/// sign-ups it can be claimed with: its own (`bound_hash`, `bound_name`), or for
/// a resend (NULL) the newest `?4` sign-ups of the last `?3` seconds, as a JSON
/// array of `{hash, name}`.
pub const VERIFY_TOKEN_CLAIM: &str = "SELECT t.id AS token_id, t.user_id, u.email, t.password_hash AS bound_hash, \
       t.name AS bound_name, \
       (SELECT json_group_array(json_object('hash', h, 'name', n)) FROM \
         (SELECT s.password_hash AS h, s.name AS n FROM email_tokens s \
          WHERE s.user_id = t.user_id AND s.purpose = 'verify_email' AND s.used_at IS NULL \
            AND s.password_hash IS NOT NULL AND s.created_at > ?2 - ?3 \
          ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?4)) AS claimable_signups \
     FROM email_tokens t JOIN users u ON u.id = t.user_id \
     WHERE t.token_hash = ?1 AND t.purpose = 'verify_email' AND t.used_at IS NULL AND t.expires_at > ?2 \
       AND u.email_verified_at IS NULL";
/// Spends a verification link, only while its account is still unverified
/// (follow with GUARD_CHANGED: a lost race rolls the whole batch back).
pub const CONSUME_VERIFY_TOKEN: &str = "UPDATE email_tokens SET used_at = ?2 \
     WHERE id = ?1 AND purpose = 'verify_email' AND used_at IS NULL AND expires_at > ?2 \
       AND EXISTS (SELECT 1 FROM users u WHERE u.id = email_tokens.user_id AND u.email_verified_at IS NULL)";
/// The first verification: the address is proven, and the password and name
/// are those of the sign-up whose password the verifier typed.
pub const VERIFY_ACCOUNT: &str = "UPDATE users SET password_hash = ?2, name = COALESCE(?4, name), \
       email_verified_at = ?3, updated_at = ?3 WHERE id = ?1 AND email_verified_at IS NULL";
/// Ends every outstanding verification and reset link of an account (after
/// verifying, a password change or a reset).
pub const END_EMAIL_TOKENS: &str = "UPDATE email_tokens SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL";
pub const EMAIL_TOKEN_FOR_MAIL: &str = "SELECT t.id, t.purpose, t.expires_at, t.used_at, u.email, u.name \
     FROM email_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?1";

// ---- sessions and refresh tokens ----
pub const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent) \
     VALUES (?1, ?2, ?3, ?3, ?4, ?5)";
pub const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)";
/// Rotates a refresh token: marks it used if it is unused and its session live.
pub const CONSUME_REFRESH_TOKEN: &str = "UPDATE refresh_tokens SET used_at = ?1 \
     WHERE token_hash = ?2 AND used_at IS NULL \
       AND session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL AND expires_at > ?1) \
     RETURNING session_id";
pub const REFRESH_TOKEN_SESSION: &str = "SELECT session_id, used_at FROM refresh_tokens WHERE token_hash = ?1";
pub const TOUCH_SESSION: &str = "UPDATE sessions SET last_used_at = ?2 WHERE id = ?1";
pub const USER_OF_SESSION: &str =
    "SELECT u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.failed_logins, \
       u.locked_until, u.totp_enabled, u.created_at \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1";
/// The per-request check behind every access token: the session is live.
pub const LIVE_SESSION_USER: &str = "SELECT u.id, u.email, u.name, u.email_verified_at, u.totp_enabled, u.created_at \
     FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3";
pub const REVOKE_SESSION: &str = "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
pub const REVOKE_OWN_SESSION: &str =
    "UPDATE sessions SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL AND expires_at > ?3";
pub const REVOKE_ALL_SESSIONS: &str = "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL";
pub const REVOKE_OTHER_SESSIONS: &str =
    "UPDATE sessions SET revoked_at = ?3 WHERE user_id = ?1 AND id <> ?2 AND revoked_at IS NULL";
/// Live sessions, newest first, keyset-paginated on (created_at, id).
pub const LIST_SESSIONS: &str = "SELECT id, created_at, last_used_at, expires_at, user_agent FROM sessions \
     WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
       AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
     ORDER BY created_at DESC, id DESC LIMIT ?5";

// ---- the email pipeline ----
pub const EMAIL_ALREADY_SENT: &str = "SELECT 1 AS sent FROM sent_emails WHERE job_id = ?1";
pub const MARK_EMAIL_SENT: &str = "INSERT OR IGNORE INTO sent_emails (job_id, sent_at) VALUES (?1, ?2)";
pub const INSERT_DEV_EMAIL: &str =
    "INSERT OR IGNORE INTO dev_emails (job_id, recipient, subject, text_body, html_body, sent_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const LIST_DEV_EMAILS: &str = "SELECT recipient, subject, text_body, html_body, sent_at FROM dev_emails \
     WHERE recipient = ?1 ORDER BY rowid LIMIT 100";

// ---- meta ----
pub const HEALTH: &str = "SELECT 1 AS ok";

// ---- organizations ----
pub const INSERT_ORG: &str = "INSERT INTO orgs (id, name, slug, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)";
pub const INSERT_MEMBER: &str = "INSERT INTO org_members (org_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)";
/// The caller's view of one org: the org with the caller's role, or no row.
pub const ORG_FOR_USER: &str = "SELECT o.id, o.name, o.slug, o.require_2fa, o.created_at, m.role \
     FROM orgs o JOIN org_members m ON m.org_id = o.id AND m.user_id = ?2 WHERE o.id = ?1";
pub const ORG_BY_ID: &str = "SELECT id, name, slug, require_2fa, created_at, '' AS role FROM orgs WHERE id = ?1";
pub const ORGS_OF_USER: &str = "SELECT o.id, o.name, o.slug, o.require_2fa, o.created_at, m.role \
     FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ?1 \
       AND (?2 IS NULL OR o.created_at < ?2 OR (o.created_at = ?2 AND o.id < ?3)) \
     ORDER BY o.created_at DESC, o.id DESC LIMIT ?4";
pub const UPDATE_ORG: &str = "UPDATE orgs SET name = COALESCE(?2, name), slug = COALESCE(?3, slug), \
       require_2fa = COALESCE(?4, require_2fa), updated_at = ?5 WHERE id = ?1";
pub const DELETE_ORG: &str = "DELETE FROM orgs WHERE id = ?1";

// ---- members ----
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

// ---- invitations ----
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

// ---- audit ----
pub const INSERT_AUDIT: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
/// An audit row written only if the statement before it in the batch changed
/// something: `changes()` is per connection and a D1 batch is one connection.
pub const INSERT_AUDIT_IF_CHANGED: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE changes() > 0";
/// Newest first by insertion order (rowid), which also orders events of one second.
pub const LIST_ORG_AUDIT: &str =
    "SELECT rowid AS seq, id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at \
     FROM audit_events WHERE org_id = ?1 AND (?2 IS NULL OR rowid < ?2) \
     ORDER BY rowid DESC LIMIT ?3";

// ---- API keys ----
/// The whole check of a presented key, and its org: one round trip.
pub const LIVE_API_KEY: &str = "SELECT k.id, k.org_id, k.name, k.scopes, k.expires_at, k.last_used_at, \
       o.name AS org_name, o.slug AS org_slug, o.require_2fa AS org_require_2fa, o.created_at AS org_created_at \
     FROM api_keys k JOIN orgs o ON o.id = k.org_id \
     WHERE k.key_hash = ?1 AND (k.revoked_at IS NULL OR k.revoked_at > ?2) AND (k.expires_at IS NULL OR k.expires_at > ?2)";
/// Off the request path, at most once a minute per key.
pub const TOUCH_API_KEY: &str = "UPDATE api_keys SET last_used_at = ?2 \
     WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60)";
pub const INSERT_API_KEY: &str =
    "INSERT INTO api_keys (id, org_id, name, key_hash, start, scopes, created_by, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
pub const API_KEY_IN_ORG: &str =
    "SELECT id, org_id, name, start, scopes, created_by, created_at, expires_at, revoked_at, last_used_at, rotated_to \
     FROM api_keys WHERE id = ?1 AND org_id = ?2";
pub const LIST_API_KEYS: &str =
    "SELECT id, org_id, name, start, scopes, created_by, created_at, expires_at, revoked_at, last_used_at, rotated_to \
     FROM api_keys WHERE org_id = ?1 AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
     ORDER BY created_at DESC, id DESC LIMIT ?4";
/// Revokes now (also cuts a rotation's grace period short).
pub const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = ?3 \
     WHERE id = ?1 AND org_id = ?2 AND (revoked_at IS NULL OR revoked_at > ?3)";
/// Rotation, step 1: the old key (live, not rotated before) ends after the grace period.
pub const ROTATE_API_KEY: &str = "UPDATE api_keys SET revoked_at = ?4, rotated_to = ?5 \
     WHERE id = ?1 AND org_id = ?2 AND rotated_to IS NULL AND revoked_at IS NULL \
       AND (expires_at IS NULL OR expires_at > ?3)";
/// Rotation, step 2 (same batch): the new key, only if step 1 happened.
pub const INSERT_ROTATED_API_KEY: &str =
    "INSERT INTO api_keys (id, org_id, name, key_hash, start, scopes, created_by, created_at, expires_at) \
     SELECT ?1, org_id, name, ?2, ?3, scopes, ?4, ?5, expires_at FROM api_keys WHERE id = ?6 AND rotated_to = ?1";

// ---- two-factor authentication ----
/// A new pending enrolment replaces an older pending one, never a confirmed one.
pub const UPSERT_PENDING_TOTP: &str =
    "INSERT INTO totp_credentials (user_id, secret_enc, created_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, created_at = excluded.created_at, \
       last_step = NULL, failed_attempts = 0, locked_until = NULL \
     WHERE totp_credentials.confirmed_at IS NULL";
pub const TOTP_CREDENTIAL: &str = "SELECT secret_enc, confirmed_at, last_step, failed_attempts, locked_until \
     FROM totp_credentials WHERE user_id = ?1";
/// Accepts a code's time step only if it is later than every accepted one:
/// the same code can never pass twice, even from parallel requests.
pub const ACCEPT_TOTP_STEP: &str =
    "UPDATE totp_credentials SET last_step = ?2, failed_attempts = 0, locked_until = NULL \
     WHERE user_id = ?1 AND (last_step IS NULL OR last_step < ?2) AND (?3 = 0 OR confirmed_at IS NOT NULL)";
pub const CONFIRM_TOTP: &str =
    "UPDATE totp_credentials SET confirmed_at = ?2 WHERE user_id = ?1 AND confirmed_at IS NULL";
pub const SET_TOTP_ENABLED: &str = "UPDATE users SET totp_enabled = ?2, updated_at = ?3 WHERE id = ?1";
pub const DELETE_TOTP: &str = "DELETE FROM totp_credentials WHERE user_id = ?1";
pub const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = ?1";
pub const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)";
pub const USE_RECOVERY_CODE: &str =
    "UPDATE recovery_codes SET used_at = ?3 WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL";
pub const INSERT_MFA_TOKEN: &str = "INSERT INTO mfa_tokens (token_hash, user_id, created_at, expires_at, user_agent) \
     VALUES (?1, ?2, ?3, ?4, ?5)";
pub const LIVE_MFA_TOKEN: &str = "SELECT user_id, failed_attempts FROM mfa_tokens \
     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2";
/// Spends the MFA token, in the same batch and only right after the statement
/// before it (the step or recovery code) changed a row.
pub const CONSUME_MFA_TOKEN_IF_CHANGED: &str = "UPDATE mfa_tokens SET used_at = ?2 \
     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND failed_attempts <= ?3 AND changes() > 0";

// ---- workspaces ----
pub const INSERT_WORKSPACE: &str = "INSERT INTO workspaces (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)";
pub const INSERT_WORKSPACE_MEMBER: &str =
    "INSERT INTO workspace_members (workspace_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)";
/// A workspace as `?2` sees it: their direct role, the first org through
/// which a grant reaches them, and the first org whose grant would reach them
/// but whose `require_2fa` they do not meet (a refusal to explain). Derived
/// on every request.
pub const WORKSPACE_FOR_USER: &str = "SELECT w.id, w.name, w.plan, w.billing_email, w.created_at, \
       (SELECT role FROM workspace_members WHERE workspace_id = w.id AND user_id = ?2) AS direct_role, \
       (SELECT o.id FROM workspace_grants g JOIN org_members m ON m.org_id = g.org_id AND m.user_id = ?2 \
          JOIN orgs o ON o.id = g.org_id JOIN users u ON u.id = m.user_id \
          WHERE g.workspace_id = w.id AND (o.require_2fa = 0 OR u.totp_enabled <> 0) \
          ORDER BY g.granted_at, o.id LIMIT 1) AS via_org_id, \
       (SELECT o.name FROM workspace_grants g JOIN org_members m ON m.org_id = g.org_id AND m.user_id = ?2 \
          JOIN orgs o ON o.id = g.org_id JOIN users u ON u.id = m.user_id \
          WHERE g.workspace_id = w.id AND (o.require_2fa = 0 OR u.totp_enabled <> 0) \
          ORDER BY g.granted_at, o.id LIMIT 1) AS via_org_name, \
       (SELECT json_object('id', o.id, 'name', o.name) FROM workspace_grants g \
          JOIN org_members m ON m.org_id = g.org_id AND m.user_id = ?2 \
          JOIN orgs o ON o.id = g.org_id JOIN users u ON u.id = m.user_id \
          WHERE g.workspace_id = w.id AND o.require_2fa <> 0 AND u.totp_enabled = 0 \
          ORDER BY g.granted_at, o.id LIMIT 1) AS needs_2fa_org \
     FROM workspaces w WHERE w.id = ?1";
pub const MY_WORKSPACES: &str = "SELECT w.id, w.name, w.plan, w.billing_email, w.created_at, m.role AS direct_role, \
       NULL AS via_org_id, NULL AS via_org_name \
     FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ?1 \
     ORDER BY w.created_at DESC, w.id DESC LIMIT 100";
/// Workspaces reached through my orgs' grants (and not directly), with the org.
pub const SHARED_WITH_ME: &str = "SELECT w.id, w.name, w.plan, w.billing_email, w.created_at, NULL AS direct_role, \
       o.id AS via_org_id, o.name AS via_org_name \
     FROM org_members m JOIN workspace_grants g ON g.org_id = m.org_id JOIN workspaces w ON w.id = g.workspace_id \
       JOIN orgs o ON o.id = g.org_id \
     WHERE m.user_id = ?1 AND NOT EXISTS (SELECT 1 FROM workspace_members d WHERE d.workspace_id = w.id AND d.user_id = ?1) \
     GROUP BY w.id ORDER BY w.created_at DESC, w.id DESC LIMIT 100";
pub const UPDATE_WORKSPACE: &str = "UPDATE workspaces SET name = ?2, updated_at = ?3 WHERE id = ?1";
pub const UPDATE_BILLING: &str = "UPDATE workspaces SET plan = ?2, billing_email = ?3, updated_at = ?4 WHERE id = ?1";
pub const DELETE_WORKSPACE_INVITATIONS: &str = "DELETE FROM invitations WHERE workspace_id = ?1";
pub const DELETE_WORKSPACE_AUDIT: &str = "DELETE FROM audit_events WHERE workspace_id = ?1 AND org_id IS NULL";
pub const DELETE_WORKSPACE: &str = "DELETE FROM workspaces WHERE id = ?1";
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

// ---- grants and install links ----
pub const ORG_BY_SLUG: &str = "SELECT id, name, slug, require_2fa, created_at, '' AS role FROM orgs WHERE slug = ?1";
pub const INSERT_GRANT: &str =
    "INSERT INTO workspace_grants (workspace_id, org_id, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)";
pub const LIST_GRANTS: &str =
    "SELECT o.id, o.name, o.slug, g.granted_at FROM workspace_grants g JOIN orgs o ON o.id = g.org_id \
     WHERE g.workspace_id = ?1 ORDER BY g.granted_at, o.id LIMIT 100";
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
     JOIN workspaces w ON w.id = g.workspace_id WHERE g.org_id = ?1 ORDER BY g.granted_at DESC, w.id LIMIT 100";
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
pub const LIST_WORKSPACE_AUDIT: &str =
    "SELECT rowid AS seq, id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at \
     FROM audit_events WHERE workspace_id = ?1 AND (?2 IS NULL OR rowid < ?2) \
     ORDER BY rowid DESC LIMIT ?3";

// ---- workspace invitations (the same table; target `workspace_id`) ----
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

// ---- batch guards ----
/// Put right after a guarded write in a batch: if that write changed no row,
/// this statement fails (`json('guard')` is malformed JSON), and D1 (like
/// SQLite) rolls the whole batch back. It turns "the first write lost a race"
/// into "nothing happened" for the statements that follow it.
pub const GUARD_CHANGED: &str = "SELECT json(CASE WHEN changes() > 0 THEN '1' ELSE 'guard' END) AS ok";
/// Counts an attempt on an MFA token before the code is checked (at most `?3`).
pub const RESERVE_MFA_ATTEMPT: &str = "UPDATE mfa_tokens SET failed_attempts = failed_attempts + 1 \
     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND failed_attempts < ?3 RETURNING user_id";

// ---- mail delivery: failures recorded from the dead-letter queue ----
/// Records an email the queue gave up on, once per job, unless it was
/// delivered after all (its sent-marker exists). A failure of an invitation
/// whose current send was already delivered is stored as resolved.
pub const RECORD_MAIL_FAILURE: &str =
    "INSERT OR IGNORE INTO mail_failures (job_id, kind, subject_id, reason, failed_at, resolved_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, \
       CASE WHEN ?2 = 'invitation' AND EXISTS \
         (SELECT 1 FROM invitations WHERE id = ?3 AND delivered_nonce = send_nonce) THEN ?5 END \
     WHERE NOT EXISTS (SELECT 1 FROM sent_emails WHERE job_id = ?1)";
/// With the sent-marker of an invitation email: the send with this nonce was
/// delivered (a resend since has a new nonce and stays undelivered).
pub const MARK_INVITATION_DELIVERED: &str =
    "UPDATE invitations SET delivered_nonce = ?2 WHERE id = ?1 AND send_nonce = ?2";
/// With the sent-marker of an invitation email: the invitation's recorded
/// failures stop showing, if its current send is the one delivered.
pub const RESOLVE_INVITATION_FAILURES: &str = "UPDATE mail_failures SET resolved_at = ?2 \
     WHERE kind = 'invitation' AND subject_id = ?1 AND resolved_at IS NULL \
       AND EXISTS (SELECT 1 FROM invitations WHERE id = ?1 AND delivered_nonce = send_nonce)";

// ---- attempt limits: login and second-factor failure counters ----
// Both counters leak: `MAX(0, count - quiet / ?decay)` is the count once every
// `?decay` seconds since the last counted attempt have forgiven one failure.
// D1 binds every number as REAL, so the quotient is CAST to an integer:
// otherwise a few quiet seconds would shave fractions off the count and the
// limit would be reached one attempt late.
// Attempts are counted before the secret is checked, in one guarded
// statement, so parallel guesses cannot slip under a limit; a success resets.

/// Counts a login attempt for an email hash (`?1`) at `?2`, unless it is
/// backing off. The `?3`th failure (after decay) starts a back-off of `?4`
/// seconds, doubled for each further one, at most `?5`; `?6` is the decay
/// step. The same for addresses with and without an account. While backing
/// off it returns no row (then read LOGIN_FAILURE_STATE in the same batch).
pub const RESERVE_LOGIN_FAILURE: &str =
    "INSERT INTO login_failures (email_hash, failures, last_failed_at, locked_until) \
     VALUES (?1, 1, ?2, CASE WHEN 1 >= ?3 THEN ?2 + ?4 END) \
     ON CONFLICT (email_hash) DO UPDATE SET \
       failures = MAX(0, login_failures.failures - CAST(MAX(0, ?2 - login_failures.last_failed_at) / ?6 AS INTEGER)) + 1, \
       last_failed_at = ?2, \
       locked_until = CASE \
         WHEN MAX(0, login_failures.failures - CAST(MAX(0, ?2 - login_failures.last_failed_at) / ?6 AS INTEGER)) + 1 >= ?3 \
         THEN ?2 + MIN(?5, ?4 << MIN(MAX(0, login_failures.failures \
                 - CAST(MAX(0, ?2 - login_failures.last_failed_at) / ?6 AS INTEGER)) + 1 - ?3, 10)) END \
     WHERE login_failures.locked_until IS NULL OR login_failures.locked_until <= ?2 \
     RETURNING failures";
/// The back-off of an email hash, read right after RESERVE_LOGIN_FAILURE.
pub const LOGIN_FAILURE_STATE: &str = "SELECT failures, locked_until FROM login_failures WHERE email_hash = ?1";
/// A successful login (or a password reset) ends the count.
pub const CLEAR_LOGIN_FAILURES: &str = "DELETE FROM login_failures WHERE email_hash = ?1";
/// Rows whose count has long decayed to nothing (a row-less address counts from zero).
pub const FORGET_LOGIN_FAILURES: &str = "DELETE FROM login_failures WHERE last_failed_at < ?1";
/// Counts a second-factor code attempt for the account (every MFA token,
/// enrolment and 2FA setting change alike), unless it is locked: the `?3`th
/// failure (after decay, step `?5`) locks it for `?4` seconds.
/// ACCEPT_TOTP_STEP resets the count.
pub const RESERVE_TOTP_ATTEMPT: &str = "UPDATE totp_credentials SET \
       failed_attempts = MAX(0, failed_attempts - CAST(MAX(0, ?2 - COALESCE(last_failed_at, ?2)) / ?5 AS INTEGER)) + 1, \
       last_failed_at = ?2, \
       locked_until = CASE WHEN MAX(0, failed_attempts - CAST(MAX(0, ?2 - COALESCE(last_failed_at, ?2)) / ?5 AS INTEGER)) + 1 >= ?3 \
         THEN ?2 + ?4 END \
     WHERE user_id = ?1 AND (locked_until IS NULL OR locked_until <= ?2)";
