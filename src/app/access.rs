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
use super::audit::Actor;
use super::auth::{scopes_of, KeyPrincipal, Principal, UserPrincipal};
use super::workspaces::OrgRef;
use super::AppError;
use super::{Deps, ErrorCode};
use crate::domain::api_key::ApiKey;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::policy::{self, Facts, Permission, Role, Subject, Verdict, Via};
use crate::domain::session::AccessClaims;
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, LiveKeyRow, OrgRow, UserRow, WorkspaceRow};
use crate::store::{Batch, DbError, Read, Results};

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
    },
}

impl Credential {
    /// Reads the `Authorization: Bearer` value: none, or a token that does not
    /// verify, is 401; a malformed key is 401 `invalid_api_key`.
    pub fn from_bearer(deps: &Deps, bearer: Option<&str>) -> Result<Self, AppError> {
        let bearer = bearer.ok_or(AppError::Unauthenticated)?;
        if bearer.starts_with(crate::domain::api_key::PREFIX) {
            // Malformed and bad checksum answer alike.
            let key = ApiKey::parse(bearer).map_err(|_| invalid_key())?;
            return Ok(Credential::Key { digest: key.digest() });
        }
        let claims =
            deps.tokens.verify(&deps.config.keys, bearer, deps.now()).map_err(|_| AppError::Unauthenticated)?;
        Ok(Credential::Session(claims))
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
                let place = place.read(&mut results, None)?;
                let principal = Principal::User(UserPrincipal { user, session_id: claims.sid.clone() });
                Ok((Caller { principal, place, asked: tenant.map(Tenant::kind) }, results))
            }
            Credential::Key { digest } => {
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
                if !allowed {
                    return Err(AppError::RateLimited {
                        retry_after: 60,
                        detail: "this API key is over its request rate".into(),
                    });
                }
                if row.last_used_at.is_none_or(|t| t <= now - 60) {
                    deps.after_response(stmt!(sql::TOUCH_API_KEY, &row.id, now));
                }
                let key = key_principal(row);
                let place = place.read(&mut results, Some(&key))?;
                Ok((Caller { principal: Principal::ApiKey(key), place, asked: tenant.map(Tenant::kind) }, results))
            }
        }
    }

    /// The user id an access token names (verified, not yet confirmed live).
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Credential::Session(claims) => Some(&claims.sub),
            Credential::Key { .. } => None,
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

impl Credential {
    /// A write in one round trip, for a person: their session is confirmed,
    /// the tenant row read and a guard statement (the policy table's rule
    /// for `permission`, in SQL) opens the batch, so `writes` (given the
    /// audit actor) apply only if the caller may; one D1 batch in all. An
    /// API key is looked up first (its id, which audit rows name, is known
    /// only then): two trips.
    ///
    /// When the batch fails, the resolution alone (a second trip, on that
    /// path only) tells a refusal (its own error) from the write's failure,
    /// which is handed back (a refused guard that is allowed now: 409
    /// `conflict`). Writes that carry guards of their own (`GUARD_CHANGED`)
    /// do not come this way.
    pub async fn require_write<T>(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        permission: Permission,
        two_factor: TwoFactorPolicy,
        writes: impl FnOnce(&Actor, &mut Batch) -> Result<T, AppError>,
    ) -> Result<Wrote<Granted, T>, AppError> {
        let need = Need { permission, also: &[], two_factor, own_two_factor: false, check: &|_| Ok(()) };
        self.write_as(deps, tenant, need, writes).await
    }

    /// [`Credential::require_write`] for a write that also needs each of
    /// `also` (the guard's roles are those that have them all), where
    /// `check` names a refusal in the use case's own words (run where the
    /// write waits for the resolution: an API key's, or a refused guard's
    /// second trip).
    pub async fn require_write_checked<T>(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        permission: Permission,
        also: &[Permission],
        check: &dyn Fn(&Granted) -> Result<(), AppError>,
        writes: impl FnOnce(&Actor, &mut Batch) -> Result<T, AppError>,
    ) -> Result<Wrote<Granted, T>, AppError> {
        let need = Need { permission, also, two_factor: TwoFactorPolicy::Enforce, own_two_factor: false, check };
        self.write_as(deps, tenant, need, writes).await
    }

