//! Platform administrators (migration 0022): suspension, 2FA reset, and
//! their own audit log.

use serde::Deserialize;

pub const ADMIN_USER_BY_EMAIL: &str = "SELECT id, email, name, email_verified_at, totp_enabled, created_at, \
       suspended_at, totp_reset_at FROM users WHERE email = ?1";
pub const ADMIN_USER_BY_ID: &str = "SELECT id, email, name, email_verified_at, totp_enabled, created_at, \
       suspended_at, totp_reset_at FROM users WHERE id = ?1";
/// A person's orgs and roles (found by the person's address `?1`): all an
/// administrator sees of their orgs.
pub const ADMIN_ORGS_OF_EMAIL: &str = "SELECT o.id, o.name, o.slug, m.role, m.joined_at \
     FROM users u JOIN org_members m ON m.user_id = u.id JOIN orgs o ON o.id = m.org_id \
     WHERE u.email = ?1 ORDER BY m.joined_at LIMIT 500";
pub const SUSPEND_USER: &str = "UPDATE users SET suspended_at = ?2 WHERE id = ?1 AND suspended_at IS NULL";
pub const UNSUSPEND_USER: &str = "UPDATE users SET suspended_at = NULL WHERE id = ?1 AND suspended_at IS NOT NULL";
/// 2FA off with the reset's time kept (its credential and recovery codes
/// are deleted in the same batch; every session ends).
pub const RESET_USER_TOTP: &str =
    "UPDATE users SET totp_enabled = 0, totp_reset_at = ?2, updated_at = ?2 WHERE id = ?1";
/// Enrolling again ends the reset's notice.
pub const CLEAR_TOTP_RESET: &str = "UPDATE users SET totp_reset_at = NULL WHERE id = ?1 AND totp_reset_at IS NOT NULL";
pub const INSERT_PLATFORM_AUDIT: &str = "INSERT INTO platform_audit_events \
     (id, admin_id, admin_email, action, user_id, user_email, data, occurred_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
pub const LIST_PLATFORM_AUDIT: &str =
    "SELECT id, admin_id, admin_email, action, user_id, user_email, data, occurred_at \
     FROM platform_audit_events ORDER BY occurred_at DESC, id DESC LIMIT 100";

/// An org of the person an administrator looks up ([`ADMIN_ORGS_OF_EMAIL`]).
#[derive(Debug, Clone, Deserialize)]
pub struct AdminOrgRow {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `slug`.
    pub slug: String,
    /// `role`.
    pub role: String,
    /// `joined_at`.
    pub joined_at: i64,
}

/// A platform audit row ([`LIST_PLATFORM_AUDIT`]).
#[derive(Debug, Clone, Deserialize)]
pub struct PlatformAuditRow {
    /// `id`.
    pub id: String,
    /// `admin_id`.
    pub admin_id: String,
    /// `admin_email`.
    pub admin_email: String,
    /// `action`.
    pub action: String,
    /// `user_id`.
    pub user_id: String,
    /// `user_email`.
    pub user_email: String,
    /// `data` (JSON).
    pub data: String,
    /// `occurred_at`.
    pub occurred_at: i64,
}
