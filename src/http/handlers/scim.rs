//! SCIM 2.0: an org's SCIM tokens (owners, `/v1/orgs/{org_id}/scim-tokens`)
//! and the directory's endpoints (`/scim/v2/{org_id}/…`, the org's SCIM
//! token; `application/scim+json` in and out, errors in SCIM's shape with
//! this service's stable `code` beside `scimType`: `http::error::scim_error`).
use super::Problem;
use crate::app::access::Credential;
use crate::app::scim::{self, Change, ListQuery, NewScimTokenView, ScimTokenView};
use crate::app::{AppError, Deps};
use crate::domain::scim::{Write, MEDIA_TYPE};
use crate::domain::tenant::Tenant;
use crate::http::error::ScimError;
use crate::http::extract::json;
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A new SCIM token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimTokenBody {
    /// A label (default `SCIM`), e.g. the directory's name.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub name: Option<String>,
}

/// An org's SCIM tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimTokenList {
    /// Newest first (at most 10).
    pub data: Vec<ScimTokenView>,
    /// Always null: one page.
    pub next_cursor: Option<String>,
}

/// `POST /v1/orgs/{org_id}/scim-tokens`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/scim-tokens", summary = "Create a SCIM token", tag = "scim",
    request_body = ScimTokenBody,
    responses((status = 201, body = NewScimTokenView, description = "`token` is shown this once; give it and `base_url` to the directory"),
              (status = 403, body = Problem, description = "forbidden: owners only (a person)"),
              (status = 422, body = Problem, description = "validation_failed (name; too_many_tokens: at most 10)")))]
pub async fn create_scim_token(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let b: ScimTokenBody = if req.body.is_empty() { ScimTokenBody { name: None } } else { json(req)? };
    Ok(Response::json(201, &scim::create_token(deps, cred, org.id(), b.name.as_deref()).await?))
}

/// `GET /v1/orgs/{org_id}/scim-tokens`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/scim-tokens", summary = "List SCIM tokens", tag = "scim",
    responses((status = 200, body = ScimTokenList), (status = 403, body = Problem, description = "forbidden: owners only")))]
pub async fn list_scim_tokens(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    let data = scim::list_tokens(deps, cred, org.id()).await?;
    Ok(Response::json(200, &ScimTokenList { data, next_cursor: None }))
}

/// `DELETE /v1/orgs/{org_id}/scim-tokens/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/scim-tokens/{id}", summary = "Revoke a SCIM token", tag = "scim",
    responses((status = 204, description = "Revoked: the directory's next request with it is refused"),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_scim_token(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    scim::revoke_token(deps, cred, org.id(), id).await?;
    Ok(Response::empty(204))
}

// ---- /scim/v2 ----

/// A SCIM resource (RFC 7643): a User or a Group, with `schemas`, `id` and
/// `meta`. Users: `userName` (the address), `externalId`, `name`,
/// `active`, and (read only) `emails` and `roles` (the role held); Groups:
/// `displayName`, `externalId`, `members` (`[{value: user id}]`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimResource {
    /// The resource's schema URNs.
    pub schemas: Vec<String>,
    /// `usr_…` (Users) or `scg_…` (Groups).
    pub id: Option<String>,
}

// The request bodies below document what the SCIM handlers read: the
// handlers take the body as a JSON object and `domain::scim` reads it as RFC
// 7643/7644 say, with attribute names matched without regard to case and
// attributes this service does not keep ignored (so no schema forbids them).

/// A User to provision (POST) or replace (PUT): what PUT leaves out is
/// cleared.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimUserBody {
    /// `["urn:ietf:params:scim:schemas:core:2.0:User"]`.
    pub schemas: Option<Vec<String>>,
    /// The person's email address, on one of the org's verified domains.
    #[schema(example = "ann@example.com")]
    pub user_name: String,
    /// The identity provider's id for the person.
    #[schema(max_length = 255)]
    pub external_id: Option<String>,
    /// The person's name.
    pub name: Option<ScimName>,
    /// `false` ends the membership (the account stays); default `true`.
    pub active: Option<bool>,
}

/// A User's `name`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimName {
    /// Given name.
    #[schema(max_length = 100)]
    pub given_name: Option<String>,
    /// Family name.
    #[schema(max_length = 100)]
    pub family_name: Option<String>,
    /// The display name.
    #[schema(max_length = 100)]
    pub formatted: Option<String>,
}

