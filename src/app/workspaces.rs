//! Customer workspaces, their members, grants to organizations and install
//! links. A person's workspace role is derived on every request (one query)
//! from their direct membership and the grants to their orgs, so revoking a
//! grant or leaving the org acts on the very next request.
use super::access::{stored_role, Credential, Granted, TwoFactorPolicy, Wrote};
use super::audit::{Actor, Event};
use super::authorize::Requirement;
use super::orgs;
use super::page::PageRequest;
use super::ErrorCode;
use super::{random, AppError, Deps};
use crate::domain::email::Email;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::name::DisplayName;
use crate::domain::policy::{self, Facts, Permission, Role, Subject, Via, WorkspaceAction};
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::time::{rfc3339, DAY, HOUR};
use crate::domain::token::{self, Secret};
use crate::domain::FieldError;
use crate::stmt;
pub use crate::store::sql::WorkspaceRow;
use crate::store::sql::{GrantLimits, GrantRow, GrantSides, InstallLinkListRow, InstallLinkRow, ManagedWorkspaceRow};
use crate::store::{sql, Batch, DbError, Read, Results};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

/// Install links live 7 days unless asked otherwise.
pub const INSTALL_LINK_SECONDS: i64 = 7 * DAY;
/// Longest install link lifetime (30 days).
pub const MAX_INSTALL_LINK_SECONDS: i64 = 30 * DAY;
/// The window over which grants are counted (an hour).
pub const GRANT_WINDOW_SECONDS: i64 = HOUR;
/// Grants one workspace may create per window, by slug or install link: a
/// customer sets up a few vendors, a loop of grant and revoke is spam (each
/// one writes the org's audit log and fires its `grant.*` webhooks).
pub const GRANTS_PER_WORKSPACE: i64 = 5;
/// Grants by slug (unasked) one org may receive per window from all
/// workspaces together. Grants through the org's own install links do not
/// count: a flood by slug never blocks the customers the org invited.
pub const SLUG_GRANTS_PER_ORG: i64 = 20;

impl WorkspaceRow {
    /// The caller's own membership role (parsed strictly).
    pub(crate) fn direct(&self) -> Result<Option<Role>, AppError> {
        self.direct_role.as_deref().map(stored_role).transpose()
    }

    /// The subject of the caller's decisions here (their effective role:
    /// direct, or admin through a grant) and the facts: how access was
    /// obtained and, where an org whose grant would reach them requires 2FA
    /// they lack, that requirement. None: hidden (404).
    pub(crate) fn standing(&self, has_2fa: bool) -> Result<Option<(Role, Facts)>, AppError> {
        let facts = |via, require_2fa| Facts { tenant: TenantKind::Workspace, via, require_2fa, has_2fa };
        Ok(match policy::effective_workspace_role(self.direct()?, self.via_org_id.is_some()) {
            Some((role, via)) => Some((role, facts(via, false))),
            None if self.needs_2fa_org.is_some() => Some((Role::Admin, facts(Via::Grant, true))),
            None => None,
        })
    }

    /// The org whose `require_2fa` the person does not meet.
    pub(crate) fn needs_2fa_org(&self) -> Result<OrgRef, AppError> {
        let raw = self.needs_2fa_org.as_deref().unwrap_or_default();
        serde_json::from_str(raw).map_err(|e| AppError::internal_from("reading needs_2fa_org", e))
    }

    /// The org whose grant reaches the person (grant access only).
    pub(crate) fn via_org(&self) -> OrgRef {
        OrgRef { id: self.via_org_id.clone().unwrap_or_default(), name: self.via_org_name.clone().unwrap_or_default() }
    }
}

/// An organization, by id and name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgRef {
    /// `org_…`
    pub id: String,
    /// Name.
    pub name: String,
}

/// An organization, by id, name and slug.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgSummary {
    /// `org_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
}

/// A workspace as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkspaceView {
    /// `ws_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// The caller's effective role.
    pub role: Option<Role>,
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
    /// Billing contact (shown to the owner only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_email: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// What the caller may do here: every permission the policy table
    /// allows them, with the same facts as the real check (through a grant:
    /// never the direct seats). Clients show and hide by it.
    pub permissions: Vec<Permission>,
    /// The roles the caller may invite someone with (empty without
    /// `invitations:write`); highest first.
    pub invitable_roles: Vec<Role>,
}

