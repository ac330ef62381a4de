//! Members of a tenant (an org or a workspace): list, change a role, remove,
//! leave; and the org's ownership transfer. One row, one view, one refusal
//! mapping and one strict role parse for both tenants, over one table of
//! statements per tenant ([`sql::member_sql`]). What only a workspace has
//! (grant admins, who never manage direct seats; "leaving" a workspace one
//! reaches only through a grant) and what only an org has (API keys acting
//! as admins, ownership transfer) is named where it applies.
pub use super::access::{role_field, stored_role};
use super::access::{Credential, Granted, TwoFactorPolicy};
use super::audit::Event;
use super::page::PageRequest;
use super::roles;
use super::ErrorCode;
use super::{AppError, Deps};
use crate::domain::access_review::{self, InactiveFor};
use crate::domain::custom_role;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::policy::{self, Permission, Refusal, Role, RoleValue};
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::time::rfc3339;
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, member_sql, MemberRow, RoleChange, RoleRow, ScimManagedRow};
use crate::store::{Batch, Read, Results};
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
    /// Role in the org or workspace: `owner`, `admin`, `member`, or (orgs)
    /// the key of one of the org's custom roles.
    #[schema(example = "admin")]
    pub role: String,
    /// RFC 3339.
    pub joined_at: String,
    /// Whether they have 2FA on (so admins see who a 2FA requirement affects).
    pub totp_enabled: bool,
    /// The UTC day of their last sign-in, session refresh or use of an API
    /// key they created (`2026-12-06`); null: never since it was recorded.
    pub last_active_on: Option<String>,
    /// In a member list: the roles the caller may set this member to (their
    /// current one included; empty when the caller may change nothing),
    /// the org's custom roles among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignable_roles: Option<Vec<String>>,
    /// In a member list: whether the caller may remove this member (leaving
    /// is not removal: false for the caller themself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removable: Option<bool>,
}

impl MemberRow {
    /// The member's role as a value: built in, or the org's custom role
    /// whose permissions came in the same row. Neither is our bug.
    pub fn role_value(&self) -> Result<RoleValue, AppError> {
        if let Some(role) = Role::parse(&self.role) {
            return Ok(RoleValue::Builtin(role));
        }
        match &self.role_permissions {
            Some(raw) => Ok(RoleValue::Custom { key: self.role.clone(), permissions: custom_role::from_stored(raw) }),
            None => Err(AppError::internal(format!("unknown role in database: {}", self.role))),
        }
    }

    /// The view (its role parsed strictly).
    pub fn view(&self) -> Result<MemberView, AppError> {
        Ok(MemberView {
            user_id: self.user_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role_value()?.name().to_owned(),
            joined_at: rfc3339(self.joined_at),
            totp_enabled: self.totp_enabled != 0,
            last_active_on: self.last_active_at.map(access_review::day),
            assignable_roles: None,
            removable: None,
        })
    }
}

/// The caller's capability in `tenant` and the member `user_id` there, in
/// one round trip: the member row rides along with the resolution and is
/// looked at only once the decision allows. Not there: 404.
async fn with_target(
    deps: &Deps,
    who: &Credential,
    tenant: Tenant<'_>,
    permission: Permission,
    user_id: &str,
) -> Result<(Granted, MemberRow), AppError> {
    let mut batch = Batch::new();
    let target = looks_like(IdKind::User, user_id)
        .then(|| batch.read::<MemberRow>(member_sql(tenant.kind()).get(tenant.id(), user_id)));
    let managed = scim_managed_read(&mut batch, tenant, user_id);
    let (me, mut results) = who.require_with(deps, tenant, permission, TwoFactorPolicy::Enforce, batch).await?;
    let row = results.first_if(target)?.ok_or(AppError::NotFound)?;
    refuse_if_managed(&mut results, managed)?;
    Ok((me, row))
}

/// Whether an org member is managed by the org's directory (SCIM), read
/// with the decision (workspaces have no directory).
fn scim_managed_read(batch: &mut Batch, tenant: Tenant<'_>, user_id: &str) -> Option<Read<ScimManagedRow>> {
    match tenant {
        Tenant::Org(org_id) if looks_like(IdKind::User, user_id) => {
            Some(batch.read(stmt!(sql::SCIM_MANAGED, org_id, user_id)))
        }
        _ => None,
    }
}