/// A Group to create (POST) or replace (PUT): `members` left out means none.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimGroupBody {
    /// `["urn:ietf:params:scim:schemas:core:2.0:Group"]`.
    pub schemas: Option<Vec<String>>,
    /// `admin`, `member` or a custom role's key gives the members that role;
    /// any other name is a plain group.
    #[schema(min_length = 1, max_length = 100, example = "admin")]
    pub display_name: String,
    /// The identity provider's id for the group.
    #[schema(max_length = 255)]
    pub external_id: Option<String>,
    /// The members, by their SCIM User id.
    pub members: Option<Vec<ScimMemberRef>>,
}

/// A member of a Group.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimMemberRef {
    /// The User's `id` (`usr_…`).
    pub value: String,
}

/// A PATCH (RFC 7644 §3.5.2), in the forms Okta and Entra ID send.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimPatchBody {
    /// `["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`.
    pub schemas: Vec<String>,
    /// Applied in order; all or nothing.
    #[serde(rename = "Operations")]
    #[schema(min_items = 1)]
    pub operations: Vec<ScimPatchOperation>,
}

/// One PATCH operation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimPatchOperation {
    /// `add`, `remove` or `replace`, in any case.
    #[schema(example = "replace", pattern = "^([Aa][Dd][Dd]|[Rr][Ee][Mm][Oo][Vv][Ee]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee])$")]
    pub op: String,
    /// The attribute (`active`, `name.givenName`, `members`,
    /// `members[value eq "usr_…"]`); without it, `value` is an object of
    /// attributes.
    pub path: Option<String>,
    /// The new value (not with a `remove` of a whole attribute).
    pub value: Option<serde_json::Value>,
}

/// A SCIM list (`urn:ietf:params:scim:api:messages:2.0:ListResponse`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimListResponse {
    /// The list schema's URN.
    pub schemas: Vec<String>,
    /// Matches in all.
    pub total_results: i64,
    /// 1-based.
    pub start_index: i64,
    /// Resources in this answer.
    pub items_per_page: i64,
    /// The resources.
    #[serde(rename = "Resources")]
    pub resources: Vec<ScimResource>,
}

fn scim_answer(status: u16, value: &Value) -> Response {
    let mut r = Response::json(status, value);
    r.headers = vec![("content-type".into(), MEDIA_TYPE.into())];
    r
}

/// A created resource: 201 with its `Location` (RFC 7644 §3.3).
fn created(value: &Value) -> Response {
    let location = value["meta"]["location"].as_str().unwrap_or_default().to_owned();
    scim_answer(201, value).with_header("location", location)
}

/// The request's JSON object; a body that is not one is refused only once
/// the token is confirmed (a bad token is 401 whatever its body).
async fn body(deps: &Deps, req: &Request, cred: &Credential, org_id: &str) -> Result<Map<String, Value>, AppError> {
    match json(req) {
        Ok(body) => Ok(body),
        Err(refusal) => Err(scim::refused_after_the_token(deps, cred, org_id, refusal).await),
    }
}

/// A list request's `filter`, `startIndex` and `count`.
fn list_query(req: &Request) -> ListQuery {
    ListQuery {
        filter: req.query_param("filter"),
        start_index: req.query_param("startIndex"),
        count: req.query_param("count"),
    }
}

/// `GET /scim/v2/{org_id}/Users`.
#[utoipa::path(get, path = "/scim/v2/{org_id}/Users", summary = "SCIM: list or find Users", tag = "scim",
    params(("filter" = Option<String>, Query), ("startIndex" = Option<i64>, Query), ("count" = Option<i64>, Query)),
    responses((status = 200, body = ScimListResponse, content_type = "application/scim+json"),
              (status = 400, body = ScimError, description = "scim_invalid_filter (scimType invalidFilter)")))]
pub async fn scim_list_users(Call { deps, req, cred }: Call<'_>, org_id: &str) -> Answer {
    let list = scim::list_users(deps, cred, org_id, list_query(req)).await?;
    Ok(scim_answer(200, &list))
}

/// `POST /scim/v2/{org_id}/Users`.
#[utoipa::path(post, path = "/scim/v2/{org_id}/Users", summary = "SCIM: provision a User", tag = "scim",
    request_body(content = ScimUserBody, content_type = "application/scim+json"),
    responses((status = 201, body = ScimResource, content_type = "application/scim+json", description = "The account joins the org as member (unless active is false)"),
              (status = 400, body = ScimError, description = "scim_invalid_value (invalidValue): no userName, not an address, or an address off the org's verified domains"),
              (status = 409, body = ScimError, description = "scim_uniqueness (uniqueness): a User with this userName exists; last_owner: provisioned as inactive, the org's last owner is not removed (nothing is provisioned)")))]
