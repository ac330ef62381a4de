//! Sign-in with GitHub, Google and GitLab (`app::oauth`): flows, login codes,
//! linked identities, and a person's own security log.

use serde::Deserialize;

// ---- flows and login codes ----
/// Expired flows and login codes are deleted as new flows start.
pub const FORGET_OAUTH_STATES: &str = "DELETE FROM oauth_states WHERE expires_at < ?1";
pub const FORGET_LOGIN_CODES: &str = "DELETE FROM oauth_login_codes WHERE expires_at < ?1";
pub const INSERT_OAUTH_STATE: &str = "INSERT INTO oauth_states \
       (state_hash, browser_hash, provider, redirect_uri, link_user_id, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
/// Consumes a flow: only the browser holding its cookie, for the provider
/// whose callback this is, once, within 10 minutes.
pub const CONSUME_OAUTH_STATE: &str = "UPDATE oauth_states SET used_at = ?4 \
     WHERE state_hash = ?1 AND browser_hash = ?2 AND provider = ?3 AND used_at IS NULL AND expires_at > ?4 \
     RETURNING redirect_uri, link_user_id";
pub const INSERT_LOGIN_CODE: &str = "INSERT INTO oauth_login_codes \
       (code_hash, provider, issuer, subject, email, email_verified, name, link_user_id, created_at, expires_at, \
        browser_hash) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
/// Consumes a login code once, within its 60 seconds, in the browser that ran
/// its flow (`?3`, the flow cookie's digest). Any other browser spends nothing.
pub const CONSUME_LOGIN_CODE: &str = "UPDATE oauth_login_codes SET used_at = ?2 \
     WHERE code_hash = ?1 AND browser_hash = ?3 AND used_at IS NULL AND expires_at > ?2 \
     RETURNING provider, issuer, subject, email, email_verified, name, link_user_id";
/// What a live login code would do, read without spending it (same browser rule
/// as [`CONSUME_LOGIN_CODE`]).
pub const PEEK_LOGIN_CODE: &str = "SELECT provider, issuer, subject, email, email_verified, name, link_user_id \
     FROM oauth_login_codes \
     WHERE code_hash = ?1 AND browser_hash = ?3 AND used_at IS NULL AND expires_at > ?2";

/// The user a login code's identity signs in as, read in the same batch as
/// the code is spent (a [`super::UserRow`]).
pub const USER_BY_LOGIN_CODE: &str =
    "SELECT u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.failed_logins, u.locked_until, \
       u.totp_enabled, u.created_at, u.suspended_at \
     FROM oauth_login_codes c \
     JOIN oauth_identities i ON i.provider = c.provider AND i.issuer = c.issuer AND i.subject = c.subject \
     JOIN users u ON u.id = i.user_id WHERE c.code_hash = ?1";
/// The account holding a login code's email address, read in the same batch
/// (used only when the provider verified the address).
pub const HOLDER_OF_LOGIN_CODE_EMAIL: &str =
    "SELECT u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.failed_logins, u.locked_until, \
       u.totp_enabled, u.created_at, u.suspended_at \
     FROM oauth_login_codes c JOIN users u ON u.email = c.email WHERE c.code_hash = ?1";

// ---- identities ----
/// The user a provider identity signs in as (a [`super::UserRow`]).
pub const USER_BY_IDENTITY: &str =
    "SELECT u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.failed_logins, u.locked_until, \
       u.totp_enabled, u.created_at \
     FROM oauth_identities i JOIN users u ON u.id = i.user_id \
     WHERE i.provider = ?1 AND i.issuer = ?2 AND i.subject = ?3";
pub const TOUCH_IDENTITY: &str = "UPDATE oauth_identities SET last_used_at = ?4, email = COALESCE(?5, email) \
     WHERE provider = ?1 AND issuer = ?2 AND subject = ?3";
/// Links an identity to a user whose address is verified (a sign-in through
/// a provider-verified email, or a link from settings).
pub const INSERT_IDENTITY_FOR_VERIFIED: &str = "INSERT INTO oauth_identities \
       (provider, issuer, subject, user_id, email, created_at, last_used_at) \
     SELECT ?1, ?2, ?3, id, ?5, ?6, ?6 FROM users WHERE id = ?4 AND email_verified_at IS NOT NULL";
pub const INSERT_IDENTITY: &str = "INSERT INTO oauth_identities \
       (provider, issuer, subject, user_id, email, created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
/// A new account from a provider-verified address: verified, no password.
pub const INSERT_OAUTH_USER: &str =
    "INSERT INTO users (id, email, name, password_hash, email_verified_at, created_at, updated_at) \
     VALUES (?1, ?2, ?3, NULL, ?4, ?4, ?4)";