/// The caller inside a workspace.
#[derive(Debug, Clone)]
pub struct WorkspaceAccess {
    row: WorkspaceRow,
    /// Effective role.
    pub role: Role,
    /// Where it comes from, and the rest of what decisions here depend on.
    pub facts: Facts,
    /// The audit actor.
    pub actor: Actor,
}

impl WorkspaceAccess {
    /// The workspace side of a capability.
    fn from_granted(granted: Granted) -> Result<Self, AppError> {
        let row = granted
            .workspace()
            .cloned()
            .ok_or_else(|| AppError::internal("a workspace capability without its workspace"))?;
        Ok(WorkspaceAccess { role: granted.role(), facts: *granted.facts(), actor: granted.actor().clone(), row })
    }

    /// The view, with the caller's role.
    pub fn view(&self) -> WorkspaceView {
        WorkspaceView {
            id: self.row.id.clone(),
            name: self.row.name.clone(),
            role: Some(self.role),
            plan: self.row.plan.clone(),
            billing_email: self
                .permissions()
                .contains(&Permission::BillingManage)
                .then(|| self.row.billing_email.clone())
                .flatten(),
            created_at: rfc3339(self.row.created_at),
            permissions: self.permissions(),
            invitable_roles: policy::invitable_roles(Subject::Role(self.role), self.role, &self.facts),
        }
    }

    /// Every permission the caller has here.
    pub fn permissions(&self) -> Vec<Permission> {
        policy::permissions_of(Subject::Role(self.role), &self.facts)
    }

    /// The org a grant came through, if that is how the caller is here.
    pub fn via_org(&self) -> Option<OrgRef> {
        match self.facts.via {
            Via::Grant => Some(self.row.via_org()),
            Via::Direct => None,
        }
    }

    /// The caller's own membership role (None: here only through a grant).
    pub fn direct_role(&self) -> Result<Option<Role>, AppError> {
        self.row.direct()
    }
}

/// The caller in the workspace, where `permission` is theirs (the
/// resolver decides: not visible is 404, visible without the permission
/// 403), with `batch` riding along in the same round trip.
async fn access_with(
    deps: &Deps,
    who: &Credential,
    ws_id: &str,
    permission: Permission,
    batch: Batch,
) -> Result<(WorkspaceAccess, Results), AppError> {
    let (granted, results) =
        who.require_with(deps, Tenant::Workspace(ws_id), permission, TwoFactorPolicy::Enforce, batch).await?;
    Ok((WorkspaceAccess::from_granted(granted)?, results))
}

/// [`access_with`] with nothing riding along.
async fn access(
    deps: &Deps,
    who: &Credential,
    ws_id: &str,
    permission: Permission,
) -> Result<WorkspaceAccess, AppError> {
    Ok(access_with(deps, who, ws_id, permission, Batch::new()).await?.0)
}

/// Creates a workspace; the creator (the customer) is its owner.
pub async fn create_workspace(deps: &Deps, who: &Credential, raw_name: &str) -> Result<WorkspaceView, AppError> {
    let name = DisplayName::parse("name", raw_name)?;
    let now = deps.now();
    let id = deps.new_id(IdKind::Workspace)?;
    // One round trip: the session (of a verified person) is the guard.
    let wrote = who
        .person_write(deps, true, |user_id, batch| {
            let event = Event {
                org_id: None,
                workspace_id: Some(&id),
                actor: &Actor::user(user_id),
                action: "workspace.created",
                target_kind: "workspace",
                target_id: &id,
                data: json!({ "name": name.as_str() }),
            };
            batch.add(stmt!(sql::INSERT_WORKSPACE, &id, name.as_str(), now));
            batch.add(sql::WORKSPACE_MEMBERS.insert(&id, user_id, Role::Owner, now));
            batch.add(event.stmt(deps)?);
            Ok(())
        })
        .await?;
    wrote.ran?;
    Ok(WorkspaceView {
        id,
        name: name.as_str().to_owned(),
        role: Some(Role::Owner),
        plan: "free".into(),
        billing_email: None,
        created_at: rfc3339(now),
        permissions: policy::permissions_of(Subject::Role(Role::Owner), &Facts::direct(TenantKind::Workspace)),
        invitable_roles: policy::invitable_roles(
            Subject::Role(Role::Owner),
            Role::Owner,
            &Facts::direct(TenantKind::Workspace),
        ),
    })
}

