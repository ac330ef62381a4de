//! Organizations and their members. Every operation starts with [`access`]:
//! the org is read together with the caller's membership (one query), and the
//! policy table decides.
use super::audit::{Actor, Event};
use super::error::collect_fields;
use super::page::PageRequest;
use super::sessions::{Principal, UserPrincipal};
use super::{random, AppError, Deps};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::name::DisplayName;
use crate::domain::policy::{self, Decision, KeyDecision, Permission, Refusal, Role};
use crate::domain::slug::Slug;
use crate::domain::time::rfc3339;
use crate::stmt;
use crate::store::{sql, DbError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// An org row with the caller's role.
#[derive(Debug, Clone, Deserialize)]
pub struct OrgRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// 0/1.
    pub require_2fa: i64,
    /// Creation.
    pub created_at: i64,
    /// The caller's role.
    pub role: String,
}

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
}

impl OrgRow {
    fn view(&self) -> Result<OrgView, AppError> {
        Ok(OrgView {
            id: self.id.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
            require_2fa: self.require_2fa != 0,
            created_at: rfc3339(self.created_at),
            role: Role::parse(&self.role),
        })
    }
}

fn parse_role(raw: &str) -> Result<Role, AppError> {
    Role::parse(raw).ok_or_else(|| AppError::Internal(format!("unknown role in database: {raw}")))
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
}

/// Whether the org's 2FA policy applies to this operation (leaving never needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorPolicy {
    /// Enforce `require_2fa`.
    Enforce,
    /// Allow regardless (leaving the org).
    Exempt,
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
    let who = match who {
        Principal::User(u) => u,
        // The key's org came with the key (same query): no further read.
        Principal::ApiKey(key) => {
            if key.org.id != org_id {
                return Err(AppError::NotFound);
            }
            return match policy::authorize_key(&key.scopes, permission) {
                KeyDecision::Allow => Ok(OrgAccess { org: key.org.clone(), role: Role::Admin, actor: key.actor() }),
                KeyDecision::UserRequired => Err(AppError::UserRequired),
                KeyDecision::MissingScope => Err(AppError::coded(
                    403,
                    "insufficient_scope",
                    format!("this API key lacks the {} scope", permission.as_str()),
                )),
            };
        }
    };
    let org: Option<OrgRow> = deps.db.run(stmt!(sql::ORG_FOR_USER, org_id, &who.user.id)).await?.first()?;
    let org = org.ok_or(AppError::NotFound)?;
    let role = parse_role(&org.role)?;
    if two_factor == TwoFactorPolicy::Enforce && org.require_2fa != 0 && who.user.totp_enabled == 0 {
        return Err(AppError::coded(
            403,
            "two_factor_required",
            "this organization requires two-factor authentication",
        ));
    }
    match policy::authorize(Some(role), permission) {
        Decision::Allow => Ok(OrgAccess { org, role, actor: Actor::user(&who.user.id) }),
        Decision::Deny => Err(AppError::Forbidden),
        Decision::Hidden => Err(AppError::NotFound),
    }
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
        return Err(AppError::Internal("unreachable: fields checked above".into()));
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
                stmt!(sql::INSERT_MEMBER, &org_id, &who.user.id, "owner", now),
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
                })
            }
            Err(DbError::Unique(_)) if given.is_none() => continue,
            Err(DbError::Unique(_)) => return Err(AppError::coded(409, "slug_taken", "that slug is taken")),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::coded(409, "slug_taken", "could not find a free slug; give one"))
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
    Ok((rows.iter().map(OrgRow::view).collect::<Result<_, _>>()?, next))
}

