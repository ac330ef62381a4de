//! Organizations, members, ownership transfer and the audit log.
use super::Problem;
use crate::app::access_reviews::{self, AccessReview, Format};
use crate::app::audit::AuditEventView;
use crate::app::members::{self, MemberView};
use crate::app::orgs::{self, OrgPatch, OrgView};
use crate::app::AppError;
use crate::domain::access_review::InactiveFor;
use crate::domain::policy::{Role, TwoFactorRule};
use crate::domain::tenant::Tenant;
use crate::domain::FieldError;
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// New org.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgBody {
    /// Display name: 1 to 100 characters once trimmed, no control characters.
    #[schema(
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]{0,98}[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F])?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub name: String,
    /// 3-40 of `a-z 0-9` and single hyphens, not first or last; derived from
    /// the name when absent.
    #[serde(default)]
    #[schema(min_length = 3, max_length = 40, pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    pub slug: Option<String>,
}

/// A page of orgs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrgList {
    /// Orgs with my role.
    pub data: Vec<OrgView>,
    /// Next page.
    pub next_cursor: Option<String>,
}

/// `POST /v1/orgs`.
#[utoipa::path(post, path = "/v1/orgs", summary = "Create an organization", tag = "orgs", request_body = CreateOrgBody,
    responses((status = 201, body = OrgView), (status = 409, body = Problem, description = "slug_taken"), (status = 422, body = Problem)))]
pub async fn create_org(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: CreateOrgBody = json(req)?;
    Ok(Response::json(201, &orgs::create_org(deps, cred, &body.name, body.slug.as_deref()).await?))
}

/// `GET /v1/orgs`.
#[utoipa::path(get, path = "/v1/orgs", summary = "List my organizations", tag = "orgs",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)), responses((status = 200, body = OrgList)))]
pub async fn list_orgs(Call { deps, req, cred }: Call<'_>) -> Answer {
    let (data, next_cursor) = orgs::list_orgs(deps, cred, &extract::page(req)?).await?;
    Ok(Response::json(200, &OrgList { data, next_cursor }))
}

/// `GET /v1/orgs/{org_id}`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}", summary = "Get an organization", tag = "orgs",
    responses((status = 200, body = OrgView), (status = 404, body = Problem, description = "Not a member, or no such org")))]
pub async fn get_org(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    Ok(Response::json(200, &orgs::get_org(deps, cred, org.id()).await?))
}

/// Org settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgBody {
    /// New name: 1 to 100 characters once trimmed, no control characters.
    #[serde(default)]
    #[schema(
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]{0,98}[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F])?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub name: Option<String>,
    /// New slug: 3-40 of `a-z 0-9` and single hyphens, not first or last.
    #[serde(default)]
    #[schema(min_length = 3, max_length = 40, pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// The 2FA rule (owner only, who must have 2FA on): `all`,
    /// `admins_and_owners` or `off`; `true` (= `all`) and `false` (= `off`)
    /// as before.
    #[serde(default)]
    pub require_2fa: Option<TwoFactorSetting>,
}

/// The 2FA rule as a client may send it.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TwoFactorSetting {
    /// `true`: everyone (as before the rule had a scope); `false`: off.
    Flag(bool),
    /// Whom the rule binds.
    Rule(TwoFactorRule),
}

impl TwoFactorSetting {
    fn rule(self) -> TwoFactorRule {
        match self {
            TwoFactorSetting::Flag(true) => TwoFactorRule::Everyone,
            TwoFactorSetting::Flag(false) => TwoFactorRule::Off,
            TwoFactorSetting::Rule(r) => r,
        }
    }
}

/// `PATCH /v1/orgs/{org_id}`.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}", summary = "Update an organization", tag = "orgs",
    request_body = UpdateOrgBody,
    responses((status = 200, body = OrgView), (status = 403, body = Problem, description = "forbidden or two_factor_required"),
              (status = 409, body = Problem, description = "slug_taken")))]
pub async fn update_org(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: UpdateOrgBody = json(req)?;
    let patch = OrgPatch {
        name: body.name.as_deref(),
        slug: body.slug.as_deref(),
        require_2fa: body.require_2fa.map(TwoFactorSetting::rule),
    };
    Ok(Response::json(200, &orgs::update_org(deps, cred, org.id(), patch).await?))
}

/// `DELETE /v1/orgs/{org_id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}", summary = "Delete an organization", tag = "orgs",
    responses((status = 204, description = "Deleted with its members, invitations and audit log"),
              (status = 403, body = Problem, description = "forbidden (not an owner), or user_required: API keys never delete an org, whatever their scopes")))]
pub async fn delete_org(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    orgs::delete_org(deps, cred, org.id()).await?;
    Ok(Response::empty(204))
}

/// A page of members.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    /// Members, oldest first.
    pub data: Vec<MemberView>,
    /// Next page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/orgs/{org_id}/members`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/members", summary = "List an organization's members", tag = "members",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query),
        ("inactive_for_days" = Option<i64>, Query, minimum = 1, maximum = 3650, description = "only members last active more than this many days ago, or never")),
    responses((status = 200, body = MemberList), (status = 422, body = Problem, description = "validation_failed (inactive_for_days)")))]