/// A workspace one of my orgs was granted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SharedWorkspace {
    /// The workspace, with my role there.
    pub workspace: WorkspaceView,
    /// The org whose grant reaches me.
    pub via_org: Option<OrgRef>,
    /// Always `admin`.
    pub role: Role,
}

/// A workspace granted only to orgs whose `require_2fa` I do not meet: named
/// by id alone (opening it is 403 `two_factor_required`, so its name, plan
/// and my role there are not shown either).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LockedSharedWorkspace {
    /// `ws_…`
    pub id: String,
    /// The org that requires two-factor authentication.
    pub org: OrgRef,
    /// Always `two_factor`: what opening it needs.
    pub requires: Requirement,
}

/// One entry of "Shared With Me": the workspace, or (without the second
/// factor its org requires) only its id and what opening it needs.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SharedEntry {
    /// Reachable now.
    Open(SharedWorkspace),
    /// Needs two-factor authentication first.
    Locked(LockedSharedWorkspace),
}

/// Mine (direct) and shared with me (through my orgs' grants).
pub async fn list_workspaces(
    deps: &Deps,
    who: &Credential,
) -> Result<(Vec<WorkspaceView>, Vec<SharedEntry>), AppError> {
    // Both lists ride along with the session check (one round trip).
    let user_id = who.user_id().unwrap_or_default();
    let mut batch = Batch::new();
    let mine = batch.read::<WorkspaceRow>(stmt!(sql::MY_WORKSPACES, user_id));
    let shared = batch.read::<WorkspaceRow>(stmt!(sql::SHARED_WITH_ME, user_id));
    let (who, mut results) = who.person_with(deps, batch).await?;
    let who = &who;
    let (mine, shared) = (results.all(mine)?, results.all(shared)?);
    let has_2fa = who.user.totp_enabled != 0;
    let view = |row: WorkspaceRow| -> Result<Option<WorkspaceAccess>, AppError> {
        let Some((role, facts)) = row.standing(has_2fa)? else { return Ok(None) };
        Ok(Some(WorkspaceAccess { row, role, facts, actor: Actor::user(&who.user.id) }))
    };
    let mut views = Vec::new();
    for row in mine {
        views.extend(view(row)?.map(|a| a.view()));
    }
    let mut shared_views = Vec::new();
    for row in shared {
        let Some(a) = view(row)? else { continue };
        // The same decision as opening it: what `two_factor_required` hides
        // there is not listed here.
        let entry = if a.permissions().contains(&WorkspaceAction::Read.permission()) {
            SharedEntry::Open(SharedWorkspace { workspace: a.view(), via_org: a.via_org(), role: a.role })
        } else if a.facts.require_2fa && !a.facts.has_2fa {
            SharedEntry::Locked(LockedSharedWorkspace {
                id: a.row.id.clone(),
                org: a.row.needs_2fa_org()?,
                requires: Requirement::TwoFactor,
            })
        } else {
            continue;
        };
        shared_views.push(entry);
    }
    Ok((views, shared_views))
}

/// One workspace, and how the caller reaches it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkspaceDetail {
    /// The workspace.
    #[serde(flatten)]
    pub workspace: WorkspaceView,
    /// The org whose grant reaches the caller; null for a direct member.
    pub via_org: Option<OrgRef>,
}

/// One workspace.
pub async fn get_workspace(deps: &Deps, who: &Credential, ws_id: &str) -> Result<WorkspaceDetail, AppError> {
    let a = access(deps, who, ws_id, WorkspaceAction::Read.permission()).await?;
    Ok(WorkspaceDetail { workspace: a.view(), via_org: a.via_org() })
}

/// Renames (admin+, grant admins included).
pub async fn update_workspace(
    deps: &Deps,
    who: &Credential,
    ws_id: &str,
    raw_name: &str,
) -> Result<WorkspaceView, AppError> {
    let name = DisplayName::parse("name", raw_name)?;
    let now = deps.now();
    let mut a = workspace_write(deps, who, ws_id, WorkspaceAction::Update, |actor, batch| {
        batch.add(stmt!(sql::UPDATE_WORKSPACE, ws_id, name.as_str(), now));
        batch.add(ws_event(actor, ws_id, "workspace.updated", json!({ "name": name.as_str() })).stmt(deps)?);
        Ok(())
    })
    .await?;
    a.row.name = name.as_str().to_owned();
    Ok(a.view())
}