    /// [`Credential::require_write`], where the person must have 2FA on
    /// themself whatever the org requires (setting the org's 2FA rule).
    pub async fn require_write_with_two_factor<T>(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        permission: Permission,
        writes: impl FnOnce(&Actor, &mut Batch) -> Result<T, AppError>,
    ) -> Result<Wrote<Granted, T>, AppError> {
        let need = Need {
            permission,
            also: &[],
            two_factor: TwoFactorPolicy::Enforce,
            own_two_factor: true,
            check: &|_| Ok(()),
        };
        self.write_as(deps, tenant, need, writes).await
    }

    async fn write_as<T>(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        need: Need<'_>,
        writes: impl FnOnce(&Actor, &mut Batch) -> Result<T, AppError>,
    ) -> Result<Wrote<Granted, T>, AppError> {
        let Need { permission, also, two_factor, own_two_factor, check } = need;
        let decided = |caller: &Caller| -> Result<Granted, AppError> {
            let granted = caller.require(permission, two_factor)?;
            if own_two_factor {
                granted.require_with_two_factor(permission)?;
            }
            check(&granted)?;
            Ok(granted)
        };
        let slow = || async {
            let (caller, _) = self.resolve(deps, Some(tenant), Batch::new()).await?;
            decided(&caller)
        };
        let Credential::Session(claims) = self else {
            let granted = slow().await?;
            let mut batch = Batch::new();
            let handles = writes(granted.actor(), &mut batch)?;
            let ran = batch.run(deps.db.as_ref()).await;
            return Ok(Wrote { who: granted, handles, ran });
        };
        if !possible(tenant) {
            // Nothing to write to: the resolution says 401 or 404.
            slow().await?;
            return Err(AppError::NotFound);
        }
        let now = deps.now();
        let mut batch = Batch::new();
        let live = batch.read::<UserRow>(stmt!(sql::LIVE_SESSION_USER, &claims.sid, &claims.sub, now));
        let place = PlaceRead::session(&mut batch, Some(tenant), &claims.sub);
        let rule = GuardRule::of(tenant.kind(), permission, also);
        batch.add(rule.stmt(claims, now, tenant, two_factor, own_two_factor));
        let handles = writes(&Actor::user(&claims.sub), &mut batch)?;
        match batch.run(deps.db.as_ref()).await {
            Ok(mut results) => {
                let user = results
                    .first(live)?
                    .ok_or_else(|| AppError::internal("a session guard passed without its session"))?;
                let principal = Principal::User(UserPrincipal { user, session_id: claims.sid.clone() });
                let place = place.read(&mut results, None)?;
                let caller = Caller { principal, place, asked: Some(tenant.kind()) };
                let granted = decided(&caller)
                    .map_err(|e| AppError::internal(format!("a write guard and the policy table disagree: {e:?}")))?;
                Ok(Wrote { who: granted, handles, ran: Ok(results) })
            }
            Err(failed) => {
                let granted = slow().await?;
                match failed {
                    DbError::Guard(_) => Err(changed_meanwhile()),
                    other => Ok(Wrote { who: granted, handles, ran: Err(other) }),
                }
            }
        }
    }

    /// A person's write in one round trip: a guard (a live session, and with
    /// `verified` a verified email address) opens the batch, so `writes`
    /// (given the person's id) apply only for them. On failure, as
    /// [`Credential::require_write`].
    pub async fn person_write<T>(
        &self,
        deps: &Deps,
        verified: bool,
        writes: impl FnOnce(&str, &mut Batch) -> Result<T, AppError>,
    ) -> Result<Wrote<UserPrincipal, T>, AppError> {
        let slow = || async {
            let who = self.person(deps).await?;
            if verified && who.user.email_verified_at.is_none() {
                return Err(AppError::EmailNotVerified);
            }
            Ok(who)
        };
        let Credential::Session(claims) = self else {
            // Routes for people refuse keys before this: user_required.
            let who = slow().await?;
            return Err(AppError::internal(format!("a key wrote as the person {}", who.user.id)));
        };
        let now = deps.now();
        let mut batch = Batch::new();
        let live = batch.read::<UserRow>(stmt!(sql::LIVE_SESSION_USER, &claims.sid, &claims.sub, now));
        batch.add(stmt!(sql::GUARD_LIVE_SESSION, &claims.sid, &claims.sub, now, verified));
        let handles = writes(&claims.sub, &mut batch)?;
        match batch.run(deps.db.as_ref()).await {
            Ok(mut results) => {
                let user = results
                    .first(live)?
                    .ok_or_else(|| AppError::internal("a session guard passed without its session"))?;
                Ok(Wrote { who: UserPrincipal { user, session_id: claims.sid.clone() }, handles, ran: Ok(results) })
            }
            Err(failed) => {
                let who = slow().await?;
                match failed {
                    DbError::Guard(_) => Err(changed_meanwhile()),
                    other => Ok(Wrote { who, handles, ran: Err(other) }),
                }
            }
        }
    }
}

