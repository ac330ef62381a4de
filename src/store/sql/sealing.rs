//! Re-sealing secrets at rest under the current key (`app::sealing`). Each
//! page reads the rows whose value does not start with the current key id
//! (`?1`, e.g. `k1a2b3c4d.`), after the cursor `?2`, in primary-key order.

use serde::Deserialize;

pub const STALE_TOTP_SECRETS: &str = "SELECT user_id AS id, secret_enc AS sealed, NULL AS previous \
     FROM totp_credentials WHERE user_id > ?2 AND substr(secret_enc, 1, length(?1)) <> ?1 \
     ORDER BY user_id LIMIT ?3";
pub const STALE_CHANNEL_SECRETS: &str = "SELECT id, secret AS sealed, previous_secret AS previous \
     FROM notification_channels WHERE id > ?2 \
       AND (substr(secret, 1, length(?1)) <> ?1 OR substr(previous_secret, 1, length(?1)) <> ?1) \
     ORDER BY id LIMIT ?3";
/// Unless the value changed since it was read (a rotation of the channel's secret).
pub const RESEAL_CHANNEL_SECRET: &str = "UPDATE notification_channels SET secret = ?2 WHERE id = ?1 AND secret = ?3";
/// Unless the value changed since it was read.
pub const RESEAL_CHANNEL_PREVIOUS_SECRET: &str =
    "UPDATE notification_channels SET previous_secret = ?2 WHERE id = ?1 AND previous_secret = ?3";

/// A sealed value to look at ([`STALE_TOTP_SECRETS`], [`STALE_CHANNEL_SECRETS`]).
#[derive(Debug, Deserialize)]
pub struct SealedRow {
    /// The row id the value is bound to.
    pub id: String,
    /// The value.
    pub sealed: String,
    /// A channel's previous secret, during its grace period.
    pub previous: Option<String>,
}
