//! Members of a tenant (an org or a workspace): list, change a role, remove,
//! leave; and the org's ownership transfer. One row, one view, one refusal
//! mapping and one strict role parse for both tenants, over one table of
//! statements per tenant ([`sql::member_sql`]). What only a workspace has
//! (grant admins, who never manage direct seats; "leaving" a workspace one
//! reaches only through a grant) and what only an org has (API keys acting
//! as admins, ownership transfer) is named where it applies.
use super::access::TwoFactorPolicy;
pub use super::access::{role_field, stored_role};
use super::audit::{Actor, Event};
use super::auth::Principal;
use super::page::PageRequest;
use super::ErrorCode;
use super::{orgs, workspaces, AppError, Deps};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::policy::{self, Permission, Refusal, Role, Subject};
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::time::rfc3339;
use crate::domain::FieldError;
use crate::store::sql::{self, member_sql, MemberRow, RoleChange};
use crate::store::Batch;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// A member as the API shows it (both tenants).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    /// `usr_…`
    pub user_id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role in the org or workspace.
    pub role: Role,
    /// RFC 3339.
    pub joined_at: String,
    /// Whether they have 2FA on (so admins see who a 2FA requirement affects).
    pub totp_enabled: bool,
    /// In a member list: the roles the caller may set this member to (their
    /// current one included; empty when the caller may change nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignable_roles: Option<Vec<Role>>,
    /// In a member list: whether the caller may remove this member (leaving
    /// is not removal: false for the caller themself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removable: Option<bool>,
}

impl MemberRow {
    /// The view (its role parsed strictly).
    pub fn view(&self) -> Result<MemberView, AppError> {
        Ok(MemberView {
            user_id: self.user_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            role: stored_role(&self.role)?,
            joined_at: rfc3339(self.joined_at),
            totp_enabled: self.totp_enabled != 0,
            assignable_roles: None,
            removable: None,
        })
    }
}

/// The caller inside a tenant, as the membership rules see them.
#[derive(Debug, Clone)]
pub struct Standing {
    /// The effective role the decision was made with (an API key counts as
    /// `admin` for the membership rules: it never creates, demotes or
    /// removes owners; its scopes decide what it may do at all).
    pub role: Role,
    /// The caller's own membership role, if they have one (not through a grant, not a key).
    pub direct: Option<Role>,
    /// The audit actor.
    pub actor: Actor,
    /// The acting person (None: an API key).
    pub person: Option<String>,
    /// Every permission the caller has here (the same facts as the check).
    pub permissions: Vec<Permission>,
}

/// Finds the caller in `tenant` and decides `permission` (through
/// `orgs::access` or `workspaces::access`, which ask `policy::decide`).
/// Not visible: 404; visible without the permission: 403. Workspaces are
/// for people: an API key gets 403 `user_required`.
pub async fn standing(
    deps: &Deps,
    who: &Principal,
    tenant: Tenant<'_>,
    permission: Permission,
    two_factor: TwoFactorPolicy,
) -> Result<Standing, AppError> {
    match tenant {
        Tenant::Org(org_id) => {
            let a = orgs::access(deps, who, org_id, permission, two_factor).await?;
            let person = who.user().ok().map(|u| u.user.id.clone());
            Ok(Standing {
                role: a.role,
                direct: person.as_ref().map(|_| a.role),
                actor: a.actor,
                person,
                permissions: a.permissions,
            })
        }
        Tenant::Workspace(ws_id) => {
            let u = who.user()?;
            let a = workspaces::access(deps, u, ws_id, permission).await?;
            Ok(Standing {
                role: a.role,
                direct: a.direct_role()?,
                permissions: a.permissions(),
                actor: a.actor,
                person: Some(u.user.id.clone()),
            })
        }
    }
}

fn refusal(r: Refusal) -> AppError {
    match r {
        Refusal::Forbidden => AppError::Forbidden,
        Refusal::CannotRemoveOwner => {
            AppError::refused(ErrorCode::CannotRemoveOwner, "an owner cannot be removed; demote them first")
        }
    }
}

fn conflict() -> AppError {
    AppError::refused(ErrorCode::Conflict, "the membership changed meanwhile; try again")
}

