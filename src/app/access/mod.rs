//! Who is calling, and what they may do here: the one resolver.
//!
//! A request's bearer credential is read once, by dispatch, without the
//! database: an access token whose signature and expiry verify, or an `lk_`
//! key whose checksum does ([`Credential`]). Whether it is still live, and
//! where its holder stands in the tenant the route names, is asked in D1 in
//! the same batch as the operation's first statements ([`Credential::resolve`],
//! the one place that reads sessions, keys and memberships for a decision).
//! The outcome is a [`Caller`]; [`Caller::require`] asks the policy table (the
//! only caller of `policy::decide`) and hands out a [`Granted`]: a capability
//! whose fields are private, which the tenant use cases take, so an operation
//! cannot reach its tenant's data without a decision.
//!
//! Statements riding along with the resolution are reads, or writes guarded
//! in SQL on the same rule; their results are looked at only once the
//! decision allows, so a refused caller learns nothing from them.
//!
//! The rooms: this file reads and confirms credentials ([`Credential`]) and
//! finds the caller's place; `decide.rs` holds the decision and the
//! capability ([`Caller`], [`Granted`]); `write.rs` the one-round-trip
//! writes and the guard statements bound from the policy table.
use super::audit::Actor;
use super::auth::{scopes_of, KeyPrincipal, Principal, UserPrincipal};
use super::workspaces::OrgRef;
use super::AppError;
use super::{Deps, ErrorCode};
use crate::domain::api_key::ApiKey;
use crate::domain::custom_role;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::key_policy;
use crate::domain::policy::{self, Facts, Permission, Role, RoleValue, Subject, TwoFactorRule, Verdict, Via};
use crate::domain::session::AccessClaims;
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, LiveKeyRow, OrgRow, UserRow, WorkspaceRow};
use crate::store::{Batch, DbError, Read, Results};

mod decide;
mod write;

use decide::verdict;
pub use decide::{Caller, Granted, Judgement};
pub use write::Wrote;

/// A bearer credential checked without the database (see the module).
#[derive(Debug, Clone)]
pub enum Credential {
    /// An access token whose signature and expiry verified; its session is
    /// checked in D1 by [`Credential::resolve`].
    Session(AccessClaims),
    /// A well-formed `lk_` key (checksum verified); looked up by its digest.
    Key {
        /// SHA-256 hex of the key, as stored.
        digest: String,
        /// Where the request came from, recorded as the key's last use.
        seen: LastUse,
    },
    /// A well-formed `lk_scim_` token (checksum verified): an org's
    /// directory, good on its own org's `/scim/v2/{org_id}/…` only (the
    /// route table's `Auth::Scim`); `app::scim` confirms it in D1.
    Scim {
        /// SHA-256 hex of the token, as stored.
        digest: String,
    },
}

/// Where a key was used from, coarsened before it is kept: the /24 or /48
/// network (`key_policy::coarse_ip`) and the user agent (200 characters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastUse {
    /// e.g. `203.0.113.0/24`.
    pub network: Option<String>,
    /// The `User-Agent`, cut.
    pub agent: Option<String>,
}

impl Credential {
    /// Reads the `Authorization: Bearer` value: none, or a token that does not
    /// verify, is 401; a malformed key is 401 `invalid_api_key`.
    pub fn from_bearer(deps: &Deps, bearer: Option<&str>) -> Result<Self, AppError> {
        let bearer = bearer.ok_or(AppError::Unauthenticated)?;
        if bearer.starts_with(crate::domain::api_key::SCIM_PREFIX) {
            let token = ApiKey::parse_scim(bearer).map_err(|_| invalid_scim_token())?;
            return Ok(Credential::Scim { digest: token.digest() });
        }
        if bearer.starts_with(crate::domain::api_key::PREFIX) {
            // Malformed and bad checksum answer alike.
            let key = ApiKey::parse(bearer).map_err(|_| invalid_key())?;
            return Ok(Credential::Key { digest: key.digest(), seen: LastUse::default() });
        }
        let claims =
            deps.tokens.verify(&deps.config.keys, bearer, deps.now()).map_err(|_| AppError::Unauthenticated)?;
        Ok(Credential::Session(claims))
    }

