//! Rotation of the sealing key (`domain::sealed`): after
//! `TOTP_ENCRYPTION_KEY` changes and the old one is kept as
//! `TOTP_ENCRYPTION_KEY_PREVIOUS`, every stored value is sealed again under
//! the new key, so the previous one can then be dropped.
//!
//! Two ways, both guarded on the value read (a write in between wins):
//! a TOTP secret is re-sealed when it is next used (`totp::accept_code`),
//! and [`reseal_stale`], run by the Cron Trigger while a previous key is
//! configured, re-seals the rest (TOTP secrets nobody used, webhook signing
//! secrets) a bounded number of rows a minute.
use super::{log_error, random, AppError, Rng};
use crate::domain::sealed::{Purpose, SealingKeys};
use crate::stmt;
use crate::store::sql::{self, SealedRow};
use crate::store::{Batch, Db};

/// Rows read per page.
pub const PAGE: i64 = 100;
/// Pages per run and table: at most 1000 rows a minute each.
pub const PAGES_PER_RUN: usize = 10;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    /// Values sealed again under the current key.
    pub resealed: usize,
    /// Values that open under neither key (logged, left as they are).
    pub unreadable: usize,
}

/// Seals every stale value (legacy format, or the previous key) of both
/// tables again under the current key, up to [`PAGES_PER_RUN`] pages each.
/// Returns what it did; `resealed + unreadable == 0` means the previous key
/// is no longer needed by anything that opens.
pub async fn reseal_stale(db: &dyn Db, keys: &SealingKeys, rng: &dyn Rng) -> Result<Resealed, AppError> {
    let mut done = Resealed::default();
    let tables = [
        (sql::STALE_TOTP_SECRETS, Purpose::TotpSecret, sql::RESEAL_TOTP_SECRET, None),
        (
            sql::STALE_CHANNEL_SECRETS,
            Purpose::WebhookSigningSecret,
            sql::RESEAL_CHANNEL_SECRET,
            Some(sql::RESEAL_CHANNEL_PREVIOUS_SECRET),
        ),
        (sql::STALE_SSO_SECRETS, Purpose::SsoClientSecret, sql::RESEAL_SSO_SECRET, None),
    ];
    let prefix = format!("{}.", keys.current_id());
    for (select, purpose, update, update_previous) in tables {
        let mut cursor = String::new();
        for _ in 0..PAGES_PER_RUN {
            let rows: Vec<SealedRow> = db.run(stmt!(select, &prefix, &cursor, PAGE)).await?.decode()?;
            let full = rows.len() as i64 == PAGE;
            let mut batch = Batch::new();
            let mut writes = 0;
            for row in &rows {
                let values = std::iter::once((&row.sealed, update)).chain(row.previous.as_ref().zip(update_previous));
                for (value, statement) in values {
                    match keys.reseal(purpose, &row.id, value, random(rng)?) {
                        Ok((_, Some(fresh))) => {
                            batch.add(stmt!(statement, &row.id, fresh, value));
                            writes += 1;
                        }
                        Ok((_, None)) => {}
                        Err(_) => {
                            log_error(&format!("reseal: a sealed value of {} opens under no key", row.id));
                            done.unreadable += 1;
                        }
                    }
                }
            }
            if writes > 0 {
                batch.run(db).await?;
                done.resealed += writes;
            }
            match rows.last() {
                Some(last) if full => cursor.clone_from(&last.id),
                _ => break,
            }
        }
    }
    Ok(done)
}