/// 409 `managed_by_scim` for a member the org's directory manages: their
/// role and membership change there, not here.
fn refuse_if_managed(results: &mut Results, managed: Option<Read<ScimManagedRow>>) -> Result<(), AppError> {
    if results.first_if(managed)?.is_some_and(|m| m.managed != 0) {
        return Err(AppError::refused(
            ErrorCode::ManagedByScim,
            "this member is provisioned by the organization's directory (SCIM): change their role or membership there",
        ));
    }
    Ok(())
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
pub fn may_hand_out(me: &Granted, role: Role) -> Result<(), AppError> {
    may_hand_out_value(me, &RoleValue::Builtin(role))
}

/// [`may_hand_out`] for any role value: an API key only a role it could act
/// as itself (403 `insufficient_scope`); a person never a role holding a
/// permission they lack (403 `forbidden`: never beyond yourself).
pub fn may_hand_out_value(me: &Granted, role: &RoleValue) -> Result<(), AppError> {
    if policy::may_hand_out_value(me.subject(), role) {
        return Ok(());
    }
    Err(match me.principal() {
        super::auth::Principal::ApiKey(_) => AppError::refused(
            ErrorCode::InsufficientScope,
            format!("this API key cannot grant the {} role: its scopes do not cover it", role.name()),
        ),
        super::auth::Principal::User(_) => AppError::Forbidden,
    })
}

/// The roles (built in and the org's custom ones, `custom`) the caller may
/// set a member holding `target` to, by the same rules as [`change_role`].
fn assignable(me: &Granted, manages: bool, is_self: bool, target: &RoleValue, custom: &[RoleValue]) -> Vec<String> {
    let subject = me.subject();
    if !manages || !policy::may_act_on(subject, target) {
        return Vec::new();
    }
    let all = policy::ROLES.into_iter().map(RoleValue::Builtin).chain(custom.iter().cloned());
    let roles: Vec<RoleValue> = all
        .filter(|r| {
            r == target
                || (policy::may_change_role(me.acting_role(), is_self, target.rank(), r.rank()).is_ok()
                    && policy::may_hand_out_value(subject, r))
        })
        .collect();
    if roles.iter().all(|r| r == target) {
        Vec::new()
    } else {
        roles.iter().map(|r| r.name().to_owned()).collect()
    }
}

/// The tenant's members, oldest first (a workspace's direct members: grant
/// admins are listed under its grants); with `inactive`, only those whose
/// last activity is older than that (or who were never active), paged the
/// same way.
pub async fn list_members(
    deps: &Deps,
    who: &Credential,
    tenant: Tenant<'_>,
    page: &PageRequest,
    inactive: Option<InactiveFor>,
) -> Result<(Vec<MemberView>, Option<String>), AppError> {
    let (k, id, limit) = page.sql_params();
    let cutoff = inactive.map(|i| i.cutoff(deps.now()));
    let mut batch = Batch::new();
    let rows = batch.read::<MemberRow>(member_sql(tenant.kind()).list(tenant.id(), k, id, limit, cutoff));
    let roles = matches!(tenant, Tenant::Org(_)).then(|| batch.read::<RoleRow>(stmt!(sql::LIST_ROLES, tenant.id())));
    let (me, mut results) =
        who.require_with(deps, tenant, Permission::MembersRead, TwoFactorPolicy::Enforce, batch).await?;
    let rows = results.all(rows)?;
    let custom: Vec<RoleValue> = results.all_if(roles)?.iter().map(RoleRow::value).collect();
    let (rows, next) = page.finish(rows, |r| (r.joined_at, r.user_id.clone()));
    // What the caller may do to each member, by the same rules as
    // `change_role` and `remove_member` (clients keep no rules of their own).
    let manages = me.allows(Permission::MembersWrite);
    let views = rows
        .iter()
        .map(|row| {
            let mut view = row.view()?;
            let target = row.role_value()?;
            let is_self = me.person_id() == Some(row.user_id.as_str());
            view.assignable_roles = Some(assignable(&me, manages, is_self, &target, &custom));
            view.removable = Some(
                manages
                    && !is_self
                    && policy::may_act_on(me.subject(), &target)
                    && policy::may_remove(me.acting_role(), target.rank()).is_ok(),
            );
            Ok(view)
        })
        .collect::<Result<_, AppError>>()?;
    Ok((views, next))
}

/// Changes a member's role within the policy, never leaving the tenant
/// without an owner. The target's role and the caller's own role are
/// re-checked in the same statement (two admins demoting each other at
/// once: one wins).
pub async fn change_role(
    deps: &Deps,
    who: &Credential,
    tenant: Tenant<'_>,
    user_id: &str,
    new: &str,
) -> Result<MemberView, AppError> {
    // An org's custom role named by the client rides along with the
    // resolution (workspaces have the built-in roles only).
    let custom_read = match tenant {
        Tenant::Org(org_id) => roles::role_read(org_id, new),
        Tenant::Workspace(_) => None,
    };
    let mut batch = Batch::new();
    let target = looks_like(IdKind::User, user_id)
        .then(|| batch.read::<MemberRow>(member_sql(tenant.kind()).get(tenant.id(), user_id)));
    let custom_row = custom_read.map(|s| batch.read::<RoleRow>(s));
    let managed = scim_managed_read(&mut batch, tenant, user_id);
    let (me, mut results) =
        who.require_with(deps, tenant, Permission::MembersWrite, TwoFactorPolicy::Enforce, batch).await?;
    let target = results.first_if(target)?.ok_or(AppError::NotFound)?;
    refuse_if_managed(&mut results, managed)?;
    let new = match tenant {
        Tenant::Org(_) => roles::role_in_org(new, results.first_if(custom_row)?)?,
        Tenant::Workspace(_) => RoleValue::Builtin(role_field(new)?),
    };
    let current = target.role_value()?;
    let is_self = me.person_id() == Some(user_id);
    if !policy::may_act_on(me.subject(), &current) {
        return Err(AppError::Forbidden);
    }
    policy::may_change_role(me.acting_role(), is_self, current.rank(), new.rank()).map_err(refusal)?;
    may_hand_out_value(&me, &new)?;
    let q = member_sql(tenant.kind());
    let event = Event::in_tenant(
        tenant,
        me.actor(),
        "member.role_changed",
        "user",
        user_id,
        json!({ "from": current.name(), "to": new.name() }),
    );
    let mut batch = Batch::new();
    let change = batch.write(q.change_role(&RoleChange {
        tenant_id: tenant.id(),
        user_id,
        current: current.name(),
        new: new.name(),
        caller: me.person_id(),
        caller_role: me.role_value().name(),
    }));
    batch.add(event.stmt_if_changed(deps)?);
    let after = batch.read::<MemberRow>(q.get(tenant.id(), user_id));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let changed = results.changed(change) == 1;
    let Some(row) = results.first(after)? else { return Err(AppError::NotFound) };
    let now = row.role_value()?;
    if changed {
        row.view()
    } else if now == current && current == RoleValue::Builtin(Role::Owner) {
        // The owner guard held: the tenant's only owner stays.
        Err(last_owner(tenant.kind()))
    } else if now == new {
        row.view()
    } else {
        Err(conflict())
    }
}

/// Removes a member; `me` (or the caller's own id) leaves.
pub async fn remove_member(deps: &Deps, who: &Credential, tenant: Tenant<'_>, user_id: &str) -> Result<(), AppError> {
    let leaving = user_id == "me" || who.user_id() == Some(user_id);
    if leaving {
        return leave(deps, who, tenant).await;
    }
    let (me, target) = with_target(deps, who, tenant, Permission::MembersWrite, user_id).await?;
    let role = target.role_value()?;
    if !policy::may_act_on(me.subject(), &role) {
        return Err(AppError::Forbidden);
    }
    policy::may_remove(me.acting_role(), role.rank()).map_err(refusal)?;
    let event = Event::in_tenant(
        tenant,
        me.actor(),
        "member.removed",
        "user",
        user_id,
        json!({ "email": target.email, "role": role.name() }),
    );
    let mut batch = Batch::new();
    let removed = batch.write(member_sql(tenant.kind()).remove(
        tenant.id(),
        user_id,
        role.name(),
        me.person_id(),
        me.role_value().name(),
    ));
    batch.add(event.stmt_if_changed(deps)?);
    if batch.run(deps.db.as_ref()).await?.changed(removed) == 0 {
        return Err(conflict());
    }
    Ok(())
}

/// Leaves the tenant (never blocked by an org's 2FA rule), unless the caller
/// is its last owner. Someone who reaches a workspace only through an org's
/// grant has no seat to leave: 409 `access_through_grant`.
async fn leave(deps: &Deps, who: &Credential, tenant: Tenant<'_>) -> Result<(), AppError> {
    let mut batch = Batch::new();
    let managed = scim_managed_read(&mut batch, tenant, who.user_id().unwrap_or_default());
    let (me, mut results) =
        who.require_with(deps, tenant, Permission::MembersRead, TwoFactorPolicy::Exempt, batch).await?;
    let person = me.person().ok_or(AppError::UserRequired)?;
    refuse_if_managed(&mut results, managed)?;
    let Some(role) = me.direct()? else {
        return Err(AppError::refused(
            ErrorCode::AccessThroughGrant,
            "you are not a member of this workspace: your access comes through your organization's grant; \
             leave the organization, or ask the workspace owner to revoke the grant",
        ));
    };
    let event = Event::in_tenant(
        tenant,
        me.actor(),
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
    who: &Credential,
    org_id: &str,
    user_id: &str,
) -> Result<MemberView, AppError> {
    let tenant = Tenant::Org(org_id);
    let (me, _) = with_target(deps, who, tenant, Permission::OrgDelete, user_id).await?;
    let person = me.person().ok_or(AppError::UserRequired)?;
    if user_id == person.user.id {
        return Err(AppError::field(FieldError::new("user_id", "self_transfer", "must be another member")));
    }
    let event = Event::in_tenant(
        tenant,
        me.actor(),
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