fn last_owner(kind: TenantKind) -> AppError {
    AppError::refused(
        ErrorCode::LastOwner,
        match kind {
            TenantKind::Org => "an organization must keep at least one owner",
            TenantKind::Workspace => "a workspace must keep its owner; delete it instead",
        },
    )
}

/// Whether the caller may hand `role` to someone, as far as its own powers
/// go: an API key only a role it could act as itself.
pub fn may_hand_out(who: &Principal, caller_role: Role, role: Role) -> Result<(), AppError> {
    let subject = match who {
        Principal::ApiKey(k) => k.subject(),
        Principal::User(_) => Subject::Role(caller_role),
    };
    if policy::may_hand_out(subject, role) {
        Ok(())
    } else {
        Err(AppError::refused(
            ErrorCode::InsufficientScope,
            format!("this API key cannot grant the {} role: its scopes do not cover it", role.as_str()),
        ))
    }
}

/// The tenant's members, oldest first (a workspace's direct members: grant
/// admins are listed under its grants).
pub async fn list_members(
    deps: &Deps,
    who: &Principal,
    tenant: Tenant<'_>,
    page: &PageRequest,
) -> Result<(Vec<MemberView>, Option<String>), AppError> {
    let me = standing(deps, who, tenant, Permission::MembersRead, TwoFactorPolicy::Enforce).await?;
    let (k, id, limit) = page.sql_params();
    let rows: Vec<MemberRow> =
        deps.db.run(member_sql(tenant.kind()).list(tenant.id(), k, id, limit)).await?.decode()?;
    let (rows, next) = page.finish(rows, |r| (r.joined_at, r.user_id.clone()));
    // What the caller may do to each member, by the same rules as
    // `change_role` and `remove_member` (clients keep no rules of their own).
    let manages = me.permissions.contains(&Permission::MembersWrite);
    let subject = match who {
        Principal::ApiKey(k) => k.subject(),
        Principal::User(_) => Subject::Role(me.role),
    };
    let views = rows
        .iter()
        .map(|row| {
            let mut view = row.view()?;
            let is_self = me.person.as_deref() == Some(row.user_id.as_str());
            view.assignable_roles = Some(policy::assignable_roles(subject, me.role, manages, is_self, view.role));
            view.removable = Some(manages && !is_self && policy::may_remove(me.role, view.role).is_ok());
            Ok(view)
        })
        .collect::<Result<_, AppError>>()?;
    Ok((views, next))
}

async fn member(deps: &Deps, tenant: Tenant<'_>, user_id: &str) -> Result<MemberRow, AppError> {
    if !looks_like(IdKind::User, user_id) {
        return Err(AppError::NotFound);
    }
    let row: Option<MemberRow> = deps.db.run(member_sql(tenant.kind()).get(tenant.id(), user_id)).await?.first()?;
    row.ok_or(AppError::NotFound)
}

/// Changes a member's role within the policy, never leaving the tenant
/// without an owner. The target's role and the caller's own role are
/// re-checked in the same statement (two admins demoting each other at
/// once: one wins).
pub async fn change_role(
    deps: &Deps,
    who: &Principal,
    tenant: Tenant<'_>,
    user_id: &str,
    new: Role,
) -> Result<MemberView, AppError> {
    let me = standing(deps, who, tenant, Permission::MembersWrite, TwoFactorPolicy::Enforce).await?;
    let target = member(deps, tenant, user_id).await?;
    let current = stored_role(&target.role)?;
    let is_self = me.person.as_deref() == Some(user_id);
    policy::may_change_role(me.role, is_self, current, new).map_err(refusal)?;
    may_hand_out(who, me.role, new)?;
    let q = member_sql(tenant.kind());
    let event = Event::in_tenant(
        tenant,
        &me.actor,
        "member.role_changed",
        "user",
        user_id,
        json!({ "from": current.as_str(), "to": new.as_str() }),
    );
    let mut batch = Batch::new();
    let change = batch.write(q.change_role(&RoleChange {
        tenant_id: tenant.id(),
        user_id,
        current,
        new,
        caller: me.person.as_deref(),
        caller_role: me.role,
    }));
    batch.add(event.stmt_if_changed(deps)?);
    let after = batch.read::<MemberRow>(q.get(tenant.id(), user_id));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let changed = results.changed(change) == 1;
    let Some(row) = results.first(after)? else { return Err(AppError::NotFound) };
    let now = stored_role(&row.role)?;
    if changed {
        row.view()
    } else if now == current && current == Role::Owner {
        // The owner guard held: the tenant's only owner stays.
        Err(last_owner(tenant.kind()))
    } else if now == new {
        row.view()
    } else {
        Err(conflict())
    }
}