/// A write of the workspace itself in one round trip for a person
/// ([`Credential::require_write`]); the caller's view of it as it was.
async fn workspace_write(
    deps: &Deps,
    who: &Credential,
    ws_id: &str,
    action: WorkspaceAction,
    writes: impl FnOnce(&Actor, &mut Batch) -> Result<(), AppError>,
) -> Result<WorkspaceAccess, AppError> {
    let tenant = Tenant::Workspace(ws_id);
    let wrote = who.require_write(deps, tenant, action.permission(), TwoFactorPolicy::Enforce, writes).await?;
    wrote.ran?;
    WorkspaceAccess::from_granted(wrote.who)
}

/// An event of the workspace itself.
fn ws_event<'a>(actor: &'a Actor, ws_id: &'a str, action: &'static str, data: Value) -> Event<'a> {
    Event { org_id: None, workspace_id: Some(ws_id), actor, action, target_kind: "workspace", target_id: ws_id, data }
}

/// Deletes the workspace and everything of it (owner only).
pub async fn delete_workspace(deps: &Deps, who: &Credential, ws_id: &str) -> Result<(), AppError> {
    workspace_write(deps, who, ws_id, WorkspaceAction::Own, |_, batch| {
        batch.add(stmt!(sql::DELETE_WORKSPACE_INVITATIONS, ws_id));
        batch.add(stmt!(sql::DELETE_WORKSPACE_AUDIT, ws_id));
        batch.add(stmt!(sql::DELETE_WORKSPACE, ws_id));
        Ok(())
    })
    .await?;
    Ok(())
}

/// Sets plan and billing email (owner only; grant admins get 403).
pub async fn update_billing(
    deps: &Deps,
    who: &Credential,
    ws_id: &str,
    plan: &str,
    raw_email: &str,
) -> Result<WorkspaceView, AppError> {
    if !["free", "pro", "enterprise"].contains(&plan) {
        return Err(AppError::field(FieldError::new("plan", "invalid_plan", "must be free, pro or enterprise")));
    }
    let email = Email::parse(raw_email).map_err(|mut e| {
        e.field = "billing_email";
        AppError::field(e)
    })?;
    let now = deps.now();
    let mut a = workspace_write(deps, who, ws_id, WorkspaceAction::Billing, |actor, batch| {
        batch.add(stmt!(sql::UPDATE_BILLING, ws_id, plan, email.as_str(), now));
        batch.add(ws_event(actor, ws_id, "workspace.billing_updated", json!({ "plan": plan })).stmt(deps)?);
        Ok(())
    })
    .await?;
    a.row.plan = plan.to_owned();
    a.row.billing_email = Some(email.as_str().to_owned());
    Ok(a.view())
}

/// A grant as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantView {
    /// The org.
    pub org: OrgSummary,
    /// Always `admin`.
    pub role: Role,
    /// RFC 3339.
    pub granted_at: String,
}

impl GrantRow {
    fn view(&self) -> GrantView {
        GrantView {
            org: OrgSummary { id: self.id.clone(), name: self.name.clone(), slug: self.slug.clone() },
            role: Role::Admin,
            granted_at: rfc3339(self.granted_at),
        }
    }
}

/// How a grant is made: by the org's slug (unasked), or by accepting one of
/// the org's install links (the org asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GrantHow {
    Slug,
    InstallLink,
}

