//! Organizations. Every operation on one starts with the resolver
//! ([`Credential::require`]): the org is read with the caller's membership in
//! the same batch as the credential check, and the policy table decides.
pub use super::access::TwoFactorPolicy;
use super::access::{Credential, Granted};
use super::audit::{self, Actor, AuditEventView, Event};
use super::error::collect_fields;
use super::page::PageRequest;
use super::ErrorCode;
use super::{access, random, AppError, Deps};
use crate::domain::ids::IdKind;
use crate::domain::name::DisplayName;
use crate::domain::policy::{self, Facts, Permission, Role, Subject, TwoFactorRule};
use crate::domain::slug::Slug;
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::time::rfc3339;
use crate::stmt;
pub use crate::store::sql::OrgRow;
use crate::store::{sql, Batch, DbError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// An org as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgView {
    /// `org_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    /// Two-factor authentication is required of someone here (of
    /// everyone, or of admins and owners only: `require_2fa_for`).
    pub require_2fa: bool,
    /// Whom the 2FA rule binds: `all`, `admins_and_owners`, or null when
    /// `require_2fa` is false.
    pub require_2fa_for: Option<TwoFactorRule>,
    /// RFC 3339.
    pub created_at: String,
    /// The caller's role (null for an API key, which acts with its scopes):
    /// `owner`, `admin`, `member`, or the key of one of the org's custom roles.
    #[schema(example = "admin")]
    pub role: Option<String>,
    /// What the caller may do here: every permission the policy table
    /// allows them, with the same facts as the real check (an org that
    /// requires 2FA they lack: none). Clients show and hide by it.
    pub permissions: Vec<Permission>,
    /// The roles the caller may invite someone with (empty without
    /// `invitations:write`); highest first.
    pub invitable_roles: Vec<Role>,
    /// The roles the caller may share a join link (or approve a membership
    /// request) with: the invitable ones but owner; highest first.
    pub join_link_roles: Vec<Role>,
}

/// What the caller may do in the org they were granted, for its view.
fn powers(granted: &Granted) -> (Vec<Permission>, Vec<Role>) {
    (granted.permissions(), granted.invitable_roles())
}

impl OrgRow {
    /// The org's 2FA rule.
    pub fn rule(&self) -> TwoFactorRule {
        TwoFactorRule::from_stored(self.require_2fa)
    }

    fn view(&self, (permissions, invitable_roles): (Vec<Permission>, Vec<Role>)) -> Result<OrgView, AppError> {
        Ok(OrgView {
            permissions,
            join_link_roles: crate::domain::join_link::roles_offered(&invitable_roles),
            invitable_roles,
            id: self.id.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
            require_2fa: self.rule() != TwoFactorRule::Off,
            require_2fa_for: Some(self.rule()).filter(|r| *r != TwoFactorRule::Off),
            created_at: rfc3339(self.created_at),
            // An API key's org row carries no role.
            role: if self.role.is_empty() { None } else { Some(access::stored_org_role(self)?.name().to_owned()) },
        })
    }
}

fn slug_suffix(deps: &Deps) -> Result<String, AppError> {
    let bytes: [u8; 3] = random(deps.rng.as_ref())?;
    Ok(hex::encode(bytes))
}

