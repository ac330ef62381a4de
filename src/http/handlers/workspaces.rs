//! Workspaces, their members, grants, install links and managed workspaces.
use super::orgs::{AuditList, MemberList};
use super::Problem;
use crate::app::members::{self, MemberView};
use crate::app::workspaces::{
    self as ws, CreatedInstallLink, GrantView, InstallLinkPreview, InstallLinkView, ManagedWorkspace, SharedEntry,
    WorkspaceDetail, WorkspaceView,
};
use crate::app::Deps;
use crate::domain::tenant::Tenant;
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// My workspaces and those shared with me.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceList {
    /// Workspaces I am a direct member of, with my role.
    pub data: Vec<WorkspaceView>,
    /// Workspaces granted to one of my orgs. One granted only to orgs whose
    /// `require_2fa` I do not meet is listed as `{id, org, requires:
    /// "two_factor"}` without its name, plan or my role (opening it is 403
    /// `two_factor_required`).
    pub shared_with_me: Vec<SharedEntry>,
    /// Always null: the lists are complete.
    pub next_cursor: Option<String>,
}

/// A workspace's grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantList {
    /// Every grant.
    pub data: Vec<GrantView>,
    /// Always null: the list is complete.
    pub next_cursor: Option<String>,
}

/// An org's install links.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstallLinkList {
    /// Every link, newest first.
    pub data: Vec<InstallLinkView>,
    /// Always null: the list is complete.
    pub next_cursor: Option<String>,
}

/// The workspaces an org manages.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagedWorkspaceList {
    /// Every workspace granted to the org.
    pub data: Vec<ManagedWorkspace>,
    /// Always null: the list is complete.
    pub next_cursor: Option<String>,
}

/// New workspace, or a rename.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceBody {
    /// Display name: 1 to 100 characters once trimmed, no control characters.
    #[schema(
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]{0,98}[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F])?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub name: String,
}

/// Billing settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingBody {
    /// `free`, `pro` or `enterprise`.
    #[schema(value_type = Plan)]
    pub plan: String,
    /// Where invoices go (surrounding spaces are trimmed, and it is lowercased).
    #[schema(format = Email)]
    pub billing_email: String,
}

/// A workspace's plan.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// The default.
    Free,
    /// Paid.
    Pro,
    /// Paid, with a contract.
    Enterprise,
}

/// A grant by org slug.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// The organization's slug.
    pub org_slug: String,
}

/// A new install link. The body may be left out (no bytes at all: the
/// default lifetime); when sent, it is an object like every body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallLinkBody {
    /// 60..2592000; 7 days when absent.
    #[serde(default)]
    #[schema(minimum = 60, maximum = 2592000)]
    pub expires_in_seconds: Option<i64>,
}

/// Accepting an install link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInstallBody {
    /// From the link's fragment.
    pub token: String,
    /// The workspace to grant (the caller must own it).
    pub workspace_id: String,
}

/// `POST /v1/workspaces`.
#[utoipa::path(post, path = "/v1/workspaces", summary = "Create a workspace", tag = "workspaces", request_body = WorkspaceBody,
    responses((status = 201, body = WorkspaceView)))]
pub async fn create_workspace(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: WorkspaceBody = json(req)?;
    Ok(Response::json(201, &ws::create_workspace(deps, cred, &body.name).await?))
}

/// `GET /v1/workspaces`.
#[utoipa::path(get, path = "/v1/workspaces", summary = "List my workspaces", tag = "workspaces",
    responses((status = 200, body = WorkspaceList)))]
pub async fn list_workspaces(Call { deps, cred, .. }: Call<'_>) -> Answer {
    let (mine, shared) = ws::list_workspaces(deps, cred).await?;
    Ok(Response::json(200, &WorkspaceList { data: mine, shared_with_me: shared, next_cursor: None }))
}

/// `GET /v1/workspaces/{ws_id}`.
#[utoipa::path(get, path = "/v1/workspaces/{ws_id}", summary = "Get a workspace", tag = "workspaces",
    responses((status = 200, body = WorkspaceDetail),
              (status = 403, body = Problem, description = "two_factor_required: reached only through an org that requires 2FA"),
              (status = 404, body = Problem)))]
pub async fn get_workspace(Call { deps, cred, .. }: Call<'_>, workspace: Tenant<'_>) -> Answer {
    Ok(Response::json(200, &ws::get_workspace(deps, cred, workspace.id()).await?))
}

/// `PATCH /v1/workspaces/{ws_id}`.
#[utoipa::path(patch, path = "/v1/workspaces/{ws_id}", summary = "Update a workspace", tag = "workspaces",
    request_body = WorkspaceBody, responses((status = 200, body = WorkspaceView), (status = 403, body = Problem)))]
pub async fn update_workspace(Call { deps, req, cred }: Call<'_>, workspace: Tenant<'_>) -> Answer {
    let body: WorkspaceBody = json(req)?;
    Ok(Response::json(200, &ws::update_workspace(deps, cred, workspace.id(), &body.name).await?))
}

