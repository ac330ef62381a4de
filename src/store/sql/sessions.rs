//! Sessions and refresh tokens, and the per-request session check.

use serde::Deserialize;

/// `?6`: how it began (`password`, `oauth:github`, `device`, …), and `?7`
/// the client that asked for it (the device flow's `client_name`), shown in
/// the session list.
pub const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, method, client_name) \
     VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)";
pub const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)";
/// Rotates a refresh token: marks it used if it is unused and its session live.
pub const CONSUME_REFRESH_TOKEN: &str = "UPDATE refresh_tokens SET used_at = ?1 \
     WHERE token_hash = ?2 AND used_at IS NULL \
       AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL AND s.expires_at > ?1 AND u.suspended_at IS NULL) \
     RETURNING session_id";
/// Why [`CONSUME_REFRESH_TOKEN`] spent nothing: the token's session, whether
/// it was used, and whether its account is suspended (then nothing is
/// spent, and unsuspending lets the same token rotate again).
pub const REFRESH_TOKEN_SESSION: &str = "SELECT r.session_id, r.used_at, u.suspended_at \
     FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id \
     WHERE r.token_hash = ?1";
pub const TOUCH_SESSION: &str = "UPDATE sessions SET last_used_at = ?2 WHERE id = ?1";
pub const USER_OF_SESSION: &str =
    "SELECT u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.failed_logins, \
       u.locked_until, u.totp_enabled, u.created_at \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1";
/// The per-request check behind every access token: the session is live.
pub const LIVE_SESSION_USER: &str = "SELECT u.id, u.email, u.name, u.email_verified_at, u.totp_enabled, u.created_at, \
       u.suspended_at, u.totp_reset_at \
     FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3";
pub const REVOKE_SESSION: &str = "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
/// Browser logout: ends the session a refresh token (used or not) belongs to, in one statement.
pub const REVOKE_SESSION_OF_REFRESH_TOKEN: &str = "UPDATE sessions SET revoked_at = ?2 \
     WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = ?1) AND revoked_at IS NULL";
pub const REVOKE_OWN_SESSION: &str =
    "UPDATE sessions SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL AND expires_at > ?3";
pub const REVOKE_ALL_SESSIONS: &str = "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL";
pub const REVOKE_OTHER_SESSIONS: &str =
    "UPDATE sessions SET revoked_at = ?3 WHERE user_id = ?1 AND id <> ?2 AND revoked_at IS NULL";
/// Live sessions, newest first, keyset-paginated on (created_at, id).
pub const LIST_SESSIONS: &str =
    "SELECT id, created_at, last_used_at, expires_at, user_agent, method, client_name FROM sessions \
     WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
       AND (created_at, id) < (COALESCE(?3, 9223372036854775807), COALESCE(?4, '')) \
     ORDER BY created_at DESC, id DESC LIMIT ?5";

/// A live session ([`LIST_SESSIONS`]).
#[derive(Debug, Clone, Deserialize)]
pub struct SessionRow {
    /// `id`.
    pub id: String,
    /// `created_at`.
    pub created_at: i64,
    /// `last_used_at`.
    pub last_used_at: i64,
    /// `expires_at`.
    pub expires_at: i64,
    /// `user_agent`.
    pub user_agent: Option<String>,
    /// `method`: `password`, `oauth:<provider>` or `device`.
    pub method: String,
    /// `client_name`: the device flow's client.
    #[serde(default)]
    pub client_name: Option<String>,
}

/// A rotated refresh token's session ([`CONSUME_REFRESH_TOKEN`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ConsumedRefresh {
    /// `session_id`.
    pub session_id: String,
}

/// A refresh token's session and whether it was used ([`REFRESH_TOKEN_SESSION`]).
#[derive(Debug, Clone, Deserialize)]
pub struct RefreshTokenState {
    /// `session_id`.
    pub session_id: String,
    /// `used_at`.
    pub used_at: Option<i64>,
    /// The account's suspension.
    #[serde(default)]
    pub suspended_at: Option<i64>,
}
