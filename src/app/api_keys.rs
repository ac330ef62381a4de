//! API keys: org-owned, scoped, shown once, revocable, rotatable with a grace
//! period. Verifying one costs one database read and no write on the request
//! path (`last_used_at` is written after the response, at most once a minute).
use super::access::{Credential, Granted, TwoFactorPolicy};
use super::audit::Event;
use super::auth::{scopes_of, Principal};
use super::page::PageRequest;
use super::ErrorCode;
use super::{random, AppError, Deps};
use crate::domain::api_key::ApiKey;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::key_policy::{KeyPolicy, Violation};
use crate::domain::name::DisplayName;
use crate::domain::policy::{self, Facts, Permission, RoleValue};
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::time::{rfc3339, DAY};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{ApiKeyRow, KeyPolicyRow};
use crate::store::{sql, Batch, Read, Results};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// Longest grace period of a rotation (24 h).
pub const MAX_GRACE_SECONDS: i64 = 86_400;
/// Longest lifetime a key may be given.
pub const MAX_EXPIRY_DAYS: i64 = 3650;

/// A key as lists show it: never the key nor its hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyView {
    /// `key_…`
    pub id: String,
    /// e.g. "CI/CD pipeline".
    pub name: String,
    /// `lk_` and the first characters, to recognise it.
    pub start: String,
    /// Permissions it carries.
    pub scopes: Vec<Permission>,
    /// Who created it (null once that account is gone).
    pub created_by: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 or null.
    pub expires_at: Option<String>,
    /// RFC 3339 or null; in the future during a rotation's grace period.
    pub revoked_at: Option<String>,
    /// RFC 3339 or null (updated at most once a minute).
    pub last_used_at: Option<String>,
    /// The network of the last use: its /24 (IPv4) or /48 (IPv6), e.g. `203.0.113.0/24`.
    pub last_used_network: Option<String>,
    /// The user agent of the last use (at most 200 characters).
    pub last_used_agent: Option<String>,
    /// A live key that breaks the org's key policy (set after it was
    /// created): flagged, never revoked by the policy.
    pub non_compliant: bool,
    /// Why, when `non_compliant`.
    pub non_compliant_reason: Option<String>,
    /// A temporary key (`lk_tmp_…`) traded for a CI job's OIDC token under
    /// this trust policy (`tp_…`); null for keys people created.
    pub trust_policy_id: Option<String>,
}

/// A new key: the key as lists show it and, in this answer only, `key`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key as lists show it.
    #[serde(flatten)]
    pub api_key: ApiKeyView,
    /// The key itself: store it now, it is never shown again.
    pub key: String,
}

impl ApiKeyRow {
    fn view(&self, policy: &KeyPolicy, now: i64) -> ApiKeyView {
        // Only a key that still works owes the policy anything.
        let live = self.rotated_to.is_none() && self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now);
        let violation = live.then(|| policy.violation(self.created_at, self.expires_at)).flatten();
        ApiKeyView {
            id: self.id.clone(),
            name: self.name.clone(),
            start: self.start.clone(),
            scopes: scopes_of(&self.scopes),
            created_by: self.created_by.clone(),
            created_at: rfc3339(self.created_at),
            expires_at: self.expires_at.map(rfc3339),
            revoked_at: self.revoked_at.map(rfc3339),
            last_used_at: self.last_used_at.map(rfc3339),
            last_used_network: self.last_used_network.clone(),
            last_used_agent: self.last_used_agent.clone(),
            non_compliant: violation.is_some(),
            non_compliant_reason: violation.map(Violation::reason),
            trust_policy_id: self.trust_policy_id.clone(),
        }
    }
}

/// The policy a row (or its absence) stands for.
fn policy_of(row: Option<KeyPolicyRow>) -> KeyPolicy {
    row.map_or_else(KeyPolicy::default, |r| {
        KeyPolicy::stored(r.max_lifetime_days, r.require_expiry != 0, &r.warn_before_days)
    })
}

/// The caller where they manage the org's keys, with `batch` riding along
/// (one round trip). Keys never manage keys; people do, with a session.
async fn manager(deps: &Deps, who: &Credential, org_id: &str, batch: Batch) -> Result<(Granted, Results), AppError> {
    let (caller, results) = who.resolve(deps, Some(Tenant::Org(org_id)), batch).await?;
    if let Principal::ApiKey(_) = caller.principal() {
        return Err(AppError::refused(ErrorCode::Forbidden, "API keys cannot manage API keys"));
    }
    Ok((caller.require(Permission::ApiKeysWrite, TwoFactorPolicy::Enforce)?, results))
}