/// `DELETE /v1/workspaces/{ws_id}`.
#[utoipa::path(delete, path = "/v1/workspaces/{ws_id}", summary = "Delete a workspace", tag = "workspaces",
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem, description = "Only the owner")))]
pub async fn delete_workspace(Call { deps, cred, .. }: Call<'_>, workspace: Tenant<'_>) -> Answer {
    ws::delete_workspace(deps, cred, workspace.id()).await?;
    Ok(Response::empty(204))
}

/// `PUT /v1/workspaces/{ws_id}/billing`.
#[utoipa::path(put, path = "/v1/workspaces/{ws_id}/billing", summary = "Update a workspace's billing details", tag = "workspaces",
    request_body = BillingBody, responses((status = 200, body = WorkspaceView), (status = 403, body = Problem, description = "forbidden: only the owner (grant admins included); user_required: API keys never manage billing")))]
pub async fn update_billing(Call { deps, req, cred }: Call<'_>, workspace: Tenant<'_>) -> Answer {
    let body: BillingBody = json(req)?;
    Ok(Response::json(200, &ws::update_billing(deps, cred, workspace.id(), &body.plan, &body.billing_email).await?))
}

/// `GET /v1/workspaces/{ws_id}/members`.
#[utoipa::path(get, path = "/v1/workspaces/{ws_id}/members", summary = "List a workspace's members", operation_id = "list_workspace_members", tag = "workspaces",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = MemberList, description = "Direct members")))]
pub async fn list_members(Call { deps, req, cred }: Call<'_>, workspace: Tenant<'_>) -> Answer {
    let (data, next_cursor) = members::list_members(deps, cred, workspace, &extract::page(req)?, None).await?;
    Ok(Response::json(200, &MemberList { data, next_cursor }))
}

/// `PATCH /v1/workspaces/{ws_id}/members/{user_id}`.
#[utoipa::path(patch, path = "/v1/workspaces/{ws_id}/members/{user_id}", summary = "Change a workspace member's role", operation_id = "change_workspace_member_role", tag = "workspaces",
    request_body = super::orgs::RoleBody,
    responses((status = 200, body = MemberView),
              (status = 403, body = Problem, description = "forbidden: needs a direct owner or admin role (grant admins never change seats); nobody raises their own role"),
              (status = 409, body = Problem, description = "last_owner, or conflict when the caller's or the target's role changed meanwhile")))]
pub async fn change_role(Call { deps, req, cred }: Call<'_>, workspace: Tenant<'_>, user_id: &str) -> Answer {
    let body: super::orgs::RoleBody = json(req)?;
    let role = members::role_field(&body.role)?;
    Ok(Response::json(200, &members::change_role(deps, cred, workspace, user_id, role.as_str()).await?))
}

/// `DELETE /v1/workspaces/{ws_id}/members/{user_id}`.
#[utoipa::path(delete, path = "/v1/workspaces/{ws_id}/members/{user_id}", summary = "Remove a member from a workspace (or leave it)", operation_id = "remove_workspace_member", tag = "workspaces",
    responses((status = 204, description = "Removed"),
              (status = 403, body = Problem, description = "forbidden: needs a direct owner or admin role (grant admins never change seats)"),
              (status = 409, body = Problem, description = "cannot_remove_owner, last_owner, conflict, or access_through_grant when `me` is there only through an org's grant")))]
pub async fn remove_member(Call { deps, cred, .. }: Call<'_>, workspace: Tenant<'_>, user_id: &str) -> Answer {
    members::remove_member(deps, cred, workspace, user_id).await?;
    Ok(Response::empty(204))
}

/// `POST /v1/workspaces/{ws_id}/grants`.
#[utoipa::path(post, path = "/v1/workspaces/{ws_id}/grants", summary = "Grant an organization access to a workspace", tag = "grants",
    request_body = GrantBody, responses((status = 201, body = GrantView),
    (status = 403, body = Problem, description = "forbidden (not the owner), or grant_refused: the org relinquished this workspace and takes it back only through one of its install links"),
    (status = 404, body = Problem, description = "org_not_found"), (status = 409, body = Problem, description = "grant_exists"),
    (status = 429, body = Problem, description = "rate_limited, with Retry-After: 5 grants per workspace an hour, 20 grants by slug per org an hour")))]
pub async fn create_grant(Call { deps, req, cred }: Call<'_>, workspace: Tenant<'_>) -> Answer {
    let body: GrantBody = json(req)?;
    Ok(Response::json(201, &ws::create_grant(deps, cred, workspace.id(), &body.org_slug).await?))
}

/// `GET /v1/workspaces/{ws_id}/grants`.
#[utoipa::path(get, path = "/v1/workspaces/{ws_id}/grants", summary = "List a workspace's grants to organizations", tag = "grants",
    responses((status = 200, body = GrantList)))]
