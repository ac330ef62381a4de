//! Attempt limits: login and second-factor failure counters.
use crate::stmt;
use crate::store::Stmt;
use serde::Deserialize;

/// What [`RESERVE_LOGIN_FAILURE`] returns when it counted the attempt (no
/// row: the address is backing off).
#[derive(Debug, Clone, Deserialize)]
pub struct Reserved {
    /// The count, this attempt included.
    pub failures: i64,
}

/// [`LOGIN_FAILURE_STATE`]'s row.
#[derive(Debug, Clone, Deserialize)]
pub struct FailureState {
    /// The end of the current back-off, if any.
    pub locked_until: Option<i64>,
}

/// The shape of a login back-off.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Failures (after decay) that start a back-off.
    pub limit: i64,
    /// The first back-off, doubled for each further failure.
    pub base_seconds: i64,
    /// The longest back-off.
    pub max_seconds: i64,
    /// Each this many quiet seconds forgive one failure.
    pub decay_seconds: i64,
}

/// Counts a login attempt for `email_hash` (see [`RESERVE_LOGIN_FAILURE`]).
pub fn reserve_login_failure(email_hash: &str, now: i64, b: &Backoff) -> Stmt {
    stmt!(RESERVE_LOGIN_FAILURE, email_hash, now, b.limit, b.base_seconds, b.max_seconds, b.decay_seconds)
}

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
/// [`RESERVE_TOTP_ATTEMPT`] for the user of MFA token `?1`, and only right
/// after the statement before it (that token's own attempt count) changed a
/// row: the second step counts both in one round trip.
pub const RESERVE_TOTP_ATTEMPT_OF_MFA_TOKEN: &str = "UPDATE totp_credentials SET \
       failed_attempts = MAX(0, failed_attempts - CAST(MAX(0, ?2 - COALESCE(last_failed_at, ?2)) / ?5 AS INTEGER)) + 1, \
       last_failed_at = ?2, \
       locked_until = CASE WHEN MAX(0, failed_attempts - CAST(MAX(0, ?2 - COALESCE(last_failed_at, ?2)) / ?5 AS INTEGER)) + 1 >= ?3 \
         THEN ?2 + ?4 END \
     WHERE user_id = (SELECT user_id FROM mfa_tokens WHERE token_hash = ?1) AND changes() > 0 \
       AND (locked_until IS NULL OR locked_until <= ?2)";
