//! Custom roles: an org's own named permission sets beside the built-in
//! owner, admin and member, and the permission catalog they are made from.
//!
//! Who defines them: an owner, or an admin, and only with permissions they
//! hold themself (`policy::may_hand_out_value`: never beyond yourself). A
//! person holding a custom role never defines roles, whatever it holds.
//! What a role may hold is the policy table's answer
//! (`policy::custom_may_hold`: never a person-only or owner-only
//! permission). The built-in roles are listed, read-only. Every write
//! re-checks in its own statement the caller's role, the limit of 25, or
//! that nobody holds the role, so two requests at once cannot both pass.
use super::access::{Credential, Granted, TwoFactorPolicy};
use super::audit::Event;
use super::{AppError, Deps, ErrorCode};
use crate::domain::custom_role::{self, RoleKey};
use crate::domain::name::DisplayName;
use crate::domain::policy::{self, Permission, Role, RoleValue, Subject, ROLES};
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, RoleRow};
use crate::store::{Batch, DbError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// One permission of the catalog.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PermissionView {
    /// e.g. `members:write`.
    pub key: Permission,
    /// What it allows.
    pub description: String,
    /// Only a signed-in person ever exercises it (never an API key), and
    /// only the owner holds it: no custom role may.
    pub person_only: bool,
    /// Whether a custom role may hold it.
    pub custom_roles: bool,
}

/// The catalog, in contract order, from the one table.
pub fn catalog() -> Vec<PermissionView> {
    Permission::ALL
        .into_iter()
        .map(|p| PermissionView {
            key: p,
            description: p.description().to_owned(),
            person_only: policy::person_only(p),
            custom_roles: policy::custom_may_hold(p),
        })
        .collect()
}

/// A role as the API shows it: built in (read-only) or the org's own.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    /// `owner`, `admin`, `member`, or a custom role's key.
    #[schema(example = "billing-viewer", pattern = "^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")]
    pub key: String,
    /// Display name.
    pub name: String,
    /// What it is for ('' when none).
    pub description: String,
    /// What its holders may do in the org, in contract order.
    pub permissions: Vec<Permission>,
    /// owner, admin and member: built in, never changed nor deleted.
    pub builtin: bool,
    /// RFC 3339 (null for a built-in role).
    pub created_at: Option<String>,
    /// RFC 3339 (null for a built-in role).
    pub updated_at: Option<String>,
    /// In the list: whether the caller may invite someone with this role
    /// (the console's pickers offer exactly these; it compares no roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitable: Option<bool>,
}

impl RoleRow {
    /// The view.
    pub fn view(&self) -> RoleView {
        RoleView {
            key: self.key.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            permissions: custom_role::from_stored(&self.permissions),
            builtin: false,
            created_at: Some(rfc3339(self.created_at)),
            updated_at: Some(rfc3339(self.updated_at)),
            invitable: None,
        }
    }

    /// The role as a value decisions are made with.
    pub fn value(&self) -> RoleValue {
        RoleValue::Custom { key: self.key.clone(), permissions: custom_role::from_stored(&self.permissions) }
    }
}

fn builtin_view(role: Role) -> RoleView {
    let (name, description) = match role {
        Role::Owner => ("Owner", "Everything, including deletion, billing and other owners"),
        Role::Admin => ("Admin", "Everything but deletion and billing; never touches owners"),
        Role::Member => ("Member", "Reads, and deploys"),
    };
    RoleView {
        key: role.as_str().to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        permissions: policy::permissions_of_role(role),
        builtin: true,
        created_at: None,
        updated_at: None,
        invitable: None,
    }
}

/// What a new role, or a change, asks for (the body, parsed by the handler).
#[derive(Debug, Clone, Default)]
pub struct RoleInput<'a> {
    /// The key (create only).
    pub key: Option<&'a str>,
    /// Display name.
    pub name: Option<&'a str>,
    /// Description.
    pub description: Option<&'a str>,
    /// Permission names.
    pub permissions: Option<&'a [String]>,
}

struct Checked {
    name: Option<DisplayName>,
    description: Option<String>,
    permissions: Option<Vec<Permission>>,
}