pub async fn list_grants(Call { deps, cred, .. }: Call<'_>, workspace: Tenant<'_>) -> Answer {
    Ok(Response::json(200, &GrantList { data: ws::list_grants(deps, cred, workspace.id()).await?, next_cursor: None }))
}

/// `DELETE /v1/workspaces/{ws_id}/grants/{org_id}`.
#[utoipa::path(delete, path = "/v1/workspaces/{ws_id}/grants/{org_id}", summary = "Revoke an organization's grant to a workspace", tag = "grants",
    responses((status = 204, description = "Every member of the org loses access on their next request")))]
pub async fn revoke_grant(Call { deps, cred, .. }: Call<'_>, workspace: Tenant<'_>, org_id: &str) -> Answer {
    ws::revoke_grant(deps, cred, workspace.id(), org_id).await?;
    Ok(Response::empty(204))
}

/// `GET /v1/workspaces/{ws_id}/audit-log`.
#[utoipa::path(get, path = "/v1/workspaces/{ws_id}/audit-log", summary = "List a workspace's audit log", tag = "workspaces",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = AuditList, description = "Grant events and member changes, newest first"), (status = 403, body = Problem)))]
pub async fn audit_log(Call { deps, req, cred }: Call<'_>, workspace: Tenant<'_>) -> Answer {
    let (data, next_cursor) = ws::audit_log(deps, cred, workspace.id(), &extract::page(req)?).await?;
    Ok(Response::json(200, &AuditList { data, next_cursor }))
}

/// `POST /v1/orgs/{org_id}/install-links`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/install-links", summary = "Create an install link", tag = "grants",
    request_body = InstallLinkBody, responses((status = 201, body = CreatedInstallLink)))]
pub async fn create_install_link(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: InstallLinkBody =
        if req.body.is_empty() { InstallLinkBody { expires_in_seconds: None } } else { json(req)? };
    Ok(Response::json(201, &ws::create_install_link(deps, cred, org.id(), body.expires_in_seconds).await?))
}

/// `GET /v1/orgs/{org_id}/install-links`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/install-links", summary = "List an organization's install links", tag = "grants",
    responses((status = 200, body = InstallLinkList)))]
pub async fn list_install_links(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    Ok(Response::json(
        200,
        &InstallLinkList { data: ws::list_install_links(deps, cred, org.id()).await?, next_cursor: None },
    ))
}

/// `DELETE /v1/orgs/{org_id}/install-links/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/install-links/{id}", summary = "Revoke an install link", tag = "grants",
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_install_link(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    ws::revoke_install_link(deps, cred, org.id(), id).await?;
    Ok(Response::empty(204))
}

/// `POST /v1/install-links/preview`.
#[utoipa::path(post, path = "/v1/install-links/preview", summary = "Preview an install link", tag = "grants", request_body = super::TokenBody,
    responses((status = 200, body = InstallLinkPreview), (status = 404, body = Problem, description = "install_link_not_found"), (status = 410, body = Problem, description = "install_link_unavailable")))]
pub async fn preview_install_link(deps: &Deps, req: &Request) -> Answer {
    let body: super::TokenBody = json(req)?;
    Ok(Response::json(200, &ws::preview_install_link(deps, &body.token).await?))
}

/// `POST /v1/install-links/accept`.
#[utoipa::path(post, path = "/v1/install-links/accept", summary = "Accept an install link", tag = "grants", request_body = AcceptInstallBody,
    responses((status = 201, body = GrantView), (status = 403, body = Problem, description = "A workspace admin who is not its owner"),
              (status = 404, body = Problem, description = "not_found (the workspace) or install_link_not_found"),
              (status = 409, body = Problem, description = "grant_exists: the org already has access"),
              (status = 410, body = Problem, description = "install_link_unavailable"),
              (status = 429, body = Problem, description = "rate_limited, with Retry-After: 5 grants per workspace an hour")))]
pub async fn accept_install_link(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: AcceptInstallBody = json(req)?;
    Ok(Response::json(201, &ws::accept_install_link(deps, cred, &body.token, &body.workspace_id).await?))
}

/// `GET /v1/orgs/{org_id}/managed-workspaces`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/managed-workspaces", summary = "List the workspaces granted to an organization", tag = "grants",
    responses((status = 200, body = ManagedWorkspaceList)))]
pub async fn managed_workspaces(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    let data = ws::managed_workspaces(deps, cred, org.id()).await?;
    Ok(Response::json(200, &ManagedWorkspaceList { data, next_cursor: None }))
}

/// `DELETE /v1/orgs/{org_id}/managed-workspaces/{ws_id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/managed-workspaces/{ws_id}", summary = "Give up an organization's grant to a workspace", tag = "grants",
    responses((status = 204, description = "The org gives the access back, and refuses the workspace's grants by slug from then on (grant_refused; an install link of the org's lifts it)")))]
pub async fn relinquish(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, ws_id: &str) -> Answer {
    ws::relinquish(deps, cred, org.id(), ws_id).await?;
    Ok(Response::empty(204))
}