    /// The request's client address and user agent, kept (coarsened) as a
    /// key's last use; a session ignores them.
    pub fn seen_from(self, client_ip: Option<&str>, user_agent: Option<&str>) -> Self {
        match self {
            Credential::Key { digest, .. } => Credential::Key {
                digest,
                seen: LastUse {
                    network: client_ip.and_then(key_policy::coarse_ip),
                    agent: user_agent.and_then(key_policy::agent),
                },
            },
            session => session,
        }
    }

    /// Confirms the credential and finds the caller in `tenant` (if any), in
    /// one D1 batch with `batch` (the operation's first statements, whose
    /// handles stay valid: ours are appended after them).
    pub async fn resolve(
        &self,
        deps: &Deps,
        tenant: Option<Tenant<'_>>,
        mut batch: Batch,
    ) -> Result<(Caller, Results), AppError> {
        let now = deps.now();
        match self {
            Credential::Session(claims) => {
                let live = batch.read::<UserRow>(stmt!(sql::LIVE_SESSION_USER, &claims.sid, &claims.sub, now));
                let place = PlaceRead::session(&mut batch, tenant, &claims.sub);
                let mut results = batch.run(deps.db.as_ref()).await?;
                let user = results.first(live)?.ok_or(AppError::Unauthenticated)?;
                if user.suspended_at.is_some() {
                    return Err(suspended());
                }
                let place = place.read(&mut results, None)?;
                let principal = Principal::User(UserPrincipal { user, session_id: claims.sid.clone() });
                Ok((Caller { principal, place, asked: tenant.map(Tenant::kind) }, results))
            }
            Credential::Key { digest, seen } => {
                let live = batch.read::<LiveKeyRow>(stmt!(sql::LIVE_API_KEY, digest, now));
                let place = PlaceRead::key(&mut batch, tenant, digest);
                // The per-key limit is asked alongside the lookup, keyed by the
                // digest (known before the read), so its call adds no latency.
                // Its answer counts only for a key that exists: an unknown key
                // is 401 whatever the limiter says.
                let (ran, allowed) =
                    futures_util::future::join(batch.run(deps.db.as_ref()), deps.limiter.allow(digest)).await;
                let mut results = ran?;
                let row = results.first(live)?.ok_or_else(invalid_key)?;
                if row.creator_suspended_at.is_some() {
                    return Err(suspended());
                }
                if !allowed {
                    return Err(AppError::RateLimited {
                        retry_after: 60,
                        detail: "this API key is over its request rate".into(),
                    });
                }
                if row.last_used_at.is_none_or(|t| t <= now - 60) {
                    deps.after_response(stmt!(
                        sql::TOUCH_API_KEY,
                        &row.id,
                        now,
                        seen.network.as_deref(),
                        seen.agent.as_deref()
                    ));
                }
                let key = key_principal(row);
                let place = place.read(&mut results, Some(&key))?;
                Ok((Caller { principal: Principal::ApiKey(key), place, asked: tenant.map(Tenant::kind) }, results))
            }
            // Dispatch hands a SCIM token to the SCIM routes only.
            Credential::Scim { .. } => Err(invalid_scim_token()),
        }
    }

    /// A SCIM token's digest (None: another credential).
    pub fn scim_digest(&self) -> Option<&str> {
        match self {
            Credential::Scim { digest } => Some(digest),
            _ => None,
        }
    }

