//! Organizations and their members. Every operation starts with [`access`]:
//! the org is read together with the caller's membership (one query), and the
//! policy table decides.
use super::access::stored_role;
pub use super::access::TwoFactorPolicy;
use super::audit::{self, Actor, AuditEventView, Event};
use super::auth::{self, Principal, UserPrincipal, Verified};
use super::error::collect_fields;
use super::page::PageRequest;
use super::ErrorCode;
use super::{access, random, AppError, Deps};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::name::DisplayName;
use crate::domain::policy::{self, Facts, Permission, Role, Subject, Via};
use crate::domain::slug::Slug;
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::time::rfc3339;
use crate::stmt;
pub use crate::store::sql::OrgRow;
use crate::store::{sql, Batch, DbError};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// An org as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgView {
    /// `org_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    /// Members must have two-factor authentication on.
    pub require_2fa: bool,
    /// RFC 3339.
    pub created_at: String,
    /// The caller's role (null for an API key, which acts with its scopes).
    pub role: Option<Role>,
    /// What the caller may do here: every permission the policy table
    /// allows them, with the same facts as the real check (an org that
    /// requires 2FA they lack: none). Clients show and hide by it.
    pub permissions: Vec<Permission>,
    /// The roles the caller may invite someone with (empty without
    /// `invitations:write`); highest first.
    pub invitable_roles: Vec<Role>,
}

/// What the caller may do in `org` ([`policy::permissions_of`] and
/// [`policy::invitable_roles`]): a person by their role, with the org's 2FA
/// rule as `two_factor` applies it; an API key by its scopes (acting as
/// `admin` for the membership rules).
fn powers(
    who: &Principal,
    org: &OrgRow,
    two_factor: TwoFactorPolicy,
) -> Result<(Vec<Permission>, Vec<Role>), AppError> {
    match who {
        Principal::ApiKey(key) => {
            let facts = Facts::direct(TenantKind::Org);
            Ok((
                policy::permissions_of(key.subject(), &facts),
                policy::invitable_roles(key.subject(), Role::Admin, &facts),
            ))
        }
        Principal::User(u) => user_powers(u, org, two_factor),
    }
}

/// The facts a person's decisions in `org` rest on: the org's 2FA rule, as
/// `two_factor` applies it, against whether they have 2FA.
fn person_facts(who: &UserPrincipal, org: &OrgRow, two_factor: TwoFactorPolicy) -> Facts {
    Facts {
        tenant: TenantKind::Org,
        via: Via::Direct,
        require_2fa: two_factor.requires(org.require_2fa != 0),
        has_2fa: who.user.totp_enabled != 0,
    }
}

fn user_powers(
    who: &UserPrincipal,
    org: &OrgRow,
    two_factor: TwoFactorPolicy,
) -> Result<(Vec<Permission>, Vec<Role>), AppError> {
    let role = stored_role(&org.role)?;
    let facts = person_facts(who, org, two_factor);
    Ok((
        policy::permissions_of(Subject::Role(role), &facts),
        policy::invitable_roles(Subject::Role(role), role, &facts),
    ))
}

impl OrgRow {
    fn view(&self, (permissions, invitable_roles): (Vec<Permission>, Vec<Role>)) -> Result<OrgView, AppError> {
        Ok(OrgView {
            permissions,
            invitable_roles,
            id: self.id.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
            require_2fa: self.require_2fa != 0,
            created_at: rfc3339(self.created_at),
            // An API key's org row carries no role.
            role: if self.role.is_empty() { None } else { Some(stored_role(&self.role)?) },
        })
    }
}

/// The caller inside an org: the org and their role.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    /// The org.
    pub org: OrgRow,
    /// The caller's role. An API key counts as `admin` for the membership
    /// rules (it never creates, demotes or removes owners); its scopes decide
    /// what it may do at all.
    pub role: Role,
    /// The audit actor.
    pub actor: Actor,
    /// Every permission the caller has here, decided with the same facts
    /// as the check.
    pub permissions: Vec<Permission>,
}

/// Loads the org as `who` sees it and checks `permission`. Another tenant's
/// org, or one that does not exist, is 404; a visible one without the
/// permission is 403.
pub async fn access(
    deps: &Deps,
    who: &Principal,
    org_id: &str,
    permission: Permission,
    two_factor: TwoFactorPolicy,
) -> Result<OrgAccess, AppError> {
    if !looks_like(IdKind::Org, org_id) {
        return Err(AppError::NotFound);
    }
    let org = match who {
        Principal::User(u) => deps.db.run(stmt!(sql::ORG_FOR_USER, org_id, &u.user.id)).await?.first()?,
        // The key's org came with the key (same query): no further read.
        Principal::ApiKey(_) => None,
    };
    decide_access(who, org_id, permission, two_factor, org)
}

