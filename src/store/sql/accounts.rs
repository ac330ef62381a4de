//! Users and their single-use email tokens (verification, password reset).
use serde::Deserialize;

/// A user row.
#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// argon2id PHC string, if the account has a password.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// When the email was verified.
    pub email_verified_at: Option<i64>,
    /// Consecutive failed logins.
    #[serde(default)]
    pub failed_logins: i64,
    /// Back-off end.
    #[serde(default)]
    pub locked_until: Option<i64>,
    /// 2FA flag (0/1).
    pub totp_enabled: i64,
    /// Creation time.
    pub created_at: i64,
    /// When a platform administrator suspended the account (read where
    /// access is decided: `LIVE_SESSION_USER`, sign-in).
    #[serde(default)]
    pub suspended_at: Option<i64>,
    /// When a platform administrator reset the account's 2FA (until it is on again).
    #[serde(default)]
    pub totp_reset_at: Option<i64>,
}

pub const INSERT_USER: &str =
    "INSERT INTO users (id, email, name, password_hash, email_verified_at, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
pub const USER_BY_EMAIL: &str =
    "SELECT id, email, name, password_hash, email_verified_at, failed_logins, locked_until, \
       totp_enabled, created_at, suspended_at, totp_reset_at \
     FROM users WHERE email = ?1";
pub const USER_BY_ID: &str = "SELECT id, email, name, password_hash, email_verified_at, failed_logins, locked_until, \
       totp_enabled, created_at, suspended_at, totp_reset_at \
     FROM users WHERE id = ?1";
pub const UPDATE_USER_NAME: &str = "UPDATE users SET name = ?2, updated_at = ?3 WHERE id = ?1 \
     RETURNING id, email, name, password_hash, email_verified_at, failed_logins, locked_until, totp_enabled, created_at";
pub const SET_PASSWORD_HASH: &str = "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1";
/// After a reset: new hash, counters cleared, and the address proven.
pub const RESET_PASSWORD: &str = "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = NULL, \
       email_verified_at = COALESCE(email_verified_at, ?3), updated_at = ?3 WHERE id = ?1";
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
/// The address of an email token's account (read in the batch that spends it).
pub const EMAIL_OF_EMAIL_TOKEN: &str =
    "SELECT u.email FROM email_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1";
/// A live token's user, read without spending it.
pub const PEEK_EMAIL_TOKEN: &str = "SELECT user_id FROM email_tokens \
     WHERE token_hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1";
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
       , u.totp_enabled \
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

/// A consumed single-use token: its user ([`CONSUME_EMAIL_TOKEN`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ConsumedEmailToken {
    /// `user_id`.
    pub user_id: String,
}

/// A live verification link and the sign-ups it can be claimed with ([`VERIFY_TOKEN_CLAIM`]).
#[derive(Debug, Clone, Deserialize)]
pub struct VerifyClaim {
    /// `token_id`.
    pub token_id: String,
    /// `user_id`.
    pub user_id: String,
    /// `email`.
    pub email: String,
    /// `bound_hash`.
    pub bound_hash: Option<String>,
    /// `bound_name`.
    pub bound_name: Option<String>,
    /// `claimable_signups`.
    pub claimable_signups: Option<String>,
    /// `totp_enabled` of the account.
    #[serde(default)]
    pub totp_enabled: i64,
}

/// A sign-up a verification can claim: the password chosen and the name.
#[derive(Debug, Clone, Deserialize)]
pub struct ClaimableSignup {
    /// `hash`.
    pub hash: String,
    /// `name`.
    pub name: Option<String>,
}