/// A key of the org, read in the same round trip as the decision.
async fn manager_and_key(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
) -> Result<(Granted, ApiKeyRow, KeyPolicy), AppError> {
    // Not `require_row`: keys never manage keys, which `manager` refuses first.
    let mut batch = Batch::new();
    let row = looks_like(IdKind::ApiKey, id).then(|| batch.read::<ApiKeyRow>(stmt!(sql::API_KEY_IN_ORG, id, org_id)));
    let policy = batch.read::<KeyPolicyRow>(stmt!(sql::API_KEY_POLICY, org_id));
    let (me, mut results) = manager(deps, who, org_id, batch).await?;
    let row = results.first_if(row)?;
    let policy = policy_of(results.first(policy)?);
    Ok((me, row.ok_or(AppError::NotFound)?, policy))
}

fn user_id(me: &Granted) -> Result<&str, AppError> {
    me.person_id().ok_or(AppError::UserRequired)
}

/// Parses requested scopes: 1 to 18 permission names, none person-only
/// (`org:delete`, `billing:manage`: no role makes them grantable to a key).
pub(crate) fn scope_list(raw: &[String]) -> Result<Vec<Permission>, AppError> {
    if raw.is_empty() || raw.len() > Permission::ALL.len() {
        return Err(AppError::field(FieldError::new("scopes", "invalid_scopes", "give 1 to 18 permissions")));
    }
    let mut scopes = Vec::new();
    for s in raw {
        let p = Permission::parse(s).ok_or_else(|| {
            AppError::field(FieldError::new("scopes", "unknown_scope", format!("{s} is not a permission")))
        })?;
        if !policy::key_may_hold(p) {
            return Err(AppError::ScopeNotAllowedForKeys { scope: p.as_str() });
        }
        if !scopes.contains(&p) {
            scopes.push(p);
        }
    }
    Ok(scopes)
}

/// Refuses scopes beyond the caller's role, a custom one by its permission
/// set (an API key acting in its org counts as `admin`, as before).
pub(crate) fn within_granted(granted: &Granted, scopes: &[Permission]) -> Result<(), AppError> {
    within_role_value(granted.role_value(), scopes)
}

pub(crate) fn within_role_value(role: &RoleValue, scopes: &[Permission]) -> Result<(), AppError> {
    let held = policy::permissions_of(role.subject(), &Facts::direct(TenantKind::Org));
    match scopes.iter().find(|p| !held.contains(p)) {
        Some(p) => Err(AppError::refused(
            ErrorCode::ScopeExceedsRole,
            format!("your role ({}) does not have {}", role.name(), p.as_str()),
        )),
        None => Ok(()),
    }
}

pub(crate) fn scopes_text(scopes: &[Permission]) -> String {
    scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ")
}

/// The 422 of a key the policy's SQL guard refused.
fn refused_by(policy: KeyPolicy, now: i64, expires_at: Option<i64>) -> AppError {
    match policy.violation(now, expires_at) {
        Some(v) => AppError::Validation(vec![v.field_error()]),
        None => AppError::internal("the key policy's guard refused a key the policy admits"),
    }
}

fn new_key(deps: &Deps) -> Result<ApiKey, AppError> {
    let bytes: [u8; 64] = random(deps.rng.as_ref())?;
    ApiKey::generate(&bytes).ok_or_else(|| AppError::internal("key generation drew too few usable bytes"))
}

/// Creates a key in the org (admin+, signed in with a session).
pub async fn create_api_key(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    raw_name: &str,
    raw_scopes: &[String],
    expires_in_days: Option<i64>,
) -> Result<CreatedApiKey, AppError> {
    let checked = (|| {
        let name = DisplayName::parse("name", raw_name)?;
        if expires_in_days.is_some_and(|d| !(1..=MAX_EXPIRY_DAYS).contains(&d)) {
            return Err(AppError::field(FieldError::new("expires_in_days", "out_of_range", "must be 1 to 3650")));
        }
        Ok((name, scope_list(raw_scopes)?))
    })();
    let (name, scopes) = match (who, checked) {
        (Credential::Session(_), Ok(checked)) => checked,
        // Keys never manage keys, and a caller who may not learns nothing
        // from a 422: the resolution answers first.
        (_, checked) => {
            manager(deps, who, org_id, Batch::new()).await?;
            checked?
        }
    };
    let now = deps.now();
    let id = deps.new_id(IdKind::ApiKey)?;
    let key = new_key(deps)?;
    let expires_at = expires_in_days.map(|d| now + d * DAY);
    // One round trip: the guard admits only roles that hold every scope asked for.
    let within = |granted: &Granted| within_granted(granted, &scopes);
    let tenant = Tenant::Org(org_id);
    // The org's key policy is applied inside the INSERT (a concurrent change
    // of it cannot slip by); read in the same batch, it names the refusal.
    let wrote = who
        .require_write_checked(deps, tenant, Permission::ApiKeysWrite, &scopes, &within, |actor, batch| {
            let event = Event {
                org_id: Some(org_id),
                workspace_id: None,
                actor,
                action: "api_key.created",
                target_kind: "api_key",
                target_id: &id,
                data: json!({ "name": name.as_str(), "scopes": scopes_text(&scopes) }),
            };
            let (digest, start, text) = (key.digest(), key.start(), scopes_text(&scopes));
            let policy = batch.read::<KeyPolicyRow>(stmt!(sql::API_KEY_POLICY, org_id));
            let inserted = batch.write(stmt!(
                sql::INSERT_API_KEY,
                &id,
                org_id,
                name.as_str(),
                digest,
                start,
                text,
                &actor.id,
                now,
                expires_at
            ));
            batch.add(event.stmt_if_changed(deps)?);
            let row = batch.read::<ApiKeyRow>(stmt!(sql::API_KEY_IN_ORG, &id, org_id));
            Ok((policy, inserted, row))
        })
        .await?;
    let (policy, inserted, row) = wrote.handles;
    let mut results = wrote.ran?;
    let policy = policy_of(results.first(policy)?);
    if results.changed(inserted) == 0 {
        return Err(refused_by(policy, now, expires_at));
    }
    created(&mut results, row, &policy, now, key)
}