    /// The user id an access token names (verified, not yet confirmed live).
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Credential::Session(claims) => Some(&claims.sub),
            Credential::Key { .. } | Credential::Scim { .. } => None,
        }
    }

    /// The confirmed caller, with nothing else read (one round trip).
    pub async fn principal(&self, deps: &Deps) -> Result<Principal, AppError> {
        Ok(self.resolve(deps, None, Batch::new()).await?.0.principal)
    }

    /// The signed-in person (an API key: 403 `user_required`), with `batch`
    /// in the same round trip.
    pub async fn person_with(&self, deps: &Deps, batch: Batch) -> Result<(UserPrincipal, Results), AppError> {
        let (caller, results) = self.resolve(deps, None, batch).await?;
        Ok((caller.into_user()?, results))
    }

    /// The signed-in person (one round trip).
    pub async fn person(&self, deps: &Deps) -> Result<UserPrincipal, AppError> {
        Ok(self.person_with(deps, Batch::new()).await?.0)
    }

    /// Resolves in `tenant` and requires `permission` there: the capability,
    /// and the results of `batch` (run in the same round trip).
    pub async fn require_with(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        permission: Permission,
        two_factor: TwoFactorPolicy,
        batch: Batch,
    ) -> Result<(Granted, Results), AppError> {
        let (caller, results) = self.resolve(deps, Some(tenant), batch).await?;
        Ok((caller.require(permission, two_factor)?, results))
    }

    /// [`Credential::require_with`] in the org `org_id`, under its two-factor rule.
    pub async fn require_in_org(
        &self,
        deps: &Deps,
        org_id: &str,
        permission: Permission,
        batch: Batch,
    ) -> Result<(Granted, Results), AppError> {
        self.require_with(deps, Tenant::Org(org_id), permission, TwoFactorPolicy::Enforce, batch).await
    }

    /// Resolves in `tenant`, requires `permission` there and reads one of the
    /// tenant's rows in the same round trip: the capability and the row, or
    /// 404 when there is none (`read` is `None` for an id that cannot be one;
    /// the caller's own refusal comes first either way).
    pub async fn require_read<T: serde::de::DeserializeOwned>(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        permission: Permission,
        read: Option<crate::store::Stmt>,
    ) -> Result<(Granted, T), AppError> {
        let mut batch = Batch::new();
        let row = read.map(|stmt| batch.read::<T>(stmt));
        let (granted, mut results) =
            self.require_with(deps, tenant, permission, TwoFactorPolicy::Enforce, batch).await?;
        Ok((granted, results.first_if(row)?.ok_or(AppError::NotFound)?))
    }

    /// [`Credential::require_read`] of the tenant's row `id` (an id not of
    /// `kind` is not looked up): `select` takes the id and the tenant's id,
    /// in that order.
    pub async fn require_row<T: serde::de::DeserializeOwned>(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        permission: Permission,
        (kind, id, select): (IdKind, &str, &'static str),
    ) -> Result<(Granted, T), AppError> {
        let read = looks_like(kind, id).then(|| stmt!(select, id, tenant.id()));
        self.require_read(deps, tenant, permission, read).await
    }

    /// [`Credential::require_with`] with nothing riding along.
    pub async fn require(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        permission: Permission,
        two_factor: TwoFactorPolicy,
    ) -> Result<Granted, AppError> {
        Ok(self.require_with(deps, tenant, permission, two_factor, Batch::new()).await?.0)
    }
}

/// A suspended account, or a key its creator's suspension stopped.
pub(crate) fn suspended() -> AppError {
    AppError::refused(
        ErrorCode::AccountSuspended,
        "this account is suspended by a platform administrator; its sessions and the API keys it created do not work",
    )
}

/// A SCIM token that is malformed, unknown or another org's; or a SCIM
/// token anywhere but `/scim/v2`, or another credential there.
pub(crate) fn invalid_scim_token() -> AppError {
    AppError::refused(
        ErrorCode::InvalidScimToken,
        "a SCIM token (lk_scim_…) works only on its own organization's /scim/v2/{org_id}/…, and nothing else does",
    )
}

