//! Verified domains: add, verify by DNS TXT record, enrollment (suggest,
//! auto-join), remove; the orgs suggested to the signed-in person.
use super::Problem;
use crate::app::domains::{self as d, DomainChange, DomainView, SuggestedOrgView};
use crate::domain::tenant::Tenant;
use crate::http::extract::json;
use crate::http::{Answer, Call, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A domain to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDomainBody {
    /// An exact host name (`example.com`; `eu.example.com` is another domain),
    /// case-insensitive, in ASCII (`xn--` form); no wildcard.
    #[schema(value_type = HostName)]
    pub domain: String,
}

/// An exact host name in the OpenAPI document (bodies take it as a string).
#[derive(Debug)]
pub struct HostName;

impl utoipa::PartialSchema for HostName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An exact host name: dot-separated labels of letters, digits and inner hyphens, at least two, \
                 the last starting with a letter; no wildcard, no trailing dot",
            ))
            .max_length(Some(253))
            .pattern(Some(
                r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
            ))
            .examples([serde_json::json!("acme.com")])
            .into()
    }
}

impl ToSchema for HostName {}

/// What a verified domain does for people on it; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDomainBody {
    /// `none`, `suggest` (listed in their `GET /v1/me/suggested-orgs`) or
    /// `auto_join` (they become members at email verification or sign-in, once).
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(none|suggest|auto_join)$")]
    pub enrollment: Option<String>,
    /// The role auto-join gives: `member`, `admin`, or the key of one of the
    /// org's custom roles (auto-join as admin or with a custom role: owners only).
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(member|admin)$")]
    pub role: Option<String>,
}

/// An org's domains.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainList {
    /// By name (at most 50).
    pub data: Vec<DomainView>,
}

/// Orgs the caller may join.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestedOrgList {
    /// Orgs whose verified domain (enrollment `suggest`) the caller's verified address is on, where they are not a member.
    pub data: Vec<SuggestedOrgView>,
}

/// `POST /v1/orgs/{org_id}/domains`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/domains", summary = "Add a domain to verify", tag = "domains",
    params(("org_id" = String, Path, description = "The organization")), request_body = AddDomainBody,
    responses((status = 201, body = DomainView, description = "Pending: publish `txt_value` as a TXT record at `txt_name`, then verify. Needs `org:write` (owners and admins)"),
              (status = 409, body = Problem, description = "domain_exists: added already; domain_claimed: another organization has verified it; conflict: the organization has 50 domains"),
              (status = 422, body = Problem, description = "validation_failed (not an exact host name), or public_email_domain (gmail.com, outlook.com, …)")))]
pub async fn add_domain(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: AddDomainBody = json(req)?;
    Ok(Response::json(201, &d::add_domain(deps, cred, org.id(), &body.domain).await?))
}

/// `GET /v1/orgs/{org_id}/domains`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/domains", summary = "List an organization's domains", tag = "domains",
    params(("org_id" = String, Path, description = "The organization")),
    responses((status = 200, body = DomainList, description = "Needs `org:write` (owners and admins)")))]
pub async fn list_domains(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    Ok(Response::json(200, &DomainList { data: d::list_domains(deps, cred, org.id()).await? }))
}

/// `GET /v1/orgs/{org_id}/domains/{id}`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/domains/{id}", summary = "Get a domain", tag = "domains",
    params(("org_id" = String, Path, description = "The organization"), ("id" = String, Path, description = "The domain (`dom_…`)")),
    responses((status = 200, body = DomainView)))]
pub async fn get_domain(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    Ok(Response::json(200, &d::get_domain(deps, cred, org.id(), id).await?))
}

/// `POST /v1/orgs/{org_id}/domains/{id}/verify`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/domains/{id}/verify", summary = "Verify a domain by its TXT record", tag = "domains",
    params(("org_id" = String, Path, description = "The organization"), ("id" = String, Path, description = "The domain (`dom_…`)")),
    responses((status = 200, body = DomainView, description = "Verified (DNS-over-HTTPS found `txt_value` at `txt_name`); a verified domain answers as it is. Re-checked daily: a domain whose record is gone lapses"),
              (status = 409, body = Problem, description = "domain_claimed: another organization has verified this domain"),
              (status = 422, body = Problem, description = "domain_not_verified: the record was not found (the detail quotes what was), or the look-up failed")))]
pub async fn verify_domain(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    Ok(Response::json(200, &d::verify_domain(deps, cred, org.id(), id).await?))
}

/// `PATCH /v1/orgs/{org_id}/domains/{id}`.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/domains/{id}", summary = "Set a domain's enrollment", tag = "domains",
    params(("org_id" = String, Path, description = "The organization"), ("id" = String, Path, description = "The domain (`dom_…`)")), request_body = UpdateDomainBody,
    responses((status = 200, body = DomainView, description = "Enrollment acts only while the domain is verified"),
              (status = 403, body = Problem, description = "forbidden: only an owner may have a domain auto-join people as admin"),
              (status = 422, body = Problem, description = "validation_failed: enrollment or role")))]
pub async fn update_domain(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    let body: UpdateDomainBody = json(req)?;
    let change = DomainChange { enrollment: body.enrollment.as_deref(), role: body.role.as_deref() };
    Ok(Response::json(200, &d::update_domain(deps, cred, org.id(), id, change).await?))
}

/// `DELETE /v1/orgs/{org_id}/domains/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/domains/{id}", summary = "Remove a domain", tag = "domains",
    params(("org_id" = String, Path, description = "The organization"), ("id" = String, Path, description = "The domain (`dom_…`)")),
    responses((status = 204, description = "Removed; members who joined through it stay")))]
pub async fn delete_domain(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    d::delete_domain(deps, cred, org.id(), id).await?;
    Ok(Response::empty(204))
}

/// `GET /v1/me/suggested-orgs`.
#[utoipa::path(get, path = "/v1/me/suggested-orgs", summary = "List organizations you can join by your email's domain", tag = "domains",
    responses((status = 200, body = SuggestedOrgList)))]
pub async fn suggested_orgs(Call { deps, cred, .. }: Call<'_>) -> Answer {
    Ok(Response::json(200, &SuggestedOrgList { data: d::suggested_orgs(deps, cred).await? }))
}