async fn insert_grant(
    deps: &Deps,
    a: &WorkspaceAccess,
    org: &orgs::OrgRow,
    how: GrantHow,
) -> Result<GrantView, AppError> {
    let now = deps.now();
    let (via, by_slug) = match how {
        GrantHow::Slug => ("settings", 1),
        GrantHow::InstallLink => ("install_link", 0),
    };
    let event = Event {
        org_id: Some(&org.id),
        workspace_id: Some(&a.row.id),
        actor: &a.actor,
        action: "grant.created",
        target_kind: "workspace",
        target_id: &a.row.id,
        data: grant_sides(&org.id, &org.name, &org.slug, &a.row.id, &a.row.name, json!({ "via": via })),
    };
    let mut batch = Batch::new();
    batch.add(stmt!(sql::PRUNE_GRANT_CHANGES, &a.row.id, now - GRANT_WINDOW_SECONDS));
    let inserted = batch.write(stmt!(
        sql::INSERT_GRANT,
        &a.row.id,
        &org.id,
        &a.actor.id,
        now,
        GRANTS_PER_WORKSPACE,
        SLUG_GRANTS_PER_ORG,
        GRANT_WINDOW_SECONDS,
        by_slug
    ));
    // Both only if the grant was written (each checks `changes()` of the
    // statement just before it).
    batch.add(stmt!(sql::LOG_GRANT_IF_CHANGED, &a.row.id, &org.id, by_slug, now));
    batch.add(event.stmt_if_changed(deps)?);
    if how == GrantHow::InstallLink {
        batch.add(stmt!(sql::LIFT_GRANT_REFUSAL, &org.id, &a.row.id));
    }
    match batch.run(deps.db.as_ref()).await {
        Ok(results) if results.changed(inserted) > 0 => Ok(GrantView {
            org: OrgSummary { id: org.id.clone(), name: org.name.clone(), slug: org.slug.clone() },
            role: Role::Admin,
            granted_at: rfc3339(now),
        }),
        Ok(_) => Err(refused_grant(deps, &a.row.id, &org.id, now).await),
        Err(DbError::Unique(_)) => {
            Err(AppError::refused(ErrorCode::GrantExists, "this organization already has access"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Why the guarded grant wrote nothing: the org's refusal, or a limit (429
/// with the seconds until the window has room again).
async fn refused_grant(deps: &Deps, ws_id: &str, org_id: &str, now: i64) -> AppError {
    let limits: Result<Option<GrantLimits>, AppError> = async {
        Ok(deps
            .db
            .run(stmt!(
                sql::GRANT_LIMITS,
                ws_id,
                org_id,
                now,
                GRANT_WINDOW_SECONDS,
                GRANTS_PER_WORKSPACE,
                SLUG_GRANTS_PER_ORG
            ))
            .await?
            .first()?)
    }
    .await;
    let retry = |oldest: Option<i64>| (oldest.map_or(GRANT_WINDOW_SECONDS, |t| t + GRANT_WINDOW_SECONDS - now)).max(1);
    match limits {
        Ok(Some(l)) if l.workspace_grants >= GRANTS_PER_WORKSPACE => AppError::RateLimited {
            retry_after: retry(l.workspace_oldest),
            detail: format!("this workspace made {GRANTS_PER_WORKSPACE} grants within the hour; try again later"),
        },
        Ok(Some(l)) if l.refused != 0 => AppError::refused(
            ErrorCode::GrantRefused,
            "this organization gave this workspace's access back; it can ask again with an install link",
        ),
        Ok(Some(l)) if l.org_grants >= SLUG_GRANTS_PER_ORG => AppError::RateLimited {
            retry_after: retry(l.org_oldest),
            detail: "this organization received too many grants by slug within the hour; try again later, \
                     or ask it for an install link"
                .into(),
        },
        Ok(_) => AppError::refused(ErrorCode::Conflict, "the grant could not be created; try again"),
        Err(e) => e,
    }
}

/// Grants an org (by slug) admin access to the workspace (owner only),
/// within the limits, unless the org relinquished this workspace before.
pub async fn create_grant(deps: &Deps, who: &Credential, ws_id: &str, slug: &str) -> Result<GrantView, AppError> {
    // The org rides along with the decision (one round trip).
    let mut batch = Batch::new();
    let org = batch.read::<orgs::OrgRow>(stmt!(sql::ORG_BY_SLUG, slug.trim()));
    let (a, mut results) = access_with(deps, who, ws_id, WorkspaceAction::Own.permission(), batch).await?;
    let org = results
        .first(org)?
        .ok_or_else(|| AppError::refused(ErrorCode::OrgNotFound, "no organization has this slug"))?;
    insert_grant(deps, &a, &org, GrantHow::Slug).await
}

/// The workspace's grants (admin+).
pub async fn list_grants(deps: &Deps, who: &Credential, ws_id: &str) -> Result<Vec<GrantView>, AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<GrantRow>(stmt!(sql::LIST_GRANTS, ws_id));
    let (_, mut results) = access_with(deps, who, ws_id, WorkspaceAction::ReadGrants.permission(), batch).await?;
    let rows = results.all(rows)?;
    Ok(rows.iter().map(GrantRow::view).collect())
}

/// Both sides of a grant, as every grant audit entry names them (the
/// workspace's log and the org's log read the same row).
fn grant_sides(org_id: &str, org_name: &str, org_slug: &str, ws_id: &str, ws_name: &str, mut extra: Value) -> Value {
    extra["org"] = json!({ "id": org_id, "name": org_name, "slug": org_slug });
    extra["workspace"] = json!({ "id": ws_id, "name": ws_name });
    extra
}

/// Ends a grant: the row goes, the invitations sent through it die, and one
/// audit entry (in both logs) names both sides.
/// Reads both sides of the grant of `ws_id` to `org_id` in `batch` (the
/// resolution's): nothing for ids that cannot be.
fn grant_sides_read(batch: &mut Batch, ws_id: &str, org_id: &str) -> Option<Read<GrantSides>> {
    (looks_like(IdKind::Org, org_id) && looks_like(IdKind::Workspace, ws_id))
        .then(|| batch.read::<GrantSides>(stmt!(sql::GRANT_BOTH_SIDES, ws_id, org_id)))
}

/// Ends the grant `sides` names (none: 404), with its audit row and the
/// invitations that came through it.
async fn end_grant(
    deps: &Deps,
    actor: &Actor,
    sides: Option<GrantSides>,
    action: &'static str,
    then: Option<crate::store::Stmt>,
) -> Result<(), AppError> {
    let sides = sides.ok_or(AppError::NotFound)?;
    let (ws_id, org_id) = (sides.workspace_id.as_str(), sides.org_id.as_str());
    let data = grant_sides(
        &sides.org_id,
        &sides.org_name,
        &sides.org_slug,
        &sides.workspace_id,
        &sides.workspace_name,
        json!({}),
    );
    let event = Event {
        org_id: Some(org_id),
        workspace_id: Some(ws_id),
        actor,
        action,
        target_kind: "workspace",
        target_id: ws_id,
        data,
    };
    let mut batch = Batch::new();
    let ended = batch.write(stmt!(sql::DELETE_GRANT, ws_id, org_id));
    batch.add(event.stmt_if_changed(deps)?);
    batch.add(stmt!(sql::REVOKE_INVITATIONS_THROUGH_GRANT, ws_id, org_id, deps.now()));
    if let Some(stmt) = then {
        batch.add(stmt);
    }
    if batch.run(deps.db.as_ref()).await?.changed(ended) == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Revokes an org's access (owner only): its members lose it on their next request.
pub async fn revoke_grant(deps: &Deps, who: &Credential, ws_id: &str, org_id: &str) -> Result<(), AppError> {
    let mut batch = Batch::new();
    let sides = grant_sides_read(&mut batch, ws_id, org_id);
    let (a, mut results) = access_with(deps, who, ws_id, WorkspaceAction::Own.permission(), batch).await?;
    let sides = results.first_if(sides)?;
    end_grant(deps, &a.actor, sides, "grant.revoked", None).await
}

/// A workspace as the org that manages it sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagedWorkspace {
    /// The workspace.
    pub workspace: ManagedWorkspaceInfo,
    /// Always `admin`: the org's members' role there.
    pub role: Role,
    /// RFC 3339.
    pub granted_at: String,
}

/// The workspace part of [`ManagedWorkspace`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagedWorkspaceInfo {
    /// `ws_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
    /// RFC 3339.
    pub created_at: String,
}

/// Workspaces granted to the org (org member+).
pub async fn managed_workspaces(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
) -> Result<Vec<ManagedWorkspace>, AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<ManagedWorkspaceRow>(stmt!(sql::MANAGED_WORKSPACES, org_id));
    let (_, mut results) = who
        .require_with(deps, Tenant::Org(org_id), Permission::WorkspacesRead, TwoFactorPolicy::Enforce, batch)
        .await?;
    let rows = results.all(rows)?;
    Ok(rows
        .into_iter()
        .map(|r| ManagedWorkspace {
            workspace: ManagedWorkspaceInfo { id: r.id, name: r.name, plan: r.plan, created_at: rfc3339(r.created_at) },
            role: Role::Admin,
            granted_at: rfc3339(r.granted_at),
        })
        .collect())
}

/// The org gives a workspace's access back (org admin+), and from then on
/// refuses the workspace's grants by slug (an install link of the org's
/// still works, and lifts the refusal).
pub async fn relinquish(deps: &Deps, who: &Credential, org_id: &str, ws_id: &str) -> Result<(), AppError> {
    let mut batch = Batch::new();
    let sides = grant_sides_read(&mut batch, ws_id, org_id);
    let tenant = Tenant::Org(org_id);
    let (a, mut results) =
        who.require_with(deps, tenant, Permission::WorkspacesWrite, TwoFactorPolicy::Enforce, batch).await?;
    let sides = results.first_if(sides)?;
    let refuse = stmt!(sql::REFUSE_GRANTS, org_id, ws_id, deps.now());
    end_grant(deps, a.actor(), sides, "grant.relinquished", Some(refuse)).await
}

/// A new install link: the link as a list shows it right after creation
/// and, this once, its token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedInstallLink {
    /// The link (`active`).
    #[serde(flatten)]
    pub link: InstallLinkView,
    /// Shown once.
    pub token: String,
    /// `{APP_URL}/install#token=…`
    pub url: String,
}

/// Creates an install link (org admin+), reusable until it expires or is revoked.
pub async fn create_install_link(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    expires_in: Option<i64>,
) -> Result<CreatedInstallLink, AppError> {
    let lifetime = expires_in.unwrap_or(INSTALL_LINK_SECONDS);
    if !(60..=MAX_INSTALL_LINK_SECONDS).contains(&lifetime) {
        return Err(AppError::field(FieldError::new("expires_in_seconds", "out_of_range", "must be 60 to 2592000")));
    }
    let now = deps.now();
    let id = deps.new_id(IdKind::InstallLink)?;
    let secret = Secret::random(random(deps.rng.as_ref())?);
    // One round trip for a person: the guard, the link and its audit row.
    let wrote = links_write(deps, who, org_id, |actor, batch| {
        batch.add(stmt!(sql::INSERT_INSTALL_LINK, &id, org_id, secret.digest(), &actor.id, now, now + lifetime));
        let data = json!({ "expires_at": rfc3339(now + lifetime) });
        batch.add(link_event(org_id, actor, "install_link.created", &id, data).stmt(deps)?);
        Ok(actor.id.clone())
    })
    .await?;
    wrote.ran?;
    // The row as written, shown as a list would show it now.
    let row = InstallLinkListRow {
        id,
        created_by: Some(wrote.handles),
        created_at: now,
        expires_at: now + lifetime,
        revoked_at: None,
    };
    Ok(CreatedInstallLink {
        url: format!("{}/install#token={}", deps.config.app_url, secret.expose()),
        token: secret.expose().to_owned(),
        link: row.view(now),
    })
}

/// An install link as listed (never its token).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstallLinkView {
    /// `inl_…`
    pub id: String,
    /// The user who created it (null once they are gone).
    pub created_by: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339, or null.
    pub revoked_at: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub status: InstallLinkStatus,
}

