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
use crate::domain::name::DisplayName;
use crate::domain::policy::{self, Facts, Permission, Role, Subject};
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::time::{rfc3339, DAY};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::ApiKeyRow;
use crate::store::{sql, Batch, Results};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// Longest grace period of a rotation (24 h).
pub const MAX_GRACE_SECONDS: i64 = 86_400;
/// Longest lifetime a key may be given.
pub const MAX_EXPIRY_DAYS: i64 = 3650;

/// A key as lists show it: never the key nor its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
}

/// A new key: the only answer that carries `key`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// `key_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// The key itself: store it now, it is never shown again.
    pub key: String,
    /// `lk_` and the first characters.
    pub start: String,
    /// Permissions.
    pub scopes: Vec<Permission>,
    /// RFC 3339 or null.
    pub expires_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl ApiKeyRow {
    fn view(&self) -> ApiKeyView {
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
        }
    }
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
) -> Result<(Granted, ApiKeyRow), AppError> {
    // Not `require_row`: keys never manage keys, which `manager` refuses first.
    let mut batch = Batch::new();
    let row = looks_like(IdKind::ApiKey, id).then(|| batch.read::<ApiKeyRow>(stmt!(sql::API_KEY_IN_ORG, id, org_id)));
    let (me, mut results) = manager(deps, who, org_id, batch).await?;
    Ok((me, results.first_if(row)?.ok_or(AppError::NotFound)?))
}

fn user_id(me: &Granted) -> Result<&str, AppError> {
    me.person_id().ok_or(AppError::UserRequired)
}

/// Parses requested scopes: 1 to 18 permission names, none person-only
/// (`org:delete`, `billing:manage`: no role makes them grantable to a key).
fn scope_list(raw: &[String]) -> Result<Vec<Permission>, AppError> {
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

/// Refuses scopes beyond the person's role.
fn within_role(role: Role, scopes: &[Permission]) -> Result<(), AppError> {
    let held = policy::permissions_of(Subject::Role(role), &Facts::direct(TenantKind::Org));
    match scopes.iter().find(|p| !held.contains(p)) {
        Some(p) => Err(AppError::refused(
            ErrorCode::ScopeExceedsRole,
            format!("your role ({}) does not have {}", role.as_str(), p.as_str()),
        )),
        None => Ok(()),
    }
}

fn scopes_text(scopes: &[Permission]) -> String {
    scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ")
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
    let within = |granted: &Granted| within_role(granted.role(), &scopes);
    let tenant = Tenant::Org(org_id);
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
            batch.add(stmt!(
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
            batch.add(event.stmt(deps)?);
            Ok(())
        })
        .await?;
    wrote.ran?;
    Ok(CreatedApiKey {
        id,
        name: name.as_str().to_owned(),
        key: key.expose().to_owned(),
        start: key.start().to_owned(),
        scopes,
        expires_at: expires_at.map(rfc3339),
        created_at: rfc3339(now),
    })
}

/// The org's keys, newest first.
pub async fn list_api_keys(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    page: &PageRequest,
) -> Result<(Vec<ApiKeyView>, Option<String>), AppError> {
    let (k, id, limit) = page.sql_params();
    let mut batch = Batch::new();
    let rows = batch.read::<ApiKeyRow>(stmt!(sql::LIST_API_KEYS, org_id, k, id, limit));
    let (_, mut results) = manager(deps, who, org_id, batch).await?;
    let rows = results.all(rows)?;
    let (rows, next) = page.finish(rows, |r| (r.created_at, r.id.clone()));
    Ok((rows.iter().map(ApiKeyRow::view).collect(), next))
}

/// One key.
pub async fn get_api_key(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<ApiKeyView, AppError> {
    Ok(manager_and_key(deps, who, org_id, id).await?.1.view())
}

/// Revokes a key: it fails on its next use.
pub async fn revoke_api_key(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let (access, row) = manager_and_key(deps, who, org_id, id).await?;
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
/// rotating person's role today); the old one works `grace` more seconds.
pub async fn rotate_api_key(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    grace: i64,
) -> Result<CreatedApiKey, AppError> {
    if !(0..=MAX_GRACE_SECONDS).contains(&grace) {
        return Err(AppError::field(FieldError::new("grace_period_seconds", "out_of_range", "must be 0 to 86400")));
    }
    let (access, old) = manager_and_key(deps, who, org_id, id).await?;
    let scopes = scopes_of(&old.scopes);
    // A person-only scope in an old row is never carried into a new key.
    if let Some(p) = scopes.iter().find(|p| !policy::key_may_hold(**p)) {
        return Err(AppError::ScopeNotAllowedForKeys { scope: p.as_str() });
    }
    within_role(access.role(), &scopes)?;
    let now = deps.now();
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
    let mut batch = Batch::new();
    let rotated = batch.write(stmt!(sql::ROTATE_API_KEY, id, org_id, now, now + grace, &new_id));
    batch.add(event.stmt_if_changed(deps)?);
    batch.add(stmt!(sql::INSERT_ROTATED_API_KEY, &new_id, key.digest(), key.start(), user_id(&access)?, now, id));
    if batch.run(deps.db.as_ref()).await?.changed(rotated) == 0 {
        return Err(AppError::refused(
            ErrorCode::ApiKeyNotActive,
            "only a live key that was not rotated before can be rotated",
        ));
    }
    Ok(CreatedApiKey {
        id: new_id,
        name: old.name,
        key: key.expose().to_owned(),
        start: key.start().to_owned(),
        scopes,
        expires_at: old.expires_at.map(rfc3339),
        created_at: rfc3339(now),
    })
}

/// What a key learns about itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