/// What a one-round-trip write needs of its caller.
struct Need<'a> {
    permission: Permission,
    also: &'a [Permission],
    two_factor: TwoFactorPolicy,
    own_two_factor: bool,
    check: &'a dyn Fn(&Granted) -> Result<(), AppError>,
}

/// What a one-round-trip write did: who wrote, the handles `writes` gave,
/// and the batch's outcome (a failure of the write itself, such as a
/// unique violation, for the use case to name).
#[derive(Debug)]
pub struct Wrote<W, T> {
    /// The capability (or the person) the write was made with.
    pub who: W,
    /// What `writes` returned (its batch handles).
    pub handles: T,
    /// The batch's results, or the write's own failure.
    pub ran: Result<Results, DbError>,
}

fn changed_meanwhile() -> AppError {
    AppError::refused(ErrorCode::Conflict, "your access changed while this was being done; try again")
}

/// What a write guard ([`sql::GUARD_ORG_ROLE`], [`sql::GUARD_WORKSPACE_ROLE`])
/// is bound with, read off the policy table: the roles that have
/// `permission` directly, and whether an admin through a grant has it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GuardRule {
    roles: Vec<Role>,
    grant_admin: bool,
}

impl GuardRule {
    /// The rule for `permission` and each of `also` (all of them needed).
    fn of(kind: TenantKind, permission: Permission, also: &[Permission]) -> Self {
        let direct = Facts { tenant: kind, via: Via::Direct, require_2fa: false, has_2fa: false };
        let grant = Facts { via: Via::Grant, ..direct };
        let all = |subject: Subject<'_>, facts: &Facts| {
            std::iter::once(&permission).chain(also).all(|p| verdict(subject, *p, facts) == Verdict::Allow)
        };
        let roles = policy::ROLES.into_iter().filter(|r| all(Subject::Role(*r), &direct)).collect();
        let grant_admin = kind == TenantKind::Workspace && all(Subject::Role(Role::Admin), &grant);
        Self { roles, grant_admin }
    }

    fn role(&self, i: usize) -> Option<&'static str> {
        self.roles.get(i).map(|r| r.as_str())
    }

    fn stmt(
        &self,
        claims: &AccessClaims,
        now: i64,
        tenant: Tenant<'_>,
        two_factor: TwoFactorPolicy,
        own_two_factor: bool,
    ) -> crate::store::Stmt {
        let (sid, sub) = (&claims.sid, &claims.sub);
        let (r0, r1, r2) = (self.role(0), self.role(1), self.role(2));
        match tenant {
            Tenant::Org(o) => stmt!(
                sql::GUARD_ORG_ROLE,
                sid,
                sub,
                now,
                o,
                r0,
                r1,
                r2,
                two_factor == TwoFactorPolicy::Enforce,
                own_two_factor
            ),
            Tenant::Workspace(w) => stmt!(sql::GUARD_WORKSPACE_ROLE, sid, sub, now, w, r0, r1, r2, self.grant_admin),
        }
    }
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

/// The caller, confirmed live, and where they stand in the tenant the
/// route names. Decisions come from [`Caller::require`] only.
#[derive(Debug, Clone)]
pub struct Caller {
    principal: Principal,
    place: Place,
    /// The kind of tenant the route named, if any.
    asked: Option<TenantKind>,
}