/// Whether an install link still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstallLinkStatus {
    /// Usable.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// The org's install links (never their tokens).
pub async fn list_install_links(deps: &Deps, who: &Credential, org_id: &str) -> Result<Vec<InstallLinkView>, AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<InstallLinkListRow>(stmt!(sql::LIST_INSTALL_LINKS, org_id));
    let (_, mut results) = who
        .require_with(deps, Tenant::Org(org_id), Permission::WorkspacesWrite, TwoFactorPolicy::Enforce, batch)
        .await?;
    let now = deps.now();
    Ok(results.all(rows)?.into_iter().map(|r| r.view(now)).collect())
}

impl InstallLinkListRow {
    fn view(self, now: i64) -> InstallLinkView {
        let status = if self.revoked_at.is_some() {
            InstallLinkStatus::Revoked
        } else if self.expires_at <= now {
            InstallLinkStatus::Expired
        } else {
            InstallLinkStatus::Active
        };
        InstallLinkView {
            id: self.id,
            created_by: self.created_by,
            created_at: rfc3339(self.created_at),
            expires_at: rfc3339(self.expires_at),
            revoked_at: self.revoked_at.map(rfc3339),
            status,
        }
    }
}

/// A write of the org's install links, in one round trip for a person.
async fn links_write<T>(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    writes: impl FnOnce(&Actor, &mut Batch) -> Result<T, AppError>,
) -> Result<Wrote<Granted, T>, AppError> {
    who.require_write(deps, Tenant::Org(org_id), Permission::WorkspacesWrite, TwoFactorPolicy::Enforce, writes).await
}

