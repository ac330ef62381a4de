//! Custom roles and the permission catalog.
use super::Problem;
use crate::app::roles::{self, PermissionView, RoleInput, RoleView};
use crate::domain::tenant::Tenant;
use crate::http::extract::json;
use crate::http::{Answer, Call, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The permission catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionList {
    /// Every permission, in contract order.
    pub data: Vec<PermissionView>,
}

/// An org's roles.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    /// The built-in roles (owner, admin, member), then the org's own by key.
    pub data: Vec<RoleView>,
    /// Whether the caller may create, change and delete the org's roles
    /// (owners and admins; never a custom role).
    pub can_define: bool,
}

/// A new custom role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleBody {
    /// 3-40 of a-z, 0-9 and hyphens, not starting or ending with one; never
    /// `owner`, `admin` or `member`. Unique in the org; never changes.
    #[schema(
        example = "billing-viewer",
        pattern = "^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$",
        min_length = 3,
        max_length = 40
    )]
    pub key: String,
    /// Display name (1-100 characters).
    #[schema(example = "Billing viewer")]
    pub name: String,
    /// What it is for (at most 500 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// Permission names from `GET /v1/permissions` whose `custom_roles` is
    /// true (never a person-only one), each one the caller holds.
    #[schema(example = json!(["org:read", "members:read", "audit:read"]))]
    pub permissions: Vec<String>,
}

/// A change to a custom role: what is present changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleBody {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The whole new set (replaces the old one); its holders have it on
    /// their next request.
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

/// `GET /v1/permissions`.
#[utoipa::path(get, path = "/v1/permissions", summary = "The permission catalog", tag = "roles",
    responses((status = 200, body = PermissionList, description = "Every permission of the policy table, with what it allows, whether only a person (the owner) ever exercises it, and whether a custom role may hold it")))]
pub async fn list_permissions(Call { deps, cred, .. }: Call<'_>) -> Answer {
    cred.person(deps).await?;
    Ok(Response::json(200, &PermissionList { data: roles::catalog() }))
}

/// `GET /v1/orgs/{org_id}/roles`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/roles", summary = "List an organization's roles", tag = "roles",
    responses((status = 200, body = RoleList, description = "Built-in roles first (read-only), then custom roles by key")))]
pub async fn list_roles(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    let (data, can_define) = roles::list(deps, cred, org.id()).await?;
    Ok(Response::json(200, &RoleList { data, can_define }))
}

/// `POST /v1/orgs/{org_id}/roles`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/roles", summary = "Create a custom role", tag = "roles",
    request_body = CreateRoleBody,
    responses((status = 201, body = RoleView),
              (status = 403, body = Problem, description = "forbidden (owners and admins; never a custom role), or scope_exceeds_role: a permission the caller lacks"),
              (status = 409, body = Problem, description = "role_exists, or role_limit_reached (25 per organization)"),
              (status = 422, body = Problem, description = "validation_failed: a bad or built-in key, an unknown permission, or one no custom role may hold (permission_not_allowed_for_roles)")))]
pub async fn create_role(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: CreateRoleBody = json(req)?;
    let input = RoleInput {
        key: Some(&body.key),
        name: Some(&body.name),
        description: body.description.as_deref(),
        permissions: Some(&body.permissions),
    };
    Ok(Response::json(201, &roles::create(deps, cred, org.id(), input).await?))
}

/// `GET /v1/orgs/{org_id}/roles/{key}`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/roles/{key}", summary = "Get a role", tag = "roles",
    responses((status = 200, body = RoleView), (status = 404, body = Problem, description = "No such role in this organization")))]
pub async fn get_role(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, key: &str) -> Answer {
    Ok(Response::json(200, &roles::get(deps, cred, org.id(), key).await?))
}

/// `PATCH /v1/orgs/{org_id}/roles/{key}`.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/roles/{key}", summary = "Change a custom role", tag = "roles",
    request_body = UpdateRoleBody,
    responses((status = 200, body = RoleView),
              (status = 403, body = Problem, description = "forbidden, or scope_exceeds_role: the role holds, or would hold, a permission the caller lacks"),
              (status = 404, body = Problem),
              (status = 409, body = Problem, description = "builtin_role: owner, admin and member never change"),
              (status = 422, body = Problem, description = "validation_failed")))]
pub async fn update_role(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, key: &str) -> Answer {
    let body: UpdateRoleBody = json(req)?;
    if crate::domain::policy::Role::parse(key).is_some() {
        roles::refuse_builtin(deps, cred, org.id(), key).await?;
    }
    let input = RoleInput {
        key: None,
        name: body.name.as_deref(),
        description: body.description.as_deref(),
        permissions: body.permissions.as_deref(),
    };
    Ok(Response::json(200, &roles::update(deps, cred, org.id(), key, input).await?))
}

/// `DELETE /v1/orgs/{org_id}/roles/{key}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/roles/{key}", summary = "Delete a custom role", tag = "roles",
    responses((status = 204, description = "Deleted"),
              (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, body = Problem, description = "role_in_use: members hold it or pending invitations give it; builtin_role")))]
pub async fn delete_role(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, key: &str) -> Answer {
    roles::delete(deps, cred, org.id(), key).await?;
    Ok(Response::empty(204))
}
