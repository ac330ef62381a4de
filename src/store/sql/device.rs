//! The device authorization grant (RFC 8628): requests, the console's
//! decision, polling and single-use redemption. The transitions are
//! `domain::device`'s (`poll`, `after_poll`), written as guarded statements.

use serde::Deserialize;

/// Frees a user code whose request expired (a new request drew the same
/// letters before the sweep removed the old row).
pub const FORGET_EXPIRED_USER_CODE: &str =
    "DELETE FROM device_authorizations WHERE user_code_hash = ?1 AND expires_at <= ?2";
/// A new request; a user code that is still live elsewhere inserts nothing
/// (the caller draws another).
pub const INSERT_DEVICE_AUTHORIZATION: &str = "INSERT INTO device_authorizations \
       (id, device_code_hash, user_code_hash, client_name, requested_ip, requested_user_agent, status, \
        poll_interval, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8, ?9) ON CONFLICT DO NOTHING";

/// A poll's view of the request, as it stands before the poll's writes
/// (read first in the same batch).
pub const DEVICE_POLL_STATE: &str = "SELECT status, poll_interval, last_polled_at, expires_at, client_name, user_id \
     FROM device_authorizations WHERE device_code_hash = ?1";
/// Redeems an approved request polled in time (`domain::device::poll`
/// answers `Redeem`), once: the status moves to `redeemed` in this one
/// statement, so of two polls at once only one changes a row. A suspended
/// approver's request is not spent.
pub const REDEEM_DEVICE_AUTHORIZATION: &str = "UPDATE device_authorizations SET status = 'redeemed', \
       redeemed_at = ?2, last_polled_at = ?2 \
     WHERE device_code_hash = ?1 AND status = 'approved' AND expires_at > ?2 \
       AND (last_polled_at IS NULL OR ?2 >= last_polled_at + poll_interval) \
       AND EXISTS (SELECT 1 FROM users u WHERE u.id = device_authorizations.user_id AND u.suspended_at IS NULL)";
/// A poll's bookkeeping (`domain::device::after_poll`): its time, and a
/// poll sooner than the interval grows the interval by `?3`. Spent and
/// expired requests do not change.
pub const RECORD_DEVICE_POLL: &str = "UPDATE device_authorizations SET \
       poll_interval = CASE WHEN last_polled_at IS NOT NULL AND ?2 < last_polled_at + poll_interval \
         THEN poll_interval + ?3 ELSE poll_interval END, \
       last_polled_at = ?2 \
     WHERE device_code_hash = ?1 AND status <> 'redeemed' AND expires_at > ?2";
/// The person who approved (or denied) the request.
pub const USER_OF_DEVICE_AUTHORIZATION: &str =
    "SELECT u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.failed_logins, u.locked_until, \
       u.totp_enabled, u.created_at, u.suspended_at, u.totp_reset_at \
     FROM device_authorizations d JOIN users u ON u.id = d.user_id WHERE d.device_code_hash = ?1";

/// A pending, unexpired request by its user code: what the console shows.
pub const PENDING_DEVICE_AUTHORIZATION: &str =
    "SELECT client_name, requested_ip, requested_user_agent, created_at, expires_at \
     FROM device_authorizations WHERE user_code_hash = ?1 AND status = 'pending' AND expires_at > ?2";
/// Approves or denies (`?3`) a pending, unexpired request for person `?2`:
/// one guarded statement, so of an approval and a denial at once exactly
/// one changes a row.
pub const DECIDE_DEVICE_AUTHORIZATION: &str =
    "UPDATE device_authorizations SET status = ?3, user_id = ?2, decided_at = ?4 \
     WHERE user_code_hash = ?1 AND status = 'pending' AND expires_at > ?4";
/// The decision in the person's own security log, only right after
/// [`DECIDE_DEVICE_AUTHORIZATION`] changed a row (`?5` `device.approved`
/// or `device.denied`): the client's name and address ride in `data`.
pub const AUDIT_DEVICE_DECISION: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     SELECT ?3, NULL, NULL, 'user', ?2, ?5, 'user', ?2, \
       json_object('device_authorization_id', id, 'client_name', client_name, 'requested_ip', requested_ip), ?4, NULL \
     FROM device_authorizations WHERE user_code_hash = ?1 AND changes() > 0";
/// The decided request's client name, read back in the decision's batch.
pub const DECIDED_DEVICE_AUTHORIZATION: &str =
    "SELECT client_name FROM device_authorizations WHERE user_code_hash = ?1 AND user_id = ?2";

/// The scheduled sweep: requests that ended before `?1`.
pub const FORGET_DEVICE_AUTHORIZATIONS: &str = "DELETE FROM device_authorizations WHERE expires_at < ?1";

/// [`DEVICE_POLL_STATE`]'s row.
#[derive(Debug, Clone, Deserialize)]
pub struct DevicePollRow {
    /// `pending`, `approved`, `denied` or `redeemed`.
    pub status: String,
    /// Seconds.
    pub poll_interval: i64,
    /// The previous poll.
    pub last_polled_at: Option<i64>,
    /// Its end.
    pub expires_at: i64,
    /// The client's name.
    pub client_name: String,
    /// Who decided, if anyone.
    pub user_id: Option<String>,
}

/// [`PENDING_DEVICE_AUTHORIZATION`]'s row.
#[derive(Debug, Clone, Deserialize)]
pub struct PendingDeviceRow {
    /// The client's name.
    pub client_name: String,
    /// Where the request came from.
    pub requested_ip: Option<String>,
    /// The requesting client's user agent.
    pub requested_user_agent: Option<String>,
    /// When.
    pub created_at: i64,
    /// Its end.
    pub expires_at: i64,
}

/// [`DECIDED_DEVICE_AUTHORIZATION`]'s row.
#[derive(Debug, Clone, Deserialize)]
pub struct DecidedDeviceRow {
    /// The client's name.
    pub client_name: String,
}