/// [`access`]'s decision, given what it reads: `org` is the org with the
/// person's role (`ORG_FOR_USER`; `None` when they are no member or it does
/// not exist); an API key's org came with the key.
fn decide_access(
    who: &Principal,
    org_id: &str,
    permission: Permission,
    two_factor: TwoFactorPolicy,
    org: Option<OrgRow>,
) -> Result<OrgAccess, AppError> {
    let who = match who {
        Principal::User(u) => u,
        Principal::ApiKey(key) => {
            if key.org.id != org_id {
                return Err(AppError::NotFound);
            }
            let facts = Facts::direct(TenantKind::Org);
            access::check(key.subject(), permission, &facts)?;
            let permissions = policy::permissions_of(key.subject(), &facts);
            return Ok(OrgAccess { org: key.org.clone(), role: Role::Admin, actor: key.actor(), permissions });
        }
    };
    let org = org.ok_or(AppError::NotFound)?;
    let role = stored_role(&org.role)?;
    let facts = person_facts(who, &org, two_factor);
    access::check(Subject::Role(role), permission, &facts)?;
    let permissions = policy::permissions_of(Subject::Role(role), &facts);
    Ok(OrgAccess { org, role, actor: Actor::user(&who.user.id), permissions })
}

fn require_verified(who: &UserPrincipal) -> Result<(), AppError> {
    if who.user.email_verified_at.is_none() {
        return Err(AppError::EmailNotVerified);
    }
    Ok(())
}

fn slug_suffix(deps: &Deps) -> Result<String, AppError> {
    let bytes: [u8; 3] = random(deps.rng.as_ref())?;
    Ok(hex::encode(bytes))
}

/// Creates an org; the creator becomes its owner.
pub async fn create_org(deps: &Deps, who: &UserPrincipal, name: &str, slug: Option<&str>) -> Result<OrgView, AppError> {
    require_verified(who)?;
    let name = DisplayName::parse("name", name);
    let given = slug.map(Slug::parse).transpose();
    collect_fields([name.as_ref().err().cloned(), given.as_ref().err().cloned()])?;
    let (Ok(name), Ok(given)) = (name, given) else {
        return Err(AppError::internal("unreachable: fields checked above"));
    };
    let now = deps.now();
    let actor = Actor::user(&who.user.id);
    // A derived slug that is taken gets a random suffix; a given one is the caller's choice: 409.
    for attempt in 0..4 {
        let slug = match (&given, attempt) {
            (Some(s), _) => s.clone(),
            (None, 0) => Slug::derive(name.as_str(), None),
            (None, _) => Slug::derive(name.as_str(), Some(&slug_suffix(deps)?)),
        };
        let org_id = deps.new_id(IdKind::Org)?;
        let event = Event {
            org_id: Some(&org_id),
            workspace_id: None,
            actor: &actor,
            action: "org.created",
            target_kind: "org",
            target_id: &org_id,
            data: json!({ "name": name.as_str(), "slug": slug.as_str() }),
        };
        let result = deps
            .db
            .batch(vec![
                stmt!(sql::INSERT_ORG, &org_id, name.as_str(), slug.as_str(), now),
                sql::ORG_MEMBERS.insert(&org_id, &who.user.id, Role::Owner, now),
                event.stmt(deps)?,
            ])
            .await;
        match result {
            Ok(_) => {
                return Ok(OrgView {
                    id: org_id,
                    name: name.as_str().to_owned(),
                    slug: slug.as_str().to_owned(),
                    require_2fa: false,
                    created_at: rfc3339(now),
                    role: Some(Role::Owner),
                    permissions: policy::permissions_of(Subject::Role(Role::Owner), &Facts::direct(TenantKind::Org)),
                    invitable_roles: policy::invitable_roles(
                        Subject::Role(Role::Owner),
                        Role::Owner,
                        &Facts::direct(TenantKind::Org),
                    ),
                })
            }
            Err(DbError::Unique(_)) if given.is_none() => continue,
            Err(DbError::Unique(_)) => return Err(AppError::refused(ErrorCode::SlugTaken, "that slug is taken")),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::refused(ErrorCode::SlugTaken, "could not find a free slug; give one"))
}

/// Orgs I belong to, with my role.
pub async fn list_orgs(
    deps: &Deps,
    who: &UserPrincipal,
    page: &PageRequest,
) -> Result<(Vec<OrgView>, Option<String>), AppError> {
    let (k, id, limit) = page.sql_params();
    let rows: Vec<OrgRow> = deps.db.run(stmt!(sql::ORGS_OF_USER, &who.user.id, k, id, limit)).await?.decode()?;
    let (rows, next) = page.finish(rows, |r| (r.created_at, r.id.clone()));
    let views =
        rows.iter().map(|r| r.view(user_powers(who, r, TwoFactorPolicy::Enforce)?)).collect::<Result<_, _>>()?;
    Ok((views, next))
}

/// One org, for a bearer credential, in one round trip: a person's
/// membership row rides along with the session check (one D1 batch, as
/// `POST /v1/authorize` does); an API key's org comes with the key.
pub async fn get_org(deps: &Deps, bearer: &str, org_id: &str) -> Result<OrgView, AppError> {
    let valid_id = looks_like(IdKind::Org, org_id);
    let extra = |verified: Verified<'_>| match verified {
        Verified::User(user_id) if valid_id => Some(stmt!(sql::ORG_FOR_USER, org_id, user_id)),
        _ => None,
    };
    let (who, row) = auth::authenticate_with(deps, bearer, Some(&extra)).await?;
    if !valid_id {
        return Err(AppError::NotFound);
    }
    let org = match (&who, row) {
        (Principal::User(_), Some(row)) => row.first()?,
        _ => None,
    };
    let org = decide_access(&who, org_id, Permission::OrgRead, TwoFactorPolicy::Enforce, org)?.org;
    org.view(powers(&who, &org, TwoFactorPolicy::Enforce)?)
}