/// One org.
pub async fn get_org(deps: &Deps, who: &Principal, org_id: &str) -> Result<OrgView, AppError> {
    access(deps, who, org_id, Permission::OrgRead, TwoFactorPolicy::Enforce).await?.org.view()
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
        return Err(AppError::Internal("unreachable: fields checked above".into()));
    };
    let needed = if patch.require_2fa.is_some() { Permission::OrgDelete } else { Permission::OrgWrite };
    let access = access(deps, who, org_id, needed, TwoFactorPolicy::Enforce).await?;
    if patch.require_2fa.is_some() && who.user()?.user.totp_enabled == 0 {
        return Err(AppError::coded(
            403,
            "two_factor_required",
            "turn on two-factor authentication before requiring it",
        ));
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
    let result = deps
        .db
        .batch(vec![
            stmt!(
                sql::UPDATE_ORG,
                org_id,
                name.as_ref().map(|n| n.as_str()),
                slug.as_ref().map(|s| s.as_str()),
                patch.require_2fa,
                deps.now()
            ),
            event.stmt_if_changed(deps)?,
            stmt!(sql::ORG_BY_ID, org_id),
        ])
        .await;
    match result {
        Ok(mut outs) => {
            let mut org: OrgRow = outs.pop().unwrap_or_default().first()?.ok_or(AppError::NotFound)?;
            org.role = access.org.role.clone();
            org.view()
        }
        Err(DbError::Unique(_)) => Err(AppError::coded(409, "slug_taken", "that slug is taken")),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the org and everything of it (members, invitations, audit) in one statement (cascades).
/// Person-only (`org:delete`): an API key gets 403 `user_required`, whatever its scopes.
pub async fn delete_org(deps: &Deps, who: &Principal, org_id: &str) -> Result<(), AppError> {
    access(deps, who, org_id, Permission::OrgDelete, TwoFactorPolicy::Enforce).await?;
    deps.db.run(stmt!(sql::DELETE_ORG, org_id)).await?;
    Ok(())
}

/// A member as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    /// `usr_…`
    pub user_id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role in the org.
    pub role: Role,
    /// RFC 3339.
    pub joined_at: String,
    /// Whether they have 2FA on (so admins see who a 2FA requirement affects).
    pub totp_enabled: bool,
}

#[derive(Debug, Deserialize)]
struct MemberRow {
    user_id: String,
    email: String,
    name: String,
    role: String,
    joined_at: i64,
    totp_enabled: i64,
}

impl MemberRow {
    fn view(&self) -> Result<MemberView, AppError> {
        Ok(MemberView {
            user_id: self.user_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            role: parse_role(&self.role)?,
            joined_at: rfc3339(self.joined_at),
            totp_enabled: self.totp_enabled != 0,
        })
    }
}

/// The org's members, oldest first.
pub async fn list_members(
    deps: &Deps,
    who: &Principal,
    org_id: &str,
    page: &PageRequest,
) -> Result<(Vec<MemberView>, Option<String>), AppError> {
    access(deps, who, org_id, Permission::MembersRead, TwoFactorPolicy::Enforce).await?;
    let (k, id, limit) = page.sql_params();
    let rows: Vec<MemberRow> = deps.db.run(stmt!(sql::LIST_MEMBERS, org_id, k, id, limit)).await?.decode()?;
    let (rows, next) = page.finish(rows, |r| (r.joined_at, r.user_id.clone()));
    Ok((rows.iter().map(MemberRow::view).collect::<Result<_, _>>()?, next))
}

async fn member(deps: &Deps, org_id: &str, user_id: &str) -> Result<Option<MemberRow>, AppError> {
    if !looks_like(IdKind::User, user_id) {
        return Ok(None);
    }
    Ok(deps.db.run(stmt!(sql::MEMBER, org_id, user_id)).await?.first()?)
}

fn refusal(r: Refusal) -> AppError {
    match r {
        Refusal::Forbidden => AppError::Forbidden,
        Refusal::CannotRemoveOwner => {
            AppError::coded(409, "cannot_remove_owner", "an owner cannot be removed; demote them first")
        }
    }
}

/// An API key hands out only roles within its own scopes.
pub fn key_may_grant(who: &Principal, role: Role) -> Result<(), AppError> {
    match who {
        Principal::ApiKey(k) if !policy::role_within(role, &k.scopes) => Err(AppError::coded(
            403,
            "insufficient_scope",
            format!("this API key cannot grant the {} role: its scopes do not cover it", role.as_str()),
        )),
        _ => Ok(()),
    }
}

fn last_owner() -> AppError {
    AppError::coded(409, "last_owner", "an organization must keep at least one owner")
}

/// Changes a member's role, within the policy, never leaving the org ownerless.
pub async fn change_role(
    deps: &Deps,
    who: &Principal,
    org_id: &str,
    user_id: &str,
    new_role: Role,
) -> Result<MemberView, AppError> {
    let access = access(deps, who, org_id, Permission::MembersWrite, TwoFactorPolicy::Enforce).await?;
    let target = member(deps, org_id, user_id).await?.ok_or(AppError::NotFound)?;
    let current = parse_role(&target.role)?;
    let is_self = who.user().is_ok_and(|u| u.user.id == user_id);
    policy::may_change_role(access.role, is_self, current, new_role).map_err(refusal)?;
    key_may_grant(who, new_role)?;
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: &access.actor,
        action: "member.role_changed",
        target_kind: "user",
        target_id: user_id,
        data: json!({ "from": current.as_str(), "to": new_role.as_str() }),
    };
    let mut outs = deps
        .db
        .batch(vec![
            // The caller's own role is re-checked in the same statement.
            stmt!(
                sql::CHANGE_ROLE,
                org_id,
                user_id,
                new_role.as_str(),
                current.as_str(),
                who.user().ok().map(|u| u.user.id.clone()),
                access.role.as_str()
            ),
            event.stmt_if_changed(deps)?,
            stmt!(sql::MEMBER, org_id, user_id),
        ])
        .await?;
    let after: Option<MemberRow> = outs.pop().unwrap_or_default().first()?;
    let changed = outs.first().map_or(0, |o| o.changes);
    match after {
        Some(row) if changed == 1 => row.view(),
        Some(row) if row.role == current.as_str() && current == Role::Owner => Err(last_owner()),
        Some(row) if row.role == new_role.as_str() => row.view(),
        Some(_) => Err(AppError::coded(409, "conflict", "the membership changed meanwhile; try again")),
        None => Err(AppError::NotFound),
    }
}