fn check(input: &RoleInput<'_>) -> Result<Checked, AppError> {
    let name = input.name.map(|n| DisplayName::parse("name", n)).transpose();
    let description = input.description.map(custom_role::description).transpose();
    let permissions = input.permissions.map(custom_role::permissions).transpose();
    let errors: Vec<FieldError> = [name.as_ref().err(), description.as_ref().err(), permissions.as_ref().err()]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if let (Ok(name), Ok(description), Ok(permissions)) = (name, description, permissions) {
        Ok(Checked { name, description, permissions })
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The org's roles: the built-in ones, then its own by key (any member);
/// and whether the caller may define roles (the console's forms show by it).
pub async fn list(deps: &Deps, who: &Credential, org_id: &str) -> Result<(Vec<RoleView>, bool), AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<RoleRow>(stmt!(sql::LIST_ROLES, org_id));
    let (me, mut results) =
        who.require_with(deps, Tenant::Org(org_id), Permission::OrgRead, TwoFactorPolicy::Enforce, batch).await?;
    let custom = results.all(rows)?;
    let invites = me.allows(Permission::InvitationsWrite);
    let invitable = |role: &RoleValue| {
        invites && policy::may_invite(me.acting_role(), role.rank()) && policy::may_hand_out_value(me.subject(), role)
    };
    let builtin = ROLES.into_iter().map(|r| {
        let mut view = builtin_view(r);
        view.invitable = Some(invitable(&RoleValue::Builtin(r)));
        view
    });
    let own = custom.iter().map(|row| {
        let mut view = row.view();
        view.invitable = Some(invitable(&row.value()));
        view
    });
    let can_define = me.allows(Permission::MembersWrite) && definer(&me).is_ok();
    Ok((builtin.chain(own).collect(), can_define))
}

/// One role (any member); unknown to the org: 404.
pub async fn get(deps: &Deps, who: &Credential, org_id: &str, key: &str) -> Result<RoleView, AppError> {
    if let Some(role) = Role::parse(key) {
        who.require(deps, Tenant::Org(org_id), Permission::OrgRead, TwoFactorPolicy::Enforce).await?;
        return Ok(builtin_view(role));
    }
    let read = RoleKey::looks_like(key).then(|| stmt!(sql::ROLE, org_id, key));
    let (_, row): (Granted, RoleRow) = who.require_read(deps, Tenant::Org(org_id), Permission::OrgRead, read).await?;
    Ok(row.view())
}

/// Whether the caller may define roles: a built-in role that manages
/// members (owner, admin); never a custom role, never a key.
fn definer(me: &Granted) -> Result<(), AppError> {
    match me.subject() {
        Subject::Role(_) => Ok(()),
        Subject::Custom(_) => Err(AppError::Forbidden),
        Subject::Key(_) => Err(AppError::UserRequired),
    }
}

/// Refuses a permission set beyond the caller's own.
fn within_caller(me: &Granted, permissions: &[Permission]) -> Result<(), AppError> {
    let held = me.permissions();
    match permissions.iter().find(|p| !held.contains(p)) {
        None => Ok(()),
        Some(p) => Err(AppError::refused(
            ErrorCode::ScopeExceedsRole,
            format!("you do not hold {}: a role holds only permissions its author holds", p.as_str()),
        )),
    }
}

fn builtin_refused(key: &str) -> AppError {
    AppError::refused(ErrorCode::BuiltinRole, format!("{key} is a built-in role: it never changes"))
}

fn event<'a>(
    org_id: &'a str,
    me: &'a Granted,
    action: &'static str,
    key: &'a str,
    data: serde_json::Value,
) -> Event<'a> {
    Event::in_tenant(Tenant::Org(org_id), me.actor(), action, "role", key, data)
}