fn invalid_key() -> AppError {
    AppError::refused(ErrorCode::InvalidApiKey, "the API key is malformed, unknown, revoked or expired")
}

fn key_principal(row: LiveKeyRow) -> KeyPrincipal {
    KeyPrincipal {
        key_id: row.id,
        name: row.name,
        scopes: scopes_of(&row.scopes),
        expires_at: row.expires_at,
        org: OrgRow {
            id: row.org_id,
            name: row.org_name,
            slug: row.org_slug,
            require_2fa: row.org_require_2fa,
            created_at: row.org_created_at,
            role: String::new(),
            joined_via: None,
            role_permissions: None,
        },
    }
}

/// What was asked of D1 about the tenant, by credential.
enum PlaceRead<'t> {
    /// No tenant named.
    None,
    /// An id that cannot exist: nothing was read.
    Impossible,
    /// A person's org row with their role.
    Org(Read<OrgRow>),
    /// A person's workspace row with their standing.
    Workspace(Read<WorkspaceRow>),
    /// A key in its org (the org came with the key).
    KeyOrg(&'t str),
    /// Whether a workspace is granted to the key's org.
    KeyWorkspace(Read<serde_json::Value>),
}

impl<'t> PlaceRead<'t> {
    fn session(batch: &mut Batch, tenant: Option<Tenant<'t>>, user_id: &str) -> Self {
        match tenant {
            None => PlaceRead::None,
            Some(t) if !possible(t) => PlaceRead::Impossible,
            Some(Tenant::Org(o)) => PlaceRead::Org(batch.read(stmt!(sql::ORG_FOR_USER, o, user_id))),
            Some(Tenant::Workspace(w)) => PlaceRead::Workspace(batch.read(stmt!(sql::WORKSPACE_FOR_USER, w, user_id))),
        }
    }

    fn key(batch: &mut Batch, tenant: Option<Tenant<'t>>, digest: &str) -> Self {
        match tenant {
            None => PlaceRead::None,
            Some(t) if !possible(t) => PlaceRead::Impossible,
            Some(Tenant::Org(o)) => PlaceRead::KeyOrg(o),
            Some(Tenant::Workspace(w)) => PlaceRead::KeyWorkspace(batch.read(stmt!(sql::GRANT_OF_KEY, w, digest))),
        }
    }

    fn read(self, results: &mut Results, key: Option<&KeyPrincipal>) -> Result<Place, AppError> {
        Ok(match self {
            PlaceRead::None => Place::None,
            PlaceRead::Impossible => Place::Hidden,
            PlaceRead::Org(r) => results.first(r)?.map_or(Place::Hidden, Place::Org),
            PlaceRead::Workspace(r) => results.first(r)?.map_or(Place::Hidden, Place::Workspace),
            PlaceRead::KeyOrg(o) => match key {
                Some(k) if k.org.id == o => Place::Org(k.org.clone()),
                _ => Place::Hidden,
            },
            PlaceRead::KeyWorkspace(r) => {
                if results.first(r)?.is_some() {
                    Place::GrantedToKey
                } else {
                    Place::Hidden
                }
            }
        })
    }
}

fn possible(tenant: Tenant<'_>) -> bool {
    match tenant {
        Tenant::Org(id) => looks_like(IdKind::Org, id),
        Tenant::Workspace(id) => looks_like(IdKind::Workspace, id),
    }
}

/// Where the caller was looked for, and what was found.
#[derive(Debug, Clone)]
enum Place {
    /// No tenant was named.
    None,
    /// Not there, or no such tenant: 404.
    Hidden,
    /// The org (a person's row carries their role).
    Org(OrgRow),
    /// The workspace as the person sees it.
    Workspace(WorkspaceRow),
    /// A workspace granted to the key's org.
    GrantedToKey,
}

