//! An org's API key policy (read by whoever manages keys, set by owners),
//! and the daily sweep that warns before keys expire and records when they
//! did. Keys that break a policy set after them are flagged in the key views
//! (`api_keys`), never revoked.
use super::access::{Credential, TwoFactorPolicy};
use super::audit::Event;
use super::messages::Job;
use super::{log_error, random, AppError, Outbox, Rng};
use super::{Deps, ErrorCode};
use crate::domain::ids::{new_id, IdKind};
use crate::domain::key_policy::{days_left, KeyPolicy};
use crate::domain::policy::Permission;
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::domain::webhook;
use crate::stmt;
use crate::store::sql::{KeyDueRow, KeyPolicyRow};
use crate::store::{sql, Batch, Db, Written};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// Keys one sweep looks at (the next run takes the rest).
const SWEEP_LIMIT: i64 = 200;

/// An org's key policy as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyPolicyView {
    /// Longest lifetime of a new key, in days (1..3650); null: no limit.
    pub max_lifetime_days: Option<i64>,
    /// Whether new keys must have an expiry.
    pub require_expiry: bool,
    /// Days before expiry at which the key's creator and the org's owners and
    /// admins are emailed (and `api_key.expiring` is sent), largest first.
    pub warn_before_days: Vec<i64>,
    /// RFC 3339; null while the org keeps the default policy.
    pub updated_at: Option<String>,
}

fn view(policy: &KeyPolicy, updated_at: Option<i64>) -> ApiKeyPolicyView {
    ApiKeyPolicyView {
        max_lifetime_days: policy.max_lifetime_days(),
        require_expiry: policy.require_expiry(),
        warn_before_days: policy.warn_before_days().to_vec(),
        updated_at: updated_at.map(rfc3339),
    }
}

/// The org's key policy: for whoever manages its keys (`api_keys:write`,
/// a person), in one round trip.
pub async fn get_api_key_policy(deps: &Deps, who: &Credential, org_id: &str) -> Result<ApiKeyPolicyView, AppError> {
    let mut batch = Batch::new();
    let row = batch.read::<KeyPolicyRow>(stmt!(sql::API_KEY_POLICY, org_id));
    let (caller, mut results) = who.resolve(deps, Some(Tenant::Org(org_id)), batch).await?;
    if let super::auth::Principal::ApiKey(_) = caller.principal() {
        return Err(AppError::refused(ErrorCode::Forbidden, "API keys cannot manage API keys"));
    }
    caller.require(Permission::ApiKeysWrite, TwoFactorPolicy::Enforce)?;
    Ok(match results.first(row)? {
        Some(r) => view(
            &KeyPolicy::stored(r.max_lifetime_days, r.require_expiry != 0, &r.warn_before_days),
            Some(r.updated_at),
        ),
        None => view(&KeyPolicy::default(), None),
    })
}

/// Sets the org's key policy: owners only. It binds keys created or rotated
/// from now on; keys that break it are flagged `non_compliant`, not revoked.
/// The permission is `org:delete`, the one the policy table gives owners
/// alone (and never a key), so the one-trip write guard is the table's rule.
pub async fn set_api_key_policy(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    max_lifetime_days: Option<i64>,
    require_expiry: bool,
    warn_before_days: Option<&[i64]>,
) -> Result<ApiKeyPolicyView, AppError> {
    let policy = KeyPolicy::parse(max_lifetime_days, require_expiry, warn_before_days).map_err(AppError::Validation)?;
    let now = deps.now();
    let warn = policy.warn_column();
    let wrote = who
        .require_write(deps, Tenant::Org(org_id), Permission::OrgDelete, TwoFactorPolicy::Enforce, |actor, batch| {
            batch.add(stmt!(
                sql::UPSERT_API_KEY_POLICY,
                org_id,
                policy.max_lifetime_days(),
                policy.require_expiry(),
                warn.as_str(),
                now
            ));
            let event = Event {
                org_id: Some(org_id),
                workspace_id: None,
                actor,
                action: "api_key_policy.updated",
                target_kind: "org",
                target_id: org_id,
                data: json!({
                    "max_lifetime_days": policy.max_lifetime_days(),
                    "require_expiry": policy.require_expiry(),
                    "warn_before_days": policy.warn_before_days(),
                }),
            };
            batch.add(event.stmt(deps)?);
            Ok(())
        })
        .await?;
    wrote.ran?;
    Ok(view(&policy, Some(now)))
}

/// What a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeySweep {
    /// `api_key.expiring` recorded (and emailed).
    pub warned: usize,
    /// `api_key.expired` recorded (and emailed).
    pub expired: usize,
}