/// A new key as the list shows it (read back in its write's batch), and the key.
fn created(
    results: &mut Results,
    row: Read<ApiKeyRow>,
    policy: &KeyPolicy,
    now: i64,
    key: ApiKey,
) -> Result<CreatedApiKey, AppError> {
    let row = results.first(row)?.ok_or_else(|| AppError::internal("the new API key was not read back"))?;
    Ok(CreatedApiKey { api_key: row.view(policy, now), key: key.expose().to_owned() })
}

/// Which keys a list shows (`?expiring_within_days=`, `?unused_for_days=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyFilter {
    /// Live, unrotated keys expiring within this many days.
    pub expiring_within_days: Option<i64>,
    /// Live, unrotated keys not used (or, never used, created) for this many days.
    pub unused_for_days: Option<i64>,
}

impl KeyFilter {
    /// Parses the two filters: each 1..3650 when given.
    pub fn parse(expiring_within_days: Option<&str>, unused_for_days: Option<&str>) -> Result<Self, AppError> {
        let days = |field: &'static str, raw: Option<&str>| -> Result<Option<i64>, AppError> {
            raw.map(|r| match r.trim().parse::<i64>() {
                Ok(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => Ok(d),
                _ => Err(AppError::field(FieldError::new(field, "out_of_range", "must be 1 to 3650"))),
            })
            .transpose()
        };
        Ok(Self {
            expiring_within_days: days("expiring_within_days", expiring_within_days)?,
            unused_for_days: days("unused_for_days", unused_for_days)?,
        })
    }
}

/// The org's keys, newest first, filtered.
pub async fn list_api_keys(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    page: &PageRequest,
    filter: KeyFilter,
) -> Result<(Vec<ApiKeyView>, Option<String>), AppError> {
    let (k, id, limit) = page.sql_params();
    let now = deps.now();
    let (within, unused) = (filter.expiring_within_days.map(|d| d * DAY), filter.unused_for_days.map(|d| d * DAY));
    let mut batch = Batch::new();
    let rows = batch.read::<ApiKeyRow>(stmt!(sql::LIST_API_KEYS, org_id, k, id, limit, now, within, unused));
    let policy = batch.read::<KeyPolicyRow>(stmt!(sql::API_KEY_POLICY, org_id));
    let (_, mut results) = manager(deps, who, org_id, batch).await?;
    let rows = results.all(rows)?;
    let policy = policy_of(results.first(policy)?);
    let (rows, next) = page.finish(rows, |r| (r.created_at, r.id.clone()));
    Ok((rows.iter().map(|r| r.view(&policy, now)).collect(), next))
}

/// One key.
pub async fn get_api_key(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<ApiKeyView, AppError> {
    let (_, row, policy) = manager_and_key(deps, who, org_id, id).await?;
    Ok(row.view(&policy, deps.now()))
}

/// Revokes a key: it fails on its next use.
pub async fn revoke_api_key(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let (access, row, _) = manager_and_key(deps, who, org_id, id).await?;
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: access.actor(),
        action: "api_key.revoked",
        target_kind: "api_key",
        target_id: id,
        data: json!({ "name": row.name }),
    };
    deps.db.batch(vec![stmt!(sql::REVOKE_API_KEY, id, org_id, deps.now()), event.stmt_if_changed(deps)?]).await?;
    Ok(())
}