/// An event of an install link, in its org's log.
fn link_event<'a>(org_id: &'a str, actor: &'a Actor, action: &'static str, id: &'a str, data: Value) -> Event<'a> {
    Event::in_tenant(Tenant::Org(org_id), actor, action, "install_link", id, data)
}

/// Revokes an install link.
pub async fn revoke_install_link(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let now = deps.now();
    let wrote = links_write(deps, who, org_id, |actor, batch| {
        let revoked = batch.write(stmt!(sql::REVOKE_INSTALL_LINK, id, org_id, now));
        batch.add(link_event(org_id, actor, "install_link.revoked", id, json!({})).stmt_if_changed(deps)?);
        Ok(revoked)
    })
    .await?;
    if wrote.ran?.changed(wrote.handles) == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

async fn live_link(deps: &Deps, raw_token: &str) -> Result<InstallLinkRow, AppError> {
    let mut batch = Batch::new();
    let Some(read) = link_read(&mut batch, raw_token) else { return usable_link(deps, None) };
    let row = batch.run(deps.db.as_ref()).await?.first(read)?;
    usable_link(deps, row)
}

/// Reads the link a token names (nothing for a token that cannot be one).
fn link_read(batch: &mut Batch, raw_token: &str) -> Option<Read<InstallLinkRow>> {
    token::plausible(raw_token).then(|| {
        batch.read::<InstallLinkRow>(stmt!(sql::INSTALL_LINK_BY_TOKEN, Secret::from_client(raw_token).digest()))
    })
}

/// The link, if it is there and still usable.
fn usable_link(deps: &Deps, row: Option<InstallLinkRow>) -> Result<InstallLinkRow, AppError> {
    let unknown = || AppError::refused(ErrorCode::InstallLinkNotFound, "no install link has this token");
    let row = row.ok_or_else(unknown)?;
    if row.revoked_at.is_some() || row.expires_at <= deps.now() {
        return Err(AppError::refused(
            ErrorCode::InstallLinkUnavailable,
            "this install link was revoked or has expired",
        ));
    }
    Ok(row)
}

/// An organization, by name and slug (what a link's holder is shown).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgName {
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
}

