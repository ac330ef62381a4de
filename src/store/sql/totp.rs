//! Two-factor authentication: TOTP credentials, recovery codes, MFA tokens.

use serde::Deserialize;

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
/// Seals the secret again under the current key (`domain::sealed`), unless
/// it changed since it was read.
pub const RESEAL_TOTP_SECRET: &str =
    "UPDATE totp_credentials SET secret_enc = ?2 WHERE user_id = ?1 AND secret_enc = ?3";
pub const CONFIRM_TOTP: &str =
    "UPDATE totp_credentials SET confirmed_at = ?2 WHERE user_id = ?1 AND confirmed_at IS NULL";
pub const SET_TOTP_ENABLED: &str = "UPDATE users SET totp_enabled = ?2, updated_at = ?3 WHERE id = ?1";
pub const DELETE_TOTP: &str = "DELETE FROM totp_credentials WHERE user_id = ?1";
pub const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = ?1";
pub const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)";
pub const USE_RECOVERY_CODE: &str =
    "UPDATE recovery_codes SET used_at = ?3 WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL";
/// `?6`: how the first step went (`password`, `oauth:github`, …); the session
/// the second step opens records it.
pub const INSERT_MFA_TOKEN: &str =
    "INSERT INTO mfa_tokens (token_hash, user_id, created_at, expires_at, user_agent, method) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const LIVE_MFA_TOKEN: &str = "SELECT user_id, failed_attempts FROM mfa_tokens \
     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2";
/// Spends the MFA token, in the same batch and only right after the statement
/// before it (the step or recovery code) changed a row.
pub const CONSUME_MFA_TOKEN_IF_CHANGED: &str = "UPDATE mfa_tokens SET used_at = ?2 \
     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND failed_attempts <= ?3 AND changes() > 0";
/// Counts an attempt on an MFA token before the code is checked (at most `?3`).
pub const RESERVE_MFA_ATTEMPT: &str = "UPDATE mfa_tokens SET failed_attempts = failed_attempts + 1 \
     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND failed_attempts < ?3 RETURNING user_id, method";

/// The TOTP credential of an MFA token's user (the second step reads it in
/// the same batch as its attempt count).
pub const TOTP_CREDENTIAL_OF_MFA_TOKEN: &str =
    "SELECT c.secret_enc, c.confirmed_at, c.last_step, c.failed_attempts, c.locked_until \
     FROM mfa_tokens t JOIN totp_credentials c ON c.user_id = t.user_id WHERE t.token_hash = ?1";
/// The user of an MFA token (the columns of `USER_BY_ID`).
pub const USER_OF_MFA_TOKEN: &str =
    "SELECT u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.failed_logins, u.locked_until, \
       u.totp_enabled, u.created_at FROM mfa_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1";

/// A TOTP credential ([`TOTP_CREDENTIAL`]).
#[derive(Debug, Clone, Deserialize)]
pub struct TotpCredential {
    /// `secret_enc`.
    pub secret_enc: String,
    /// `confirmed_at`.
    pub confirmed_at: Option<i64>,
    /// `last_step`.
    pub last_step: Option<i64>,
    /// `failed_attempts`.
    pub failed_attempts: i64,
    /// `locked_until`.
    pub locked_until: Option<i64>,
}

/// The user of a live MFA token ([`LIVE_MFA_TOKEN`]).
#[derive(Debug, Clone, Deserialize)]
pub struct MfaTokenUser {
    /// `user_id`.
    pub user_id: String,
}

/// An MFA token whose attempt was counted ([`RESERVE_MFA_ATTEMPT`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ReservedMfaToken {
    /// `user_id`.
    pub user_id: String,
    /// `method`: how the first step went.
    pub method: String,
}