/// Rotates a key: a new key with the same scopes (which must not exceed the
/// rotating person's role today), expiring in `expires_in_days` (absent: when
/// the old one did), within the org's key policy; the old one works `grace`
/// more seconds.
pub async fn rotate_api_key(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    grace: i64,
    expires_in_days: Option<i64>,
) -> Result<CreatedApiKey, AppError> {
    if !(0..=MAX_GRACE_SECONDS).contains(&grace) {
        return Err(AppError::field(FieldError::new("grace_period_seconds", "out_of_range", "must be 0 to 86400")));
    }
    if expires_in_days.is_some_and(|d| !(1..=MAX_EXPIRY_DAYS).contains(&d)) {
        return Err(AppError::field(FieldError::new("expires_in_days", "out_of_range", "must be 1 to 3650")));
    }
    let (access, old, policy) = manager_and_key(deps, who, org_id, id).await?;
    let scopes = scopes_of(&old.scopes);
    // A person-only scope in an old row is never carried into a new key.
    if let Some(p) = scopes.iter().find(|p| !policy::key_may_hold(**p)) {
        return Err(AppError::ScopeNotAllowedForKeys { scope: p.as_str() });
    }
    within_granted(&access, &scopes)?;
    let now = deps.now();
    let expires_at = expires_in_days.map(|d| now + d * DAY).or(old.expires_at);
    if let Some(v) = policy.violation(now, expires_at) {
        return Err(AppError::Validation(vec![v.field_error()]));
    }
    let new_id = deps.new_id(IdKind::ApiKey)?;
    let key = new_key(deps)?;
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: access.actor(),
        action: "api_key.rotated",
        target_kind: "api_key",
        target_id: id,
        data: json!({ "new_key_id": new_id, "grace_period_seconds": grace }),
    };
    // The policy read above may have changed since: its guard is in the
    // rotation's own statement, and a read in the same batch names a refusal.
    let mut batch = Batch::new();
    let rotated = batch.write(stmt!(sql::ROTATE_API_KEY, id, org_id, now, now + grace, &new_id, expires_at));
    batch.add(event.stmt_if_changed(deps)?);
    batch.add(stmt!(
        sql::INSERT_ROTATED_API_KEY,
        &new_id,
        key.digest(),
        key.start(),
        user_id(&access)?,
        now,
        id,
        expires_at
    ));
    let policy = batch.read::<KeyPolicyRow>(stmt!(sql::API_KEY_POLICY, org_id));
    let row = batch.read::<ApiKeyRow>(stmt!(sql::API_KEY_IN_ORG, &new_id, org_id));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let policy = policy_of(results.first(policy)?);
    if results.changed(rotated) == 0 {
        if policy.violation(now, expires_at).is_some() {
            return Err(refused_by(policy, now, expires_at));
        }
        return Err(AppError::refused(
            ErrorCode::ApiKeyNotActive,
            "only a live key that was not rotated before can be rotated",
        ));
    }
    created(&mut results, row, &policy, now, key)
}

/// What a key learns about itself.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CurrentKey {
    /// `key_…`
    pub id: String,
    /// Its org.
    pub org_id: String,
    /// Name.
    pub name: String,
    /// Permissions.
    pub scopes: Vec<Permission>,
    /// RFC 3339 or null.
    pub expires_at: Option<String>,
}

/// `GET /v1/api-keys/current`.
pub async fn current(deps: &Deps, who: &Credential) -> Result<CurrentKey, AppError> {
    let who = who.principal(deps).await?;
    match &who {
        Principal::ApiKey(k) => Ok(CurrentKey {
            id: k.key_id.clone(),
            org_id: k.org.id.clone(),
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            expires_at: k.expires_at.map(rfc3339),
        }),
        Principal::User(_) => Err(AppError::refused(ErrorCode::ApiKeyRequired, "call this with an API key")),
    }
}

/// Revokes the calling key at once (any key may end itself, e.g. a CI job's
/// temporary key when the job is done); audited with the key as actor.
pub async fn revoke_current(deps: &Deps, who: &Credential) -> Result<(), AppError> {
    let who = who.principal(deps).await?;
    let Principal::ApiKey(k) = &who else {
        return Err(AppError::refused(ErrorCode::ApiKeyRequired, "call this with an API key"));
    };
    let actor = k.actor();
    let event = Event {
        org_id: Some(&k.org.id),
        workspace_id: None,
        actor: &actor,
        action: "api_key.revoked",
        target_kind: "api_key",
        target_id: &k.key_id,
        data: json!({ "name": k.name, "by_itself": true }),
    };
    deps.db
        .batch(vec![stmt!(sql::REVOKE_API_KEY, &k.key_id, &k.org.id, deps.now()), event.stmt_if_changed(deps)?])
        .await?;
    Ok(())
}