/// Removes a member (`user_id` = caller: leaves).
pub async fn remove_member(deps: &Deps, who: &Principal, org_id: &str, user_id: &str) -> Result<(), AppError> {
    let leaving = user_id == "me" || who.user().is_ok_and(|u| u.user.id == user_id);
    if leaving {
        return leave(deps, who.user()?, org_id).await;
    }
    let access = access(deps, who, org_id, Permission::MembersWrite, TwoFactorPolicy::Enforce).await?;
    let target = member(deps, org_id, user_id).await?.ok_or(AppError::NotFound)?;
    let role = parse_role(&target.role)?;
    policy::may_remove(access.role, role).map_err(refusal)?;
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: &access.actor,
        action: "member.removed",
        target_kind: "user",
        target_id: user_id,
        data: json!({ "email": target.email, "role": role.as_str() }),
    };
    let outs = deps
        .db
        .batch(vec![
            stmt!(
                sql::REMOVE_MEMBER,
                org_id,
                user_id,
                role.as_str(),
                who.user().ok().map(|u| u.user.id.clone()),
                access.role.as_str()
            ),
            event.stmt_if_changed(deps)?,
        ])
        .await?;
    if outs.first().map_or(0, |o| o.changes) == 0 {
        return Err(AppError::coded(409, "conflict", "the membership changed meanwhile; try again"));
    }
    Ok(())
}

async fn leave(deps: &Deps, who: &UserPrincipal, org_id: &str) -> Result<(), AppError> {
    let access =
        access(deps, &Principal::User(who.clone()), org_id, Permission::OrgRead, TwoFactorPolicy::Exempt).await?;
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: &access.actor,
        action: "member.left",
        target_kind: "user",
        target_id: &who.user.id,
        data: json!({ "email": who.user.email, "role": access.role.as_str() }),
    };
    let outs = deps.db.batch(vec![stmt!(sql::LEAVE_ORG, org_id, &who.user.id), event.stmt_if_changed(deps)?]).await?;
    if outs.first().map_or(0, |o| o.changes) == 0 {
        return Err(last_owner());
    }
    Ok(())
}

/// Makes `user_id` an owner and the caller an admin, atomically.
/// A person-only action (`org:delete`): an API key gets 403 `user_required`
/// from [`access`], whatever its scopes.
pub async fn transfer_ownership(
    deps: &Deps,
    who: &Principal,
    org_id: &str,
    user_id: &str,
) -> Result<MemberView, AppError> {
    let access = access(deps, who, org_id, Permission::OrgDelete, TwoFactorPolicy::Enforce).await?;
    let who = who.user()?;
    if user_id == who.user.id {
        return Err(AppError::field(crate::domain::FieldError::new(
            "user_id",
            "self_transfer",
            "must be another member",
        )));
    }
    member(deps, org_id, user_id).await?.ok_or(AppError::NotFound)?;
    let event = Event {
        org_id: Some(org_id),
        workspace_id: None,
        actor: &access.actor,
        action: "org.ownership_transferred",
        target_kind: "user",
        target_id: user_id,
        data: json!({ "from": who.user.id, "to": user_id }),
    };
    let mut outs = deps
        .db
        .batch(vec![
            stmt!(sql::TRANSFER_PROMOTE, org_id, user_id, &who.user.id),
            stmt!(sql::TRANSFER_DEMOTE, org_id, &who.user.id),
            event.stmt_if_changed(deps)?,
            stmt!(sql::MEMBER, org_id, user_id),
        ])
        .await?;
    let target: Option<MemberRow> = outs.pop().unwrap_or_default().first()?;
    if outs.first().map_or(0, |o| o.changes) == 0 {
        return Err(AppError::coded(409, "conflict", "the membership changed meanwhile; try again"));
    }
    target.ok_or(AppError::NotFound)?.view()
}