/// The provider-verified owner of an address claims the unverified account
/// holding it (pre-account takeover): the pending password, the login
/// back-off and any second factor go; the address is now verified. Guarded
/// on the account still being unverified (follow with GUARD_CHANGED).
pub const CLAIM_UNVERIFIED_ACCOUNT: &str = "UPDATE users SET password_hash = NULL, email_verified_at = ?2, \
       failed_logins = 0, locked_until = NULL, totp_enabled = 0, name = COALESCE(?3, name), updated_at = ?2 \
     WHERE id = ?1 AND email_verified_at IS NULL";
pub const END_MFA_TOKENS_OF_USER: &str = "UPDATE mfa_tokens SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL";
/// A person's linked providers, oldest link first.
pub const LIST_IDENTITIES: &str = "SELECT provider, issuer, email, created_at, last_used_at FROM oauth_identities \
     WHERE user_id = ?1 ORDER BY created_at, provider";
/// A person's providers linked after `?2` (a password reset's look-back) to
/// the account as it already was, oldest first. The identity an account was
/// made with (linked in the same instant) is its origin, not an addition.
pub const RECENT_IDENTITIES: &str = "SELECT provider, issuer, email, created_at, last_used_at FROM oauth_identities \
     WHERE user_id = ?1 AND created_at > ?2 AND created_at > (SELECT created_at FROM users WHERE id = ?1) \
     ORDER BY created_at, provider";
/// A password reset ends the ways in linked after `?2` (a thief's, perhaps),
/// as [`RECENT_IDENTITIES`] lists them, but the providers the person chose to
/// keep: `?3` is `,github,google,` (comma-wrapped names; `,` for none).
pub const DELETE_RECENT_IDENTITIES: &str = "DELETE FROM oauth_identities WHERE user_id = ?1 AND created_at > ?2 \
       AND created_at > (SELECT created_at FROM users WHERE id = ?1) \
       AND instr(?3, ',' || provider || ',') = 0";
/// The address a linked provider last gave (for the "linked" email).
pub const IDENTITY_FOR_MAIL: &str = "SELECT u.email, u.name, i.email AS identity_email \
     FROM users u LEFT JOIN oauth_identities i ON i.user_id = u.id AND i.provider = ?2 WHERE u.id = ?1";
pub const IDENTITY_OF_USER: &str = "SELECT provider FROM oauth_identities WHERE user_id = ?1 AND provider = ?2";
/// Unlinks, unless it is the last way to sign in: no password and no other
/// identity. One statement, so two unlinks at once cannot both pass.
pub const DELETE_IDENTITY_UNLESS_LAST: &str = "DELETE FROM oauth_identities WHERE user_id = ?1 AND provider = ?2 \
       AND (EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_hash IS NOT NULL) \
            OR (SELECT COUNT(*) FROM oauth_identities WHERE user_id = ?1) > 1)";

// ---- sessions ----
/// When the caller's session signed in (refreshes keep it).
pub const SESSION_SIGNED_IN_AT: &str =
    "SELECT created_at FROM sessions WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL";

// ---- a person's security log ----
/// Events about a user outside any org or workspace, newest first (rows are
/// [`super::AuditRow`]s).
pub const LIST_USER_AUDIT: &str =
    "SELECT rowid AS seq, id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at \
     FROM audit_events WHERE target_kind = 'user' AND target_id = ?1 AND org_id IS NULL AND workspace_id IS NULL \
       AND rowid < COALESCE(?2, 9223372036854775807) ORDER BY rowid DESC LIMIT ?3";

/// A consumed flow ([`CONSUME_OAUTH_STATE`]).
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthFlowRow {
    /// `redirect_uri`: the allowed page the flow returns to.
    pub redirect_uri: String,
    /// `link_user_id`: set when linking from settings.
    pub link_user_id: Option<String>,
}

/// A consumed login code: who signed in at the provider ([`CONSUME_LOGIN_CODE`]).
#[derive(Debug, Clone, Deserialize)]
pub struct LoginCodeRow {
    /// `provider`.
    pub provider: String,
    /// `issuer`.
    pub issuer: String,
    /// `subject`.
    pub subject: String,
    /// `email`.
    pub email: Option<String>,
    /// `email_verified` (0 or 1).
    pub email_verified: i64,
    /// `name`.
    pub name: Option<String>,
    /// `link_user_id`: set for a link from settings.
    pub link_user_id: Option<String>,
}

/// A linked provider ([`LIST_IDENTITIES`]).
#[derive(Debug, Clone, Deserialize)]
pub struct IdentityRow {
    /// `provider`.
    pub provider: String,
    /// `issuer`.
    pub issuer: String,
    /// `email`.
    pub email: Option<String>,
    /// `created_at`.
    pub created_at: i64,
    /// `last_used_at`.
    pub last_used_at: Option<i64>,
}

/// A provider linked to a user ([`IDENTITY_OF_USER`]).
#[derive(Debug, Clone, Deserialize)]
pub struct LinkedProviderRow {
    /// `provider`.
    pub provider: String,
}

/// When a session signed in ([`SESSION_SIGNED_IN_AT`]).
#[derive(Debug, Clone, Deserialize)]
pub struct SessionSignedInRow {
    /// `created_at`.
    pub created_at: i64,
}