/// One warning recorded in the sweep's batch.
struct Warning<'a> {
    row: &'a KeyDueRow,
    threshold: i64,
    sent: Written,
}

/// The daily sweep (Cron Trigger): for every live key whose org's warning
/// threshold it crossed (or that expired), records the warning once per key
/// and threshold (a guarded insert: two runs never both win), with an
/// `api_key.expiring` / `api_key.expired` audit row in the same batch that
/// fans out to the org's channels, then emails the key's creator and the
/// org's owners and admins through the mail queue. Crossing several
/// thresholds at once warns once, for the most urgent.
pub async fn sweep_key_expiry(db: &dyn Db, outbox: &dyn Outbox, rng: &dyn Rng, now: i64) -> Result<KeySweep, AppError> {
    let due: Vec<KeyDueRow> = db.run(stmt!(sql::KEYS_DUE_WARNING, now, SWEEP_LIMIT)).await?.decode()?;
    if due.is_empty() {
        return Ok(KeySweep::default());
    }
    let mut batch = Batch::new();
    let mut warnings = Vec::new();
    for row in &due {
        let policy = KeyPolicy::stored(row.max_lifetime_days, row.require_expiry != 0, &row.warn_before_days);
        let sent: Vec<i64> = serde_json::from_str(&row.sent).unwrap_or_default();
        let Some((threshold, crossed)) = policy.due_warning(row.expires_at, now, &sent) else {
            // A threshold added after a more urgent one was sent: recorded
            // without a warning, so the key leaves the sweep's list.
            for t in policy.crossed(row.expires_at, now) {
                batch.add(stmt!(sql::INSERT_KEY_WARNING, &row.id, t, now));
            }
            continue;
        };
        for t in crossed.iter().filter(|t| **t != threshold) {
            batch.add(stmt!(sql::INSERT_KEY_WARNING, &row.id, *t, now));
        }
        let written = batch.write(stmt!(sql::INSERT_KEY_WARNING, &row.id, threshold, now));
        let (action, data) = if threshold == 0 {
            ("api_key.expired", json!({ "name": row.name, "expired_at": rfc3339(row.expires_at) }))
        } else {
            let left = days_left(row.expires_at, now);
            let data = json!({
                "name": row.name,
                "days_left": left,
                "threshold": threshold,
                "expires_at": rfc3339(row.expires_at),
            });
            ("api_key.expiring", data)
        };
        // Written only if the warning's row was (the statement before it).
        batch.add(stmt!(
            sql::INSERT_AUDIT_IF_CHANGED,
            new_id(IdKind::Event, random(rng)?),
            &row.org_id,
            None::<&str>,
            "system",
            "system",
            action,
            "api_key",
            &row.id,
            data.to_string(),
            now,
            webhook::event_types_column(action)
        ));
        warnings.push(Warning { row, threshold, sent: written });
    }
    let results = batch.run(db).await?;
    let won: Vec<&Warning<'_>> = warnings.iter().filter(|w| results.changed(w.sent) > 0).collect();
    let mut done = KeySweep::default();
    let mut admins: Vec<(String, Vec<String>)> = Vec::new();
    for w in won {
        if w.threshold == 0 {
            done.expired += 1;
        } else {
            done.warned += 1;
        }
        if !admins.iter().any(|(org, _)| *org == w.row.org_id) {
            #[derive(serde::Deserialize)]
            struct Admin {
                user_id: String,
            }
            let found: Vec<Admin> =
                match db.run(stmt!(sql::ORG_ADMIN_IDS, &w.row.org_id)).await.and_then(|o| o.decode()) {
                    Ok(a) => a,
                    Err(e) => {
                        log_error(&format!("reading admins for key expiry emails: {e}"));
                        Vec::new()
                    }
                };
            admins.push((w.row.org_id.clone(), found.into_iter().map(|a| a.user_id).collect()));
        }
        let org_admins = admins.iter().find(|(org, _)| *org == w.row.org_id).map(|(_, a)| a.as_slice()).unwrap_or(&[]);
        let mut recipients: Vec<&str> = w.row.created_by.as_deref().into_iter().collect();
        for a in org_admins {
            if !recipients.contains(&a.as_str()) {
                recipients.push(a);
            }
        }
        for user_id in recipients {
            let job = Job::ApiKeyExpiry {
                job_id: new_id(IdKind::Job, random(rng)?),
                key_id: w.row.id.clone(),
                user_id: user_id.to_owned(),
                threshold: w.threshold,
                days_left: days_left(w.row.expires_at, now),
            };
            if let Err(e) = outbox.enqueue(&job).await {
                log_error(&format!("enqueue of {} failed: {e}", job.id()));
            }
        }
    }
    Ok(done)
}