/// Creates an org; the creator becomes its owner.
pub async fn create_org(deps: &Deps, who: &Credential, name: &str, slug: Option<&str>) -> Result<OrgView, AppError> {
    let name = DisplayName::parse("name", name);
    let given = slug.map(Slug::parse).transpose();
    collect_fields([name.as_ref().err().cloned(), given.as_ref().err().cloned()])?;
    let (Ok(name), Ok(given)) = (name, given) else {
        return Err(AppError::internal("unreachable: fields checked above"));
    };
    let now = deps.now();
    // A derived slug that is taken gets a random suffix; a given one is the caller's choice: 409.
    for attempt in 0..4 {
        let slug = match (&given, attempt) {
            (Some(s), _) => s.clone(),
            (None, 0) => Slug::derive(name.as_str(), None),
            (None, _) => Slug::derive(name.as_str(), Some(&slug_suffix(deps)?)),
        };
        let org_id = deps.new_id(IdKind::Org)?;
        // One round trip: the session (of a verified person) is the guard.
        let wrote = who
            .person_write(deps, true, |user_id, batch| {
                let event = Event {
                    org_id: Some(&org_id),
                    workspace_id: None,
                    actor: &Actor::user(user_id),
                    action: "org.created",
                    target_kind: "org",
                    target_id: &org_id,
                    data: json!({ "name": name.as_str(), "slug": slug.as_str() }),
                };
                batch.add(stmt!(sql::INSERT_ORG, &org_id, name.as_str(), slug.as_str(), now));
                batch.add(sql::ORG_MEMBERS.insert(&org_id, user_id, Role::Owner, now));
                batch.add(event.stmt(deps)?);
                Ok(())
            })
            .await?;
        match wrote.ran {
            Ok(_) => {
                let facts = Facts::direct(TenantKind::Org);
                let owner = Subject::Role(Role::Owner);
                let invitable_roles = policy::invitable_roles(owner, Role::Owner, &facts);
                return Ok(OrgView {
                    id: org_id,
                    name: name.as_str().to_owned(),
                    slug: slug.as_str().to_owned(),
                    require_2fa: false,
                    require_2fa_for: None,
                    created_at: rfc3339(now),
                    role: Some(Role::Owner.as_str().to_owned()),
                    permissions: policy::permissions_of(owner, &facts),
                    join_link_roles: crate::domain::join_link::roles_offered(&invitable_roles),
                    invitable_roles,
                });
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
    who: &Credential,
    page: &PageRequest,
) -> Result<(Vec<OrgView>, Option<String>), AppError> {
    let (k, id, limit) = page.sql_params();
    let mut batch = Batch::new();
    let rows = who.user_id().map(|u| batch.read::<OrgRow>(stmt!(sql::ORGS_OF_USER, u, k, id, limit)));
    let (who, mut results) = who.person_with(deps, batch).await?;
    let rows = results.all_if(rows)?;
    let (rows, next) = page.finish(rows, |r| (r.created_at, r.id.clone()));
    // Each row carries the person's role: the list's powers, by the same facts.
    let views = rows.iter().map(|r| r.view(access::listed_org_powers(&who, r)?)).collect::<Result<_, _>>()?;
    Ok((views, next))
}

/// One org, in one round trip: the org row rides along with the
/// credential check.
pub async fn get_org(deps: &Deps, who: &Credential, org_id: &str) -> Result<OrgView, AppError> {
    let granted = who.require(deps, Tenant::Org(org_id), Permission::OrgRead, TwoFactorPolicy::Enforce).await?;
    granted.org().ok_or_else(no_org)?.view(powers(&granted))
}

fn no_org() -> AppError {
    AppError::internal("an org capability without its org")
}

/// A settings change.
#[derive(Debug, Default)]
pub struct OrgPatch<'a> {
    /// New name.
    pub name: Option<&'a str>,
    /// New slug.
    pub slug: Option<&'a str>,
    /// The 2FA rule: whom it binds.
    pub require_2fa: Option<TwoFactorRule>,
}

/// Updates name, slug (admin+) and the 2FA policy (owner, who must have 2FA on).
pub async fn update_org(deps: &Deps, who: &Credential, org_id: &str, patch: OrgPatch<'_>) -> Result<OrgView, AppError> {
    let name = patch.name.map(|n| DisplayName::parse("name", n)).transpose();
    let slug = patch.slug.map(Slug::parse).transpose();
    collect_fields([name.as_ref().err().cloned(), slug.as_ref().err().cloned()])?;
    let (Ok(name), Ok(slug)) = (name, slug) else {
        return Err(AppError::internal("unreachable: fields checked above"));
    };
    let needed = if patch.require_2fa.is_some() { Permission::OrgDelete } else { Permission::OrgWrite };
    let (name, slug) = (name.as_ref().map(|n| n.as_str()), slug.as_ref().map(|s| s.as_str()));
    let now = deps.now();
    // One round trip for a person: the guard, the update, its audit row and the read-back.
    let write = |actor: &Actor, batch: &mut Batch| {
        let event = Event {
            org_id: Some(org_id),
            workspace_id: None,
            actor,
            action: "org.updated",
            target_kind: "org",
            target_id: org_id,
            data: json!({
                "name": name,
                "slug": slug,
                "require_2fa": patch.require_2fa.map(|r| r != TwoFactorRule::Off),
                "require_2fa_for": patch.require_2fa.map(TwoFactorRule::as_str),
            }),
        };
        batch.add(stmt!(sql::UPDATE_ORG, org_id, name, slug, patch.require_2fa.map(TwoFactorRule::stored), now));
        batch.add(event.stmt_if_changed(deps)?);
        Ok(batch.read::<OrgRow>(stmt!(sql::ORG_BY_ID, org_id)))
    };
    let tenant = Tenant::Org(org_id);
    let wrote = if patch.require_2fa.is_some() {
        // Setting the 2FA rule is the owner's, who must have 2FA on themself.
        who.require_write_with_two_factor(deps, tenant, needed, write).await?
    } else {
        who.require_write(deps, tenant, needed, TwoFactorPolicy::Enforce, write).await?
    };
    let access = wrote.who;
    match wrote.ran {
        Ok(mut results) => {
            let mut org = results.first(wrote.handles)?.ok_or(AppError::NotFound)?;
            let mine = access.org().ok_or_else(no_org)?;
            org.role = mine.role.clone();
            org.role_permissions = mine.role_permissions.clone();
            org.view(powers(&access))
        }
        Err(DbError::Unique(_)) => Err(AppError::refused(ErrorCode::SlugTaken, "that slug is taken")),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the org and everything of it (members, invitations, audit) in one statement (cascades).
/// Person-only (`org:delete`): an API key gets 403 `user_required`, whatever its scopes.
pub async fn delete_org(deps: &Deps, who: &Credential, org_id: &str) -> Result<(), AppError> {
    let a = who.require(deps, Tenant::Org(org_id), Permission::OrgDelete, TwoFactorPolicy::Enforce).await?;
    let org = a.org().ok_or_else(no_org)?;
    // The org's last event: its notification rows outlive it (no foreign key
    // to orgs), so `org.deleted` still reaches its channels.
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: a.actor(),
        action: "org.deleted",
        target_kind: "org",
        target_id: org_id,
        data: json!({ "name": org.name, "slug": org.slug }),
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
    who: &Credential,
    org_id: &str,
    page: &PageRequest,
) -> Result<(Vec<AuditEventView>, Option<String>), AppError> {
    audit::list_events(deps, who, Tenant::Org(org_id), Permission::AuditRead, page).await
}