/// What a person may do in an org of their own list (`GET /v1/orgs`, where
/// each row already carries their role): the permissions and invitable
/// roles its view shows, decided with the same facts as [`Caller::require`].
pub fn listed_org_powers(who: &UserPrincipal, org: &OrgRow) -> Result<(Vec<Permission>, Vec<Role>), AppError> {
    let role = stored_org_role(org)?;
    let facts = person_in_org(who, org, &role, TwoFactorPolicy::Enforce);
    Ok((
        policy::permissions_of(role.subject(), &facts),
        policy::invitable_roles(role.subject(), acting_role(&role), &facts),
    ))
}

/// The facts a person's decisions in an org rest on: whether the org's 2FA
/// rule binds them (by their `role` there), as `two_factor` applies it,
/// against whether they have 2FA.
fn person_in_org(who: &UserPrincipal, org: &OrgRow, role: &RoleValue, two_factor: TwoFactorPolicy) -> Facts {
    Facts {
        tenant: TenantKind::Org,
        via: Via::Direct,
        require_2fa: two_factor.requires(role.bound_by(TwoFactorRule::from_stored(org.require_2fa))),
        has_2fa: who.user.totp_enabled != 0,
    }
}

/// The caller's org role as a value: built in, or the custom role whose
/// permissions came with the membership row (`ORG_FOR_USER`'s LEFT JOIN).
/// A name that is neither is our bug: an internal error, never a guess.
pub fn stored_org_role(org: &OrgRow) -> Result<RoleValue, AppError> {
    if let Some(role) = Role::parse(&org.role) {
        return Ok(RoleValue::Builtin(role));
    }
    match &org.role_permissions {
        Some(raw) => Ok(RoleValue::Custom { key: org.role.clone(), permissions: custom_role::from_stored(raw) }),
        None => Err(AppError::internal(format!("unknown role in database: {}", org.role))),
    }
}

/// The role a person acts as under the membership rules: a custom role as
/// an admin (never touching owners, as an API key), always capped by its
/// own permissions (`policy::may_hand_out_value`, `policy::may_act_on`).
pub(crate) fn acting_role(role: &RoleValue) -> Role {
    match role {
        RoleValue::Builtin(r) => *r,
        RoleValue::Custom { .. } => Role::Admin,
    }
}

/// Whether an org's 2FA rule applies to this operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorPolicy {
    /// Enforce the org's `require_2fa`.
    Enforce,
    /// Allow regardless (leaving the org).
    Exempt,
}

impl TwoFactorPolicy {
    /// Whether 2FA is required, given the org's setting.
    pub fn requires(self, org_requires: bool) -> bool {
        match self {
            TwoFactorPolicy::Enforce => org_requires,
            TwoFactorPolicy::Exempt => false,
        }
    }
}

/// A role read from the database. An unknown one is our bug: an internal
/// error, never a guess.
pub fn stored_role(raw: &str) -> Result<Role, AppError> {
    Role::parse(raw).ok_or_else(|| AppError::internal(format!("unknown role in database: {raw}")))
}

/// A role given by a client: an unknown one is 422 (field `role`).
pub fn role_field(raw: &str) -> Result<Role, AppError> {
    Role::parse(raw)
        .ok_or_else(|| AppError::field(FieldError::new("role", "invalid_role", "must be owner, admin or member")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_strict_role_parse_internal_for_rows_422_for_input() {
        for raw in ["owner", "admin", "member"] {
            assert_eq!(stored_role(raw).ok().map(Role::as_str), Some(raw));
            assert_eq!(role_field(raw).ok().map(Role::as_str), Some(raw));
        }
        // A row with a role we do not know is our bug, never quietly a member.
        for raw in ["superuser", "Member", "", "owner "] {
            assert!(matches!(stored_role(raw), Err(AppError::Internal(_))), "{raw:?}");
            assert!(
                matches!(role_field(raw), Err(AppError::Validation(ref e)) if e[0].field == "role" && e[0].code == "invalid_role"),
                "{raw:?}"
            );
        }
    }
}