pub async fn scim_create_user(Call { deps, req, cred }: Call<'_>, org_id: &str) -> Answer {
    let b = body(deps, req, cred, org_id).await?;
    Ok(created(&scim::create_user(deps, cred, org_id, &b).await?))
}

/// `GET /scim/v2/{org_id}/Users/{id}`.
#[utoipa::path(get, path = "/scim/v2/{org_id}/Users/{id}", summary = "SCIM: get a User", tag = "scim",
    responses((status = 200, body = ScimResource, content_type = "application/scim+json")))]
pub async fn scim_get_user(Call { deps, cred, .. }: Call<'_>, org_id: &str, id: &str) -> Answer {
    Ok(scim_answer(200, &scim::get_user(deps, cred, org_id, id).await?))
}

/// `PUT /scim/v2/{org_id}/Users/{id}`.
#[utoipa::path(put, path = "/scim/v2/{org_id}/Users/{id}", summary = "SCIM: replace a User", tag = "scim",
    request_body(content = ScimUserBody, content_type = "application/scim+json"),
    responses((status = 200, body = ScimResource, content_type = "application/scim+json"),
              (status = 400, body = ScimError, description = "scim_mutability (userName cannot change), scim_invalid_value"),
              (status = 409, body = ScimError, description = "last_owner: the org's last owner is not deprovisioned")))]
pub async fn scim_replace_user(Call { deps, req, cred }: Call<'_>, org_id: &str, id: &str) -> Answer {
    let b = body(deps, req, cred, org_id).await?;
    Ok(scim_answer(200, &scim::change_user(deps, cred, org_id, Change { id, how: Write::Replace, body: &b }).await?))
}

/// `PATCH /scim/v2/{org_id}/Users/{id}`.
#[utoipa::path(patch, path = "/scim/v2/{org_id}/Users/{id}", summary = "SCIM: change a User", tag = "scim",
    request_body(content = ScimPatchBody, content_type = "application/scim+json"),
    responses((status = 200, body = ScimResource, content_type = "application/scim+json", description = "`active: false` removes the membership: access ends on the next request"),
              (status = 400, body = ScimError, description = "scim_invalid_syntax, scim_invalid_value, scim_invalid_path, scim_mutability"),
              (status = 409, body = ScimError, description = "last_owner: the org's last owner is not deprovisioned")))]
pub async fn scim_patch_user(Call { deps, req, cred }: Call<'_>, org_id: &str, id: &str) -> Answer {
    let b = body(deps, req, cred, org_id).await?;
    Ok(scim_answer(200, &scim::change_user(deps, cred, org_id, Change { id, how: Write::Patch, body: &b }).await?))
}

/// `DELETE /scim/v2/{org_id}/Users/{id}`.
#[utoipa::path(delete, path = "/scim/v2/{org_id}/Users/{id}", summary = "SCIM: deprovision and delete a User", tag = "scim",
    responses((status = 204, description = "The membership ended and the resource is gone (the account stays)"),
              (status = 409, body = ScimError, description = "last_owner")))]
pub async fn scim_delete_user(Call { deps, cred, .. }: Call<'_>, org_id: &str, id: &str) -> Answer {
    scim::delete_user(deps, cred, org_id, id).await?;
    Ok(Response::empty(204))
}

/// `GET /scim/v2/{org_id}/Groups`.
#[utoipa::path(get, path = "/scim/v2/{org_id}/Groups", summary = "SCIM: list or find Groups", tag = "scim",
    params(("filter" = Option<String>, Query), ("startIndex" = Option<i64>, Query), ("count" = Option<i64>, Query)),
    responses((status = 200, body = ScimListResponse, content_type = "application/scim+json"),
              (status = 400, body = ScimError, description = "scim_invalid_filter")))]
pub async fn scim_list_groups(Call { deps, req, cred }: Call<'_>, org_id: &str) -> Answer {
    let list = scim::list_groups(deps, cred, org_id, list_query(req)).await?;
    Ok(scim_answer(200, &list))
}

/// `POST /scim/v2/{org_id}/Groups`.
#[utoipa::path(post, path = "/scim/v2/{org_id}/Groups", summary = "SCIM: create a Group", tag = "scim",
    request_body(content = ScimGroupBody, content_type = "application/scim+json"),
    responses((status = 201, body = ScimResource, content_type = "application/scim+json", description = "A group named admin, member or a custom role's key gives its members that role"),
              (status = 400, body = ScimError, description = "scim_invalid_value"),
              (status = 409, body = ScimError, description = "scim_uniqueness: a Group with this displayName exists")))]