/// Creates a custom role (owner; admin within their own permissions).
pub async fn create(deps: &Deps, who: &Credential, org_id: &str, input: RoleInput<'_>) -> Result<RoleView, AppError> {
    let me = who.require(deps, Tenant::Org(org_id), Permission::MembersWrite, TwoFactorPolicy::Enforce).await?;
    definer(&me)?;
    let key = RoleKey::parse(input.key.unwrap_or_default()).map_err(AppError::field);
    let checked = check(&input);
    let (key, checked) = match (key, checked) {
        (Ok(k), Ok(c)) => (k, c),
        (Err(AppError::Validation(mut a)), Err(AppError::Validation(b))) => {
            a.extend(b);
            return Err(AppError::Validation(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let name = checked.name.ok_or_else(|| AppError::field(FieldError::new("name", "required", "must not be empty")))?;
    let permissions = checked.permissions.unwrap_or_default();
    within_caller(&me, &permissions)?;
    let description = checked.description.unwrap_or_default();
    let now = deps.now();
    let caller = me.person_id().ok_or(AppError::UserRequired)?;
    let stored = custom_role::stored(&permissions);
    let mut batch = Batch::new();
    let inserted = batch.write(stmt!(
        sql::INSERT_ROLE,
        org_id,
        key.as_str(),
        name.as_str(),
        &description,
        &stored,
        now,
        custom_role::MAX_PER_ORG,
        caller,
        me.role_value().name()
    ));
    let data = json!({ "name": name.as_str(), "permissions": permissions });
    batch.add(event(org_id, &me, "role.created", key.as_str(), data).stmt_if_changed(deps)?);
    let count = batch.read::<serde_json::Value>(stmt!(sql::ROLE_COUNT, org_id));
    let row = batch.read::<RoleRow>(stmt!(sql::ROLE, org_id, key.as_str()));
    let mut results = match batch.run(deps.db.as_ref()).await {
        Err(DbError::Unique(_)) => {
            return Err(AppError::refused(ErrorCode::RoleExists, format!("the role {} exists", key.as_str())))
        }
        other => other?,
    };
    if results.changed(inserted) == 0 {
        let n = results.first(count)?.and_then(|v| v["n"].as_i64()).unwrap_or(0);
        return Err(if n >= custom_role::MAX_PER_ORG {
            AppError::refused(ErrorCode::RoleLimitReached, "an organization has at most 25 custom roles")
        } else {
            AppError::refused(ErrorCode::Conflict, "your access changed while this was being done; try again")
        });
    }
    Ok(results.first(row)?.ok_or_else(|| AppError::internal("a created role was not read back"))?.view())
}

/// Changes a custom role's name, description or permissions (owner; admin
/// within their own permissions). Its holders get the new set on their
/// next request.
pub async fn update(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    key: &str,
    input: RoleInput<'_>,
) -> Result<RoleView, AppError> {
    let read = RoleKey::looks_like(key).then(|| stmt!(sql::ROLE, org_id, key));
    let (me, row): (Granted, RoleRow) =
        who.require_read(deps, Tenant::Org(org_id), Permission::MembersWrite, read).await?;
    definer(&me)?;
    let checked = check(&input)?;
    let old = custom_role::from_stored(&row.permissions);
    // An admin changes a role only while it stays within what they hold,
    // and only a role within what they hold (never one an owner widened).
    within_caller(&me, &old)?;
    if let Some(new) = &checked.permissions {
        within_caller(&me, new)?;
    }
    let caller = me.person_id().ok_or(AppError::UserRequired)?;
    let stored = checked.permissions.as_deref().map(custom_role::stored);
    let mut batch = Batch::new();
    let updated = batch.write(stmt!(
        sql::UPDATE_ROLE,
        org_id,
        key,
        checked.name.as_ref().map(DisplayName::as_str),
        checked.description.as_deref(),
        stored.as_deref(),
        deps.now(),
        caller,
        me.role_value().name()
    ));
    let data = json!({ "name": checked.name.as_ref().map(DisplayName::as_str), "from": old,
                       "permissions": checked.permissions });
    batch.add(event(org_id, &me, "role.updated", key, data).stmt_if_changed(deps)?);
    let after = batch.read::<RoleRow>(stmt!(sql::ROLE, org_id, key));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let after = results.first(after)?.ok_or(AppError::NotFound)?;
    if results.changed(updated) == 0 {
        return Err(AppError::refused(ErrorCode::Conflict, "your access changed while this was being done; try again"));
    }
    Ok(after.view())
}

/// [`update`] for a key that names a built-in role: 409 `builtin_role`
/// (after the caller's own decision).
pub async fn refuse_builtin(deps: &Deps, who: &Credential, org_id: &str, key: &str) -> Result<(), AppError> {
    let me = who.require(deps, Tenant::Org(org_id), Permission::MembersWrite, TwoFactorPolicy::Enforce).await?;
    definer(&me)?;
    Err(builtin_refused(key))
}

/// Deletes a custom role nobody holds and no pending invitation gives
/// (409 `role_in_use` otherwise).
pub async fn delete(deps: &Deps, who: &Credential, org_id: &str, key: &str) -> Result<(), AppError> {
    if Role::parse(key).is_some() {
        return refuse_builtin(deps, who, org_id, key).await;
    }
    let read = RoleKey::looks_like(key).then(|| stmt!(sql::ROLE, org_id, key));
    let (me, row): (Granted, RoleRow) =
        who.require_read(deps, Tenant::Org(org_id), Permission::MembersWrite, read).await?;
    definer(&me)?;
    within_caller(&me, &custom_role::from_stored(&row.permissions))?;
    let caller = me.person_id().ok_or(AppError::UserRequired)?;
    let mut batch = Batch::new();
    let deleted = batch.write(stmt!(sql::DELETE_ROLE, org_id, key, caller, me.role_value().name()));
    let data = json!({ "name": row.name, "permissions": custom_role::from_stored(&row.permissions) });
    batch.add(event(org_id, &me, "role.deleted", key, data).stmt_if_changed(deps)?);
    let uses = batch.read::<serde_json::Value>(stmt!(sql::ROLE_USE, org_id, key));
    let exists = batch.read::<RoleRow>(stmt!(sql::ROLE, org_id, key));
    let mut results = batch.run(deps.db.as_ref()).await?;
    if results.changed(deleted) == 1 {
        return Ok(());
    }
    let uses = results.first(uses)?.unwrap_or_default();
    if results.first(exists)?.is_none() {
        return Err(AppError::NotFound);
    }
    let mut what = Vec::new();
    for (column, says) in [
        ("members", "members hold it"),
        ("invitations", "pending invitations give it"),
        ("domains", "a verified domain's enrollment gives it"),
        ("join_links", "a join link that is not revoked gives it"),
        ("requests", "pending membership requests ask for it"),
        ("sso", "a single sign-on connection gives it to the people it signs in"),
    ] {
        if uses[column].as_i64() == Some(1) {
            what.push(says);
        }
    }
    if !what.is_empty() {
        let what = what.join("; ");
        return Err(AppError::refused(
            ErrorCode::RoleInUse,
            format!("the role {key} is in use ({what}): change their roles, revoke the invitations and join links, decide the requests or change the domains and SSO connections first"),
        ));
    }
    Err(AppError::refused(ErrorCode::Conflict, "your access changed while this was being done; try again"))
}

/// A role named by a client for someone in `org_id` (field `role`): built
/// in, or one of the org's custom roles as `row` (read in the same batch as
/// the decision) found it. Anything else is 422 `validation_failed`.
pub fn role_in_org(raw: &str, row: Option<RoleRow>) -> Result<RoleValue, AppError> {
    if let Some(role) = Role::parse(raw) {
        return Ok(RoleValue::Builtin(role));
    }
    match row {
        Some(r) if r.key == raw => Ok(r.value()),
        _ => Err(AppError::field(FieldError::new(
            "role",
            "invalid_role",
            "must be owner, admin, member or one of this organization's roles",
        ))),
    }
}

/// A role named by a client for an org member: the shape of a built-in
/// name or a custom role's key (whether the org has it is asked with the
/// decision); anything else is 422 at once.
pub fn org_role_field(raw: &str) -> Result<(), AppError> {
    if Role::parse(raw).is_some() || RoleKey::looks_like(raw) {
        Ok(())
    } else {
        role_in_org(raw, None).map(|_| ())
    }
}

/// The statement that reads the custom role a client named (None for a
/// built-in name or one that cannot be a key: nothing to read).
pub fn role_read(org_id: &str, raw: &str) -> Option<crate::store::Stmt> {
    (Role::parse(raw).is_none() && RoleKey::looks_like(raw)).then(|| stmt!(sql::ROLE, org_id, raw))
}