/// A decision `POST /v1/authorize` shows, with what it rested on.
#[derive(Debug, Clone)]
pub enum Judgement {
    /// The tenant is not visible to the caller.
    Hidden,
    /// A person, by their role here.
    Role {
        /// The verdict.
        verdict: Verdict,
        /// Their (effective) role.
        role: Role,
        /// Through a grant: the org (the one whose 2FA rule they miss, when
        /// that is the verdict).
        via_org: Option<OrgRef>,
    },
    /// An API key, by its scopes.
    Key {
        /// The verdict.
        verdict: Verdict,
        /// The key.
        key: KeyPrincipal,
    },
}

impl Caller {
    /// Who is calling.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The signed-in person; an API key gets 403 `user_required`.
    pub fn into_user(self) -> Result<UserPrincipal, AppError> {
        match self.principal {
            Principal::User(u) => Ok(u),
            Principal::ApiKey(_) => Err(AppError::UserRequired),
        }
    }

    /// Asks the policy table whether the caller may do `permission` in the
    /// tenant resolved for them: not visible is 404, visible without the
    /// permission 403 (or the refusal's own code). Workspaces are for
    /// people: an API key gets 403 `user_required` there.
    pub fn require(&self, permission: Permission, two_factor: TwoFactorPolicy) -> Result<Granted, AppError> {
        let (subject_role, facts, place) = self.standing(two_factor)?;
        let subject = match &self.principal {
            Principal::ApiKey(k) => k.subject(),
            Principal::User(_) => Subject::Role(subject_role),
        };
        match verdict(subject, permission, &facts) {
            Verdict::Allow => Ok(Granted {
                actor: self.principal.actor(),
                principal: self.principal.clone(),
                role: subject_role,
                facts,
                place,
            }),
            refused => Err(refusal(refused, permission, facts.tenant)),
        }
    }

    /// The role the decisions here are made with, their facts and the place;
    /// or why there is none.
    fn standing(&self, two_factor: TwoFactorPolicy) -> Result<(Role, Facts, GrantedPlace), AppError> {
        match (&self.principal, &self.place) {
            (_, Place::None) => Err(AppError::internal("a tenant decision without a tenant")),
            (Principal::ApiKey(_), Place::Workspace(_) | Place::GrantedToKey) => Err(AppError::UserRequired),
            (Principal::ApiKey(_), Place::Hidden) if self.workspace_asked() => Err(AppError::UserRequired),
            (_, Place::Hidden) => Err(AppError::NotFound),
            // An API key counts as `admin` for the membership rules (it never
            // creates, demotes or removes owners); its scopes decide what it
            // may do at all.
            (Principal::ApiKey(_), Place::Org(org)) => {
                Ok((Role::Admin, Facts::direct(TenantKind::Org), GrantedPlace::Org(org.clone())))
            }
            (Principal::User(u), Place::Org(org)) => {
                let facts = Facts {
                    tenant: TenantKind::Org,
                    via: Via::Direct,
                    require_2fa: two_factor.requires(org.require_2fa != 0),
                    has_2fa: u.user.totp_enabled != 0,
                };
                Ok((stored_role(&org.role)?, facts, GrantedPlace::Org(org.clone())))
            }
            (Principal::User(u), Place::Workspace(row)) => {
                let (role, facts) = row.standing(u.user.totp_enabled != 0)?.ok_or(AppError::NotFound)?;
                Ok((role, facts, GrantedPlace::Workspace(row.clone())))
            }
            (Principal::User(_), Place::GrantedToKey) => Err(AppError::internal("a key's grant for a person")),
        }
    }

    /// Whether the route named a workspace (for a key there: `user_required`,
    /// whether or not the workspace is granted to its org).
    fn workspace_asked(&self) -> bool {
        self.asked == Some(TenantKind::Workspace)
    }

