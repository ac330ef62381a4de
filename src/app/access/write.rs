//! One-round-trip writes: a guard statement, bound from the policy table,
//! opens the batch so the write applies only for a caller who may.
use super::*;
use crate::app::audit::Event;

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
        let mut writes = Some(writes);
        let mut handles = None;
        let (who, ran) = self
            .write_once(deps, tenant, need, &mut |actor, batch| {
                if let Some(writes) = writes.take() {
                    handles = Some(writes(actor, batch)?);
                }
                Ok(())
            })
            .await?;
        Ok(Wrote { who, handles: handles.ok_or_else(unwritten)?, ran })
    }

    /// The body of [`Credential::write_as`], compiled once: the use case's
    /// statements are added through `writes`, behind a `dyn`, and their
    /// handles stay with the (small) generic caller.
    async fn write_once(
        &self,
        deps: &Deps,
        tenant: Tenant<'_>,
        need: Need<'_>,
        writes: Writes<'_, Actor>,
    ) -> Result<(Granted, Result<Results, DbError>), AppError> {
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
            writes(granted.actor(), &mut batch)?;
            let ran = batch.run(deps.db.as_ref()).await;
            return Ok((granted, ran));
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
        writes(&Actor::user(&claims.sub), &mut batch)?;
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
                Ok((granted, Ok(results)))
            }
            Err(failed) => {
                let granted = slow().await?;
                match failed {
                    DbError::Guard(_) => Err(changed_meanwhile()),
                    other => Ok((granted, Err(other))),
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
        let mut writes = Some(writes);
        let mut handles = None;
        let (who, ran) = self
            .person_write_once(deps, verified, &mut |user_id, batch| {
                if let Some(writes) = writes.take() {
                    handles = Some(writes(user_id, batch)?);
                }
                Ok(())
            })
            .await?;
        Ok(Wrote { who, handles: handles.ok_or_else(unwritten)?, ran })
    }

    /// The body of [`Credential::person_write`], compiled once (as
    /// [`Credential::write_once`]).
    async fn person_write_once(
        &self,
        deps: &Deps,
        verified: bool,
        writes: Writes<'_, str>,
    ) -> Result<(UserPrincipal, Result<Results, DbError>), AppError> {
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
        writes(&claims.sub, &mut batch)?;
        match batch.run(deps.db.as_ref()).await {
            Ok(mut results) => {
                let user = results
                    .first(live)?
                    .ok_or_else(|| AppError::internal("a session guard passed without its session"))?;
                Ok((UserPrincipal { user, session_id: claims.sid.clone() }, Ok(results)))
            }
            Err(failed) => {
                let who = slow().await?;
                match failed {
                    DbError::Guard(_) => Err(changed_meanwhile()),
                    other => Ok((who, Err(other))),
                }
            }
        }
    }

    /// Deletes one row of the org, bound `(id, org_id)` by `delete`, as a
    /// caller who holds `permission` (2FA rule enforced), with its audit row
    /// (`action` on `target_kind` `id`) written only if the row went: one
    /// round trip. An `id` that cannot be of `kind`, or no such row of this
    /// org, is 404, after the caller is resolved (a refusal stays a refusal).
    #[allow(clippy::too_many_arguments)]
    pub async fn delete_org_row(
        &self,
        deps: &Deps,
        org_id: &str,
        permission: Permission,
        kind: IdKind,
        id: &str,
        delete: &'static str,
        action: &'static str,
        target_kind: &'static str,
    ) -> Result<(), AppError> {
        let tenant = Tenant::Org(org_id);
        if !looks_like(kind, id) {
            let (caller, _) = self.resolve(deps, Some(tenant), Batch::new()).await?;
            caller.require(permission, TwoFactorPolicy::Enforce)?;
            return Err(AppError::NotFound);
        }
        let wrote = self
            .require_write(deps, tenant, permission, TwoFactorPolicy::Enforce, |actor, batch| {
                let deleted = batch.write(stmt!(delete, id, org_id));
                let event = Event::in_tenant(tenant, actor, action, target_kind, id, serde_json::json!({}));
                batch.add(event.stmt_if_changed(deps)?);
                Ok(deleted)
            })
            .await?;
        if wrote.ran?.changed(wrote.handles) == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
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

/// A one-round-trip write's statements, added to its batch for the writer
/// (the audit [`Actor`], or a person's id); called once.
type Writes<'w, W> = &'w mut dyn FnMut(&W, &mut Batch) -> Result<(), AppError>;

/// A write that reported success without having added its statements (it cannot).
fn unwritten() -> AppError {
    AppError::internal("a write ran without its statements")
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
    /// Orgs: the permissions needed, when a custom role holding them all
    /// would be allowed (the guard then admits such a role); None when no
    /// custom role ever is.
    custom: Option<Vec<Permission>>,
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
        let needed: Vec<Permission> = std::iter::once(permission).chain(also.iter().copied()).collect();
        let custom = (kind == TenantKind::Org && all(Subject::Custom(&needed), &direct)).then_some(needed);
        Self { roles, grant_admin, custom }
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
        let custom = self.custom.as_deref().map(custom_role::stored);
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
                own_two_factor,
                custom
            ),
            Tenant::Workspace(w) => stmt!(sql::GUARD_WORKSPACE_ROLE, sid, sub, now, w, r0, r1, r2, self.grant_admin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::TwoFactorRule;

    /// Whether the person meets their org's 2FA rule, as
    /// [`sql::MEETS_TWO_FACTOR_RULE`] (in every guard) reads it: off, 2FA
    /// on, or admins and owners only and a member. The store's tests run
    /// that SQL against `TwoFactorRule::binds`.
    fn sql_meets(rule: TwoFactorRule, org_role: Role, has_2fa: bool) -> bool {
        rule.stored() == 0 || has_2fa || (rule.stored() == 2 && org_role == Role::Member)
    }

    /// The guards' rule, as their SQL reads it, agrees with the policy table
    /// for every permission, role, 2FA rule and state, and way in: a
    /// one-trip write may never pass where `Caller::require` would refuse,
    /// nor the reverse.
    #[test]
    fn the_write_guards_apply_exactly_the_policy_table() {
        for permission in Permission::ALL {
            let org = GuardRule::of(TenantKind::Org, permission, &[]);
            assert!(!org.grant_admin, "{permission:?}: orgs have no grants");
            for role in policy::ROLES {
                for rule in TwoFactorRule::ALL {
                    for (has_2fa, enforce) in [(false, true), (false, false), (true, true), (true, false)] {
                        let facts = Facts {
                            tenant: TenantKind::Org,
                            via: Via::Direct,
                            require_2fa: enforce && rule.binds(role),
                            has_2fa,
                        };
                        let policy = policy::decide(Subject::Role(role), permission, &facts) == Verdict::Allow;
                        let guard = org.roles.contains(&role) && (!enforce || sql_meets(rule, role, has_2fa));
                        assert_eq!(
                            guard, policy,
                            "org {permission:?} {role:?} rule={rule:?} has_2fa={has_2fa} enforce={enforce}"
                        );
                    }
                }
            }
            let ws = GuardRule::of(TenantKind::Workspace, permission, &[]);
            for direct in [None, Some(Role::Owner), Some(Role::Admin), Some(Role::Member)] {
                // A grant reaches them (or not) through an org where their
                // role is `org_role`, under `rule`, with or without 2FA.
                for grant in [false, true] {
                    for org_role in policy::ROLES {
                        for rule in TwoFactorRule::ALL {
                            for has_2fa in [false, true] {
                                // What the resolver does (`WorkspaceRow::standing`): a
                                // grant counts only where the org's rule is met, by
                                // the person's role in that org.
                                let met = !rule.binds(org_role) || has_2fa;
                                let reached = grant && met;
                                let policy = match policy::effective_workspace_role(direct, reached) {
                                    None => false,
                                    Some((role, via)) => {
                                        let facts =
                                            Facts { tenant: TenantKind::Workspace, via, require_2fa: false, has_2fa };
                                        policy::decide(Subject::Role(role), permission, &facts) == Verdict::Allow
                                    }
                                };
                                let seat = matches!(direct, Some(Role::Owner | Role::Admin));
                                let guard = direct.is_some_and(|r| ws.roles.contains(&r))
                                    || (ws.grant_admin && !seat && grant && sql_meets(rule, org_role, has_2fa));
                                assert_eq!(
                                    guard, policy,
                                    "workspace {permission:?} direct={direct:?} grant={grant} org_role={org_role:?} \
                                     rule={rule:?} has_2fa={has_2fa}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// A custom role passes a guard exactly when the policy table would
    /// allow a custom role holding what the write needs: never for a
    /// person-only or owner-only permission, whatever the role names.
    #[test]
    fn a_guard_admits_custom_roles_only_for_what_a_custom_role_may_hold() {
        for p in Permission::ALL {
            for q in Permission::ALL {
                let rule = GuardRule::of(TenantKind::Org, p, &[q]);
                let holdable = policy::custom_may_hold(p) && policy::custom_may_hold(q);
                assert_eq!(rule.custom.is_some(), holdable, "{p:?} and {q:?}");
                if let Some(needed) = rule.custom {
                    assert!(needed.contains(&p) && needed.contains(&q));
                }
            }
            assert!(GuardRule::of(TenantKind::Workspace, p, &[]).custom.is_none(), "workspaces have no custom roles");
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
}