/// A settings change.
#[derive(Debug, Default)]
pub struct OrgPatch<'a> {
    /// New name.
    pub name: Option<&'a str>,
    /// New slug.
    pub slug: Option<&'a str>,
    /// Require 2FA of every member.
    pub require_2fa: Option<bool>,
}

/// Updates name, slug (admin+) and the 2FA policy (owner, who must have 2FA on).
pub async fn update_org(deps: &Deps, who: &Principal, org_id: &str, patch: OrgPatch<'_>) -> Result<OrgView, AppError> {
    let name = patch.name.map(|n| DisplayName::parse("name", n)).transpose();
    let slug = patch.slug.map(Slug::parse).transpose();
    collect_fields([name.as_ref().err().cloned(), slug.as_ref().err().cloned()])?;
    let (Ok(name), Ok(slug)) = (name, slug) else {
        return Err(AppError::internal("unreachable: fields checked above"));
    };
    let needed = if patch.require_2fa.is_some() { Permission::OrgDelete } else { Permission::OrgWrite };
    let access = access(deps, who, org_id, needed, TwoFactorPolicy::Enforce).await?;
    if patch.require_2fa.is_some() {
        // Setting the 2FA rule is the owner's, who must have 2FA on themself.
        let facts =
            Facts { require_2fa: true, has_2fa: who.user()?.user.totp_enabled != 0, ..Facts::direct(TenantKind::Org) };
        access::check(Subject::Role(access.role), needed, &facts)?;
    }
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: &access.actor,
        action: "org.updated",
        target_kind: "org",
        target_id: org_id,
        data: json!({ "name": name.as_ref().map(|n| n.as_str()), "slug": slug.as_ref().map(|s| s.as_str()),
                      "require_2fa": patch.require_2fa }),
    };
    let mut batch = Batch::new();
    batch.add(stmt!(
        sql::UPDATE_ORG,
        org_id,
        name.as_ref().map(|n| n.as_str()),
        slug.as_ref().map(|s| s.as_str()),
        patch.require_2fa,
        deps.now()
    ));
    batch.add(event.stmt_if_changed(deps)?);
    let updated = batch.read::<OrgRow>(stmt!(sql::ORG_BY_ID, org_id));
    match batch.run(deps.db.as_ref()).await {
        Ok(mut results) => {
            let mut org = results.first(updated)?.ok_or(AppError::NotFound)?;
            org.role = access.org.role.clone();
            org.view(powers(who, &org, TwoFactorPolicy::Enforce)?)
        }
        Err(DbError::Unique(_)) => Err(AppError::refused(ErrorCode::SlugTaken, "that slug is taken")),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the org and everything of it (members, invitations, audit) in one statement (cascades).
/// Person-only (`org:delete`): an API key gets 403 `user_required`, whatever its scopes.
pub async fn delete_org(deps: &Deps, who: &Principal, org_id: &str) -> Result<(), AppError> {
    let a = access(deps, who, org_id, Permission::OrgDelete, TwoFactorPolicy::Enforce).await?;
    // The org's last event: its notification rows outlive it (no foreign key
    // to orgs), so `org.deleted` still reaches its channels.
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: &a.actor,
        action: "org.deleted",
        target_kind: "org",
        target_id: org_id,
        data: json!({ "name": a.org.name, "slug": a.org.slug }),
    };
    deps.db
        .batch(vec![
            event.stmt(deps)?,
            stmt!(sql::MARK_CHANNELS_ORPHANED, org_id, deps.now()),
            stmt!(sql::DELETE_ORG, org_id),
        ])
        .await?;
    Ok(())
}

/// The org's audit log, newest first (admin+, or a key with `audit:read`).
pub async fn audit_log(
    deps: &Deps,
    who: &Principal,
    org_id: &str,
    page: &PageRequest,
) -> Result<(Vec<AuditEventView>, Option<String>), AppError> {
    access(deps, who, org_id, Permission::AuditRead, TwoFactorPolicy::Enforce).await?;
    audit::list_events(deps, Tenant::Org(org_id), page).await
}