    /// The decision, with what it rested on, for `POST /v1/authorize`
    /// (where an API key may ask about a workspace granted to its org).
    pub fn judge(&self, permission: Permission) -> Result<Judgement, AppError> {
        Ok(match (&self.principal, &self.place) {
            (_, Place::None | Place::Hidden) => Judgement::Hidden,
            (Principal::ApiKey(k), Place::Org(_)) => Judgement::Key {
                verdict: verdict(k.subject(), permission, &Facts::direct(TenantKind::Org)),
                key: k.clone(),
            },
            (Principal::ApiKey(k), Place::GrantedToKey) => {
                let facts =
                    Facts { tenant: TenantKind::Workspace, via: Via::Grant, require_2fa: false, has_2fa: false };
                Judgement::Key { verdict: verdict(k.subject(), permission, &facts), key: k.clone() }
            }
            (Principal::ApiKey(_), Place::Workspace(_)) | (Principal::User(_), Place::GrantedToKey) => {
                return Err(AppError::internal("a place read for another credential"))
            }
            (Principal::User(_), Place::Org(_)) => {
                let (role, facts, _) = self.standing(TwoFactorPolicy::Enforce)?;
                Judgement::Role { verdict: verdict(Subject::Role(role), permission, &facts), role, via_org: None }
            }
            (Principal::User(u), Place::Workspace(row)) => {
                let Some((role, facts)) = row.standing(u.user.totp_enabled != 0)? else { return Ok(Judgement::Hidden) };
                let verdict = verdict(Subject::Role(role), permission, &facts);
                let via_org = match (verdict, facts.via) {
                    (Verdict::TwoFactorRequired, _) => Some(row.needs_2fa_org()?),
                    (_, Via::Grant) => Some(row.via_org()),
                    (_, Via::Direct) => None,
                };
                Judgement::Role { verdict, role, via_org }
            }
        })
    }
}

/// Where a [`Granted`] capability holds.
#[derive(Debug, Clone)]
enum GrantedPlace {
    Org(OrgRow),
    Workspace(WorkspaceRow),
}

/// The capability [`Caller::require`] hands out: the policy table allowed
/// this caller a permission in this tenant. Its fields are private; the
/// tenant use cases take it, so none can run without a decision.
#[derive(Debug, Clone)]
pub struct Granted {
    principal: Principal,
    actor: Actor,
    role: Role,
    facts: Facts,
    place: GrantedPlace,
}

impl Granted {
    /// The tenant.
    pub fn tenant(&self) -> Tenant<'_> {
        match &self.place {
            GrantedPlace::Org(o) => Tenant::Org(&o.id),
            GrantedPlace::Workspace(w) => Tenant::Workspace(&w.id),
        }
    }

    /// The role decisions here are made with (an API key: `admin`, within its scopes).
    pub fn role(&self) -> Role {
        self.role
    }

    /// How the caller is here, and what else decisions here depend on.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The acting person (None: an API key).
    pub fn person(&self) -> Option<&UserPrincipal> {
        match &self.principal {
            Principal::User(u) => Some(u),
            Principal::ApiKey(_) => None,
        }
    }

    /// The acting person's id.
    pub fn person_id(&self) -> Option<&str> {
        self.person().map(|u| u.user.id.as_str())
    }

    /// Who to record in the audit log.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The subject of decisions here: the role, or a key's scopes.
    pub fn subject(&self) -> Subject<'_> {
        match &self.principal {
            Principal::ApiKey(k) => k.subject(),
            Principal::User(_) => Subject::Role(self.role),
        }
    }

    /// The caller's own membership role (None: a key, or here only through a grant).
    pub fn direct(&self) -> Result<Option<Role>, AppError> {
        match (&self.principal, &self.place) {
            (Principal::ApiKey(_), _) => Ok(None),
            (Principal::User(_), GrantedPlace::Org(_)) => Ok(Some(self.role)),
            (Principal::User(_), GrantedPlace::Workspace(w)) => w.direct(),
        }
    }

    /// Every permission the caller has here (the same facts as the check).
    pub fn permissions(&self) -> Vec<Permission> {
        policy::permissions_of(self.subject(), &self.facts)
    }

    /// Whether the caller has `permission` here too.
    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// The roles the caller may invite someone with here.
    pub fn invitable_roles(&self) -> Vec<Role> {
        policy::invitable_roles(self.subject(), self.role, &self.facts)
    }

    /// Requires `permission` as if the org required two-factor
    /// authentication: what setting that rule needs of the one who sets it.
    pub fn require_with_two_factor(&self, permission: Permission) -> Result<(), AppError> {
        let facts = Facts { require_2fa: true, ..self.facts };
        match verdict(self.subject(), permission, &facts) {
            Verdict::Allow => Ok(()),
            refused => Err(refusal(refused, permission, facts.tenant)),
        }
    }

    /// The org (org tenants).
    pub fn org(&self) -> Option<&OrgRow> {
        match &self.place {
            GrantedPlace::Org(o) => Some(o),
            GrantedPlace::Workspace(_) => None,
        }
    }

    /// The workspace as the caller sees it (workspace tenants).
    pub fn workspace(&self) -> Option<&WorkspaceRow> {
        match &self.place {
            GrantedPlace::Workspace(w) => Some(w),
            GrantedPlace::Org(_) => None,
        }
    }
}