pub async fn scim_create_group(Call { deps, req, cred }: Call<'_>, org_id: &str) -> Answer {
    let b = body(deps, req, cred, org_id).await?;
    Ok(created(&scim::create_group(deps, cred, org_id, &b).await?))
}

/// `GET /scim/v2/{org_id}/Groups/{id}`.
#[utoipa::path(get, path = "/scim/v2/{org_id}/Groups/{id}", summary = "SCIM: get a Group", tag = "scim",
    responses((status = 200, body = ScimResource, content_type = "application/scim+json")))]
pub async fn scim_get_group(Call { deps, cred, .. }: Call<'_>, org_id: &str, id: &str) -> Answer {
    Ok(scim_answer(200, &scim::get_group(deps, cred, org_id, id).await?))
}

/// `PUT /scim/v2/{org_id}/Groups/{id}`.
#[utoipa::path(put, path = "/scim/v2/{org_id}/Groups/{id}", summary = "SCIM: replace a Group", tag = "scim",
    request_body(content = ScimGroupBody, content_type = "application/scim+json"),
    responses((status = 200, body = ScimResource, content_type = "application/scim+json"),
              (status = 400, body = ScimError, description = "scim_invalid_value"),
              (status = 409, body = ScimError, description = "scim_uniqueness")))]
pub async fn scim_replace_group(Call { deps, req, cred }: Call<'_>, org_id: &str, id: &str) -> Answer {
    let b = body(deps, req, cred, org_id).await?;
    Ok(scim_answer(200, &scim::change_group(deps, cred, org_id, Change { id, how: Write::Replace, body: &b }).await?))
}

/// `PATCH /scim/v2/{org_id}/Groups/{id}`.
#[utoipa::path(patch, path = "/scim/v2/{org_id}/Groups/{id}", summary = "SCIM: change a Group", tag = "scim",
    request_body(content = ScimPatchBody, content_type = "application/scim+json"),
    responses((status = 200, body = ScimResource, content_type = "application/scim+json", description = "Members added or removed get their role from their groups"),
              (status = 400, body = ScimError, description = "scim_invalid_syntax, scim_invalid_value, scim_invalid_path"),
              (status = 409, body = ScimError, description = "scim_uniqueness")))]
pub async fn scim_patch_group(Call { deps, req, cred }: Call<'_>, org_id: &str, id: &str) -> Answer {
    let b = body(deps, req, cred, org_id).await?;
    Ok(scim_answer(200, &scim::change_group(deps, cred, org_id, Change { id, how: Write::Patch, body: &b }).await?))
}

/// `DELETE /scim/v2/{org_id}/Groups/{id}`.
#[utoipa::path(delete, path = "/scim/v2/{org_id}/Groups/{id}", summary = "SCIM: delete a Group", tag = "scim",
    responses((status = 204, description = "Deleted; its members get their role from their other groups")))]
pub async fn scim_delete_group(Call { deps, cred, .. }: Call<'_>, org_id: &str, id: &str) -> Answer {
    scim::delete_group(deps, cred, org_id, id).await?;
    Ok(Response::empty(204))
}

/// `GET /scim/v2/{org_id}/ServiceProviderConfig`.
#[utoipa::path(get, path = "/scim/v2/{org_id}/ServiceProviderConfig", summary = "SCIM: what this service supports", tag = "scim",
    responses((status = 200, body = ScimResource, content_type = "application/scim+json")))]
pub async fn scim_service_provider_config(Call { deps, cred, .. }: Call<'_>, org_id: &str) -> Answer {
    Ok(scim_answer(200, &scim::service_provider_config(deps, cred, org_id).await?))
}

/// `GET /scim/v2/{org_id}/ResourceTypes`.
#[utoipa::path(get, path = "/scim/v2/{org_id}/ResourceTypes", summary = "SCIM: the resource types", tag = "scim",
    responses((status = 200, body = ScimListResponse, content_type = "application/scim+json")))]
pub async fn scim_resource_types(Call { deps, cred, .. }: Call<'_>, org_id: &str) -> Answer {
    Ok(scim_answer(200, &scim::resource_types(deps, cred, org_id).await?))
}

/// `GET /scim/v2/{org_id}/Schemas`.
#[utoipa::path(get, path = "/scim/v2/{org_id}/Schemas", summary = "SCIM: the schemas", tag = "scim",
    responses((status = 200, body = ScimListResponse, content_type = "application/scim+json")))]
pub async fn scim_schemas(Call { deps, cred, .. }: Call<'_>, org_id: &str) -> Answer {
    Ok(scim_answer(200, &scim::schemas(deps, cred, org_id).await?))
}