/// What an install link offers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstallLinkPreview {
    /// The org asking for access.
    pub org: OrgName,
    /// Always `admin`: the role its members get.
    pub role: Role,
    /// RFC 3339.
    pub expires_at: String,
}

/// What the link offers.
pub async fn preview_install_link(deps: &Deps, raw_token: &str) -> Result<InstallLinkPreview, AppError> {
    let row = live_link(deps, raw_token).await?;
    Ok(InstallLinkPreview {
        org: OrgName { name: row.org_name, slug: row.org_slug },
        role: Role::Admin,
        expires_at: rfc3339(row.expires_at),
    })
}

/// The workspace owner approves the link for one of their workspaces.
pub async fn accept_install_link(
    deps: &Deps,
    who: &Credential,
    raw_token: &str,
    ws_id: &str,
) -> Result<GrantView, AppError> {
    // The link rides along with the resolution; it is judged first, as a
    // link that does not work says so whoever holds it.
    let mut batch = Batch::new();
    let link = link_read(&mut batch, raw_token);
    let (caller, mut results) = who.resolve(deps, Some(Tenant::Workspace(ws_id)), batch).await?;
    let row = usable_link(deps, results.first_if(link)?)?;
    let a =
        WorkspaceAccess::from_granted(caller.require(WorkspaceAction::Own.permission(), TwoFactorPolicy::Enforce)?)?;
    let org = orgs::OrgRow {
        id: row.org_id,
        name: row.org_name,
        slug: row.org_slug,
        require_2fa: 0,
        created_at: 0,
        role: String::new(),
        joined_via: None,
        role_permissions: None,
    };
    insert_grant(deps, &a, &org, GrantHow::InstallLink).await
}

/// The workspace's audit log (owner only).
pub async fn audit_log(
    deps: &Deps,
    who: &Credential,
    ws_id: &str,
    page: &PageRequest,
) -> Result<(Vec<super::audit::AuditEventView>, Option<String>), AppError> {
    super::audit::list_events(deps, who, Tenant::Workspace(ws_id), WorkspaceAction::Own.permission(), page).await
}