/// Removes a member; `me` (or the caller's own id) leaves.
pub async fn remove_member(deps: &Deps, who: &Principal, tenant: Tenant<'_>, user_id: &str) -> Result<(), AppError> {
    let leaving = user_id == "me" || who.user().is_ok_and(|u| u.user.id == user_id);
    if leaving {
        return leave(deps, who, tenant).await;
    }
    let me = standing(deps, who, tenant, Permission::MembersWrite, TwoFactorPolicy::Enforce).await?;
    let target = member(deps, tenant, user_id).await?;
    let role = stored_role(&target.role)?;
    policy::may_remove(me.role, role).map_err(refusal)?;
    let event = Event::in_tenant(
        tenant,
        &me.actor,
        "member.removed",
        "user",
        user_id,
        json!({ "email": target.email, "role": role.as_str() }),
    );
    let mut batch = Batch::new();
    let removed =
        batch.write(member_sql(tenant.kind()).remove(tenant.id(), user_id, role, me.person.as_deref(), me.role));
    batch.add(event.stmt_if_changed(deps)?);
    if batch.run(deps.db.as_ref()).await?.changed(removed) == 0 {
        return Err(conflict());
    }
    Ok(())
}

/// Leaves the tenant (never blocked by an org's 2FA rule), unless the caller
/// is its last owner. Someone who reaches a workspace only through an org's
/// grant has no seat to leave: 409 `access_through_grant`.
async fn leave(deps: &Deps, who: &Principal, tenant: Tenant<'_>) -> Result<(), AppError> {
    let person = who.user()?;
    let me = standing(deps, who, tenant, Permission::MembersRead, TwoFactorPolicy::Exempt).await?;
    let Some(role) = me.direct else {
        return Err(AppError::refused(
            ErrorCode::AccessThroughGrant,
            "you are not a member of this workspace: your access comes through your organization's grant; \
             leave the organization, or ask the workspace owner to revoke the grant",
        ));
    };
    let event = Event::in_tenant(
        tenant,
        &me.actor,
        "member.left",
        "user",
        &person.user.id,
        json!({ "email": person.user.email, "role": role.as_str() }),
    );
    let mut batch = Batch::new();
    let left = batch.write(member_sql(tenant.kind()).leave(tenant.id(), &person.user.id));
    batch.add(event.stmt_if_changed(deps)?);
    if batch.run(deps.db.as_ref()).await?.changed(left) == 0 {
        return Err(last_owner(tenant.kind()));
    }
    Ok(())
}

/// Org only: makes `user_id` an owner and the caller an admin, atomically.
/// A person-only action (`org:delete`): an API key gets 403 `user_required`
/// from `policy::decide`, whatever its scopes.
pub async fn transfer_ownership(
    deps: &Deps,
    who: &Principal,
    org_id: &str,
    user_id: &str,
) -> Result<MemberView, AppError> {
    let tenant = Tenant::Org(org_id);
    let me = standing(deps, who, tenant, Permission::OrgDelete, TwoFactorPolicy::Enforce).await?;
    let person = who.user()?;
    if user_id == person.user.id {
        return Err(AppError::field(FieldError::new("user_id", "self_transfer", "must be another member")));
    }
    member(deps, tenant, user_id).await?;
    let event = Event::in_tenant(
        tenant,
        &me.actor,
        "org.ownership_transferred",
        "user",
        user_id,
        json!({ "from": person.user.id, "to": user_id }),
    );
    let (promote, demote) = sql::transfer_ownership(org_id, user_id, &person.user.id);
    let mut batch = Batch::new();
    let promoted = batch.write(promote);
    batch.add(demote);
    batch.add(event.stmt_if_changed(deps)?);
    let target = batch.read::<MemberRow>(member_sql(TenantKind::Org).get(org_id, user_id));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let target = results.first(target)?;
    if results.changed(promoted) == 0 {
        return Err(conflict());
    }
    target.ok_or(AppError::NotFound)?.view()
}