pub async fn list_members(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let inactive = req.query_param("inactive_for_days").map(|d| InactiveFor::parse(&d)).transpose()?;
    let (data, next_cursor) = members::list_members(deps, cred, org, &extract::page(req)?, inactive).await?;
    Ok(Response::json(200, &MemberList { data, next_cursor }))
}

/// A role change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// `owner`, `admin` or `member`.
    #[schema(value_type = Role)]
    pub role: String,
}

/// An org member's role change: a built-in role or one of the org's custom roles.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgRoleBody {
    /// `owner`, `admin`, `member`, or the key of one of the org's custom
    /// roles (a role unknown to the org: 422, field `role`).
    #[schema(example = "billing-viewer", pattern = "^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")]
    pub role: String,
}

/// `PATCH /v1/orgs/{org_id}/members/{user_id}`.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/members/{user_id}", summary = "Change an organization member's role", tag = "members",
    request_body = OrgRoleBody,
    responses((status = 200, body = MemberView),
              (status = 403, body = Problem, description = "forbidden: not within the membership rules, or a role holding a permission the caller lacks (never beyond yourself)"),
              (status = 409, body = Problem, description = "last_owner"),
              (status = 422, body = Problem, description = "validation_failed: a role unknown to the org (field role)")))]
pub async fn change_role(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, user_id: &str) -> Answer {
    let body: OrgRoleBody = json(req)?;
    crate::app::roles::org_role_field(&body.role)?;
    Ok(Response::json(200, &members::change_role(deps, cred, org, user_id, &body.role).await?))
}

/// `DELETE /v1/orgs/{org_id}/members/{user_id}` (`me`: leave).
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/members/{user_id}", summary = "Remove a member from an organization (or leave it)", description = "`me` as `user_id` leaves the organization.", tag = "members",
    params(("user_id" = String, Path, description = "`me` to leave")),
    responses((status = 204, description = "Removed; their access ends on their next request"),
              (status = 403, body = Problem), (status = 409, body = Problem, description = "cannot_remove_owner or last_owner")))]
pub async fn remove_member(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, user_id: &str) -> Answer {
    members::remove_member(deps, cred, org, user_id).await?;
    Ok(Response::empty(204))
}

/// Ownership transfer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The member who becomes owner.
    pub user_id: String,
}

/// `POST /v1/orgs/{org_id}/ownership-transfer`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/ownership-transfer", summary = "Transfer an organization's ownership", tag = "members",
    request_body = TransferBody,
    responses((status = 200, body = MemberView, description = "The new owner; the caller is now admin"),
              (status = 403, body = Problem, description = "forbidden (not an owner), or user_required: API keys never transfer ownership"),
              (status = 409, body = Problem, description = "conflict: the membership changed meanwhile (a concurrent change); try again")))]
pub async fn transfer_ownership(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: TransferBody = json(req)?;
    Ok(Response::json(200, &members::transfer_ownership(deps, cred, org.id(), &body.user_id).await?))
}

/// A page of audit events.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub data: Vec<AuditEventView>,
    /// Next page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/orgs/{org_id}/audit-log`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/audit-log", summary = "List an organization's audit log", tag = "audit",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = AuditList), (status = 403, body = Problem)))]
pub async fn org_audit_log(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let page = extract::page(req)?;
    let (data, next_cursor) = orgs::audit_log(deps, cred, org.id(), &page).await?;
    Ok(Response::json(200, &AuditList { data, next_cursor }))
}

/// Keeps `Role` in the schema list.
pub type RoleSchema = Role;

/// `GET /v1/orgs/{org_id}/access-review`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/access-review", summary = "Export an organization's access review", tag = "audit",
    params(("format" = inline(Option<Format>), Query, description = "`json` (the default) or `csv`; without it, `Accept: text/csv` asks for CSV")),
    responses((status = 200, description = "Members with their role, 2FA and last activity; keys that work now with their scopes and last use. \
CSV: one table with a `kind` column (`member`, `api_key`), RFC 4180 quoting, cells starting with = + - @ prefixed with '.",
        content((AccessReview = "application/json"), (String = "text/csv"))),
        (status = 403, body = Problem, description = "forbidden (owners and admins only), two_factor_required, or user_required (API keys)"),
        (status = 422, body = Problem, description = "validation_failed (format)")))]
pub async fn export_access_review(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let format = match req.query_param("format").as_deref() {
        Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some(_) => {
            return Err(AppError::field(FieldError::new("format", "invalid_format", "must be json or csv")));
        }
        None if req.header("accept").is_some_and(|a| a.contains("text/csv")) => Format::Csv,
        None => Format::Json,
    };
    let review = access_reviews::export_access_review(deps, cred, org.id(), format).await?;
    Ok(match format {
        Format::Json => Response::json(200, &review),
        Format::Csv => {
            let filename =
                format!("access-review-{}-{}.csv", review.org.slug, review.generated_at.get(..10).unwrap_or_default());
            Response { status: 200, headers: Vec::new(), body: review.csv().into_bytes() }
                .with_header("content-type", "text/csv; charset=utf-8")
                .with_header("content-disposition", format!("attachment; filename=\"{filename}\""))
        }
    })
}
