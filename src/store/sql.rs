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
pub const MARK_EMAIL_VERIFIED: &str =
    "UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?2), updated_at = ?2 WHERE id = ?1";
/// Counts a failed login atomically; from the 10th consecutive failure on, locks
/// the account for 30 s doubling per further failure, capped at 15 min.
pub const RECORD_LOGIN_FAILURE: &str = "UPDATE users SET failed_logins = failed_logins + 1, \
       locked_until = CASE WHEN failed_logins + 1 >= ?3 \
         THEN ?2 + MIN(?5, ?4 << MIN(failed_logins + 1 - ?3, 10)) ELSE locked_until END \
     WHERE id = ?1";
pub const RECORD_LOGIN_SUCCESS: &str = "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1";
pub const SET_PASSWORD_HASH: &str = "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1";
/// After a reset: new hash, counters cleared, and the address proven.
pub const RESET_PASSWORD: &str = "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = NULL, \
       email_verified_at = COALESCE(email_verified_at, ?3), updated_at = ?3 WHERE id = ?1";

// ---- single-use email tokens ----
/// Creates a token for the user with `email` unless 5 of that purpose were
/// created in the last hour (the per-address send limit), in one statement.
/// `?7` = 1 restricts it to unverified accounts (verification resends).
pub const INSERT_EMAIL_TOKEN_LIMITED: &str =
    "INSERT INTO email_tokens (id, user_id, purpose, token_hash, created_at, expires_at) \
     SELECT ?1, u.id, ?2, ?3, ?4, ?5 FROM users u \
     WHERE u.email = ?6 AND (?7 = 0 OR u.email_verified_at IS NULL) \
       AND (SELECT COUNT(*) FROM email_tokens t \
            WHERE t.user_id = u.id AND t.purpose = ?2 AND t.created_at > ?4 - 3600) < ?8";
pub const INSERT_EMAIL_TOKEN: &str =
    "INSERT INTO email_tokens (id, user_id, purpose, token_hash, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// Consumes a token: only one caller can ever see its row come back.
pub const CONSUME_EMAIL_TOKEN: &str = "UPDATE email_tokens SET used_at = ?1 \
     WHERE token_hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1 RETURNING user_id";
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