/// What a person may do in an org of their own list (`GET /v1/orgs`, where
/// each row already carries their role): the permissions and invitable
/// roles its view shows, decided with the same facts as [`Caller::require`].
pub fn listed_org_powers(who: &UserPrincipal, org: &OrgRow) -> Result<(Vec<Permission>, Vec<Role>), AppError> {
    let role = stored_role(&org.role)?;
    let facts = Facts {
        tenant: TenantKind::Org,
        via: Via::Direct,
        require_2fa: org.require_2fa != 0,
        has_2fa: who.user.totp_enabled != 0,
    };
    Ok((
        policy::permissions_of(Subject::Role(role), &facts),
        policy::invitable_roles(Subject::Role(role), role, &facts),
    ))
}

/// The one call of `policy::decide` outside the domain: every decision of
/// the resolver (what [`Caller::require`] and [`Caller::judge`] decide, the
/// write guards' rule, a capability's second check) goes through here.
fn verdict(subject: Subject<'_>, permission: Permission, facts: &Facts) -> Verdict {
    policy::decide(subject, permission, facts)
}

/// Whether an org's `require_2fa` applies to this operation.
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

fn refusal(verdict: Verdict, permission: Permission, tenant: TenantKind) -> AppError {
    match verdict {
        Verdict::Allow | Verdict::Forbidden => AppError::Forbidden,
        Verdict::UserRequired => AppError::UserRequired,
        Verdict::MissingScope => AppError::refused(
            ErrorCode::InsufficientScope,
            format!("this API key lacks the {} scope", permission.as_str()),
        ),
        Verdict::TwoFactorRequired => AppError::refused(
            ErrorCode::TwoFactorRequired,
            match tenant {
                TenantKind::Org => "this organization requires two-factor authentication: turn it on first",
                TenantKind::Workspace => {
                    "your access comes through an organization that requires two-factor authentication"
                }
            },
        ),
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

    /// The guards' rule, as their SQL reads it, agrees with the policy table
    /// for every permission, role, 2FA state and way in: a one-trip write
    /// may never pass where `Caller::require` would refuse, nor the reverse.
    #[test]
    fn the_write_guards_apply_exactly_the_policy_table() {
        for permission in Permission::ALL {
            let org = GuardRule::of(TenantKind::Org, permission, &[]);
            assert!(!org.grant_admin, "{permission:?}: orgs have no grants");
            for role in policy::ROLES {
                for (require_2fa, has_2fa, enforce) in [false, true]
                    .into_iter()
                    .flat_map(|a| [false, true].into_iter().flat_map(move |b| [(a, b, true), (a, b, false)]))
                {
                    let facts = Facts {
                        tenant: TenantKind::Org,
                        via: Via::Direct,
                        require_2fa: enforce && require_2fa,
                        has_2fa,
                    };
                    let policy = policy::decide(Subject::Role(role), permission, &facts) == Verdict::Allow;
                    let guard = org.roles.contains(&role) && (!enforce || !require_2fa || has_2fa);
                    assert_eq!(
                        guard, policy,
                        "org {permission:?} {role:?} require_2fa={require_2fa} has_2fa={has_2fa} enforce={enforce}"
                    );
                }
            }
            let ws = GuardRule::of(TenantKind::Workspace, permission, &[]);
            for direct in [None, Some(Role::Owner), Some(Role::Admin), Some(Role::Member)] {
                // `grant`: a grant reaches them through an org whose 2FA rule they meet.
                for grant in [false, true] {
                    let policy = match policy::effective_workspace_role(direct, grant) {
                        None => false,
                        Some((role, via)) => {
                            let facts =
                                Facts { tenant: TenantKind::Workspace, via, require_2fa: false, has_2fa: false };
                            policy::decide(Subject::Role(role), permission, &facts) == Verdict::Allow
                        }
                    };
                    let seat = matches!(direct, Some(Role::Owner | Role::Admin));
                    let guard = direct.is_some_and(|r| ws.roles.contains(&r)) || (ws.grant_admin && !seat && grant);
                    assert_eq!(guard, policy, "workspace {permission:?} direct={direct:?} grant={grant}");
                }
            }
        }
    }

    /// A write that needs several permissions (a key's scopes, a channel's
    /// event types) is guarded by the roles that have them all.
    #[test]
    fn a_guard_for_several_permissions_admits_only_roles_that_have_them_all() {
        let direct = Facts { tenant: TenantKind::Org, via: Via::Direct, require_2fa: false, has_2fa: false };
        for p in Permission::ALL {
            for q in Permission::ALL {
                let rule = GuardRule::of(TenantKind::Org, p, &[q]);
                for role in policy::ROLES {
                    let both =
                        [p, q].iter().all(|x| policy::decide(Subject::Role(role), *x, &direct) == Verdict::Allow);
                    assert_eq!(rule.roles.contains(&role), both, "{p:?} and {q:?} for {role:?}");
                }
            }
        }
    }

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

    fn person(totp: bool) -> Principal {
        // The columns `LIVE_SESSION_USER` reads.
        let row = serde_json::json!({"id": "usr_1", "email": "a@example.com", "name": "A",
            "email_verified_at": 1, "totp_enabled": i64::from(totp), "created_at": 1});
        Principal::User(UserPrincipal { user: serde_json::from_value(row).unwrap(), session_id: "ses_1".into() })
    }

    fn org(role: &str, require_2fa: bool) -> OrgRow {
        OrgRow {
            id: "org_1".into(),
            name: "Acme".into(),
            slug: "acme".into(),
            require_2fa: i64::from(require_2fa),
            created_at: 1,
            role: role.into(),
        }
    }

    #[test]
    fn refusals_map_to_their_codes() {
        let caller = |principal, place| Caller { principal, place, asked: Some(TenantKind::Org) };
        let two_factor = caller(person(false), Place::Org(org("owner", true)));
        let err = two_factor.require(Permission::OrgRead, TwoFactorPolicy::Enforce);
        assert!(matches!(err, Err(AppError::Refused { code: ErrorCode::TwoFactorRequired, .. })), "{err:?}");
        assert!(two_factor.require(Permission::OrgRead, TwoFactorPolicy::Exempt).is_ok(), "leaving is exempt");
        let member = caller(person(false), Place::Org(org("member", false)));
        assert!(matches!(member.require(Permission::OrgWrite, TwoFactorPolicy::Enforce), Err(AppError::Forbidden)));
        let hidden = caller(person(false), Place::Hidden);
        assert!(matches!(hidden.require(Permission::OrgRead, TwoFactorPolicy::Enforce), Err(AppError::NotFound)));
        let key = |scopes: Vec<Permission>| KeyPrincipal {
            key_id: "key_1".into(),
            name: "ci".into(),
            org: org("", false),
            scopes,
            expires_at: None,
        };
        let bare = caller(Principal::ApiKey(key(vec![])), Place::Org(org("", false)));
        let err = bare.require(Permission::OrgRead, TwoFactorPolicy::Enforce);
        assert!(matches!(err, Err(AppError::Refused { code: ErrorCode::InsufficientScope, .. })), "{err:?}");
        let all = caller(Principal::ApiKey(key(Permission::ALL.to_vec())), Place::Org(org("", false)));
        assert!(matches!(all.require(Permission::OrgDelete, TwoFactorPolicy::Enforce), Err(AppError::UserRequired)));
        // Workspaces are for people, granted to the key's org or not.
        for place in [Place::GrantedToKey, Place::Hidden] {
            let ws = Caller {
                principal: Principal::ApiKey(key(Permission::ALL.to_vec())),
                place,
                asked: Some(TenantKind::Workspace),
            };
            assert!(matches!(ws.require(Permission::OrgRead, TwoFactorPolicy::Enforce), Err(AppError::UserRequired)));
        }
    }
}
