//! API keys: managed by people under an org; `current` for a key itself.
use super::Problem;
use crate::app::api_keys::{self, ApiKeyView, CreatedApiKey, CurrentKey, KeyFilter};
use crate::app::key_policy::{self, ApiKeyPolicyView};
use crate::domain::tenant::Tenant;
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// New key.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyBody {
    /// What it is for, e.g. "CI/CD pipeline": 1 to 100 characters once trimmed, no control characters.
    #[schema(
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]{0,98}[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F])?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub name: String,
    /// 1 to 18 permissions, none beyond the creator's role, and never the
    /// person-only `org:delete` or `billing:manage` (422
    /// `scope_not_allowed_for_keys`).
    #[schema(value_type = Vec<crate::domain::policy::Permission>, min_items = 1, max_items = 18)]
    pub scopes: Vec<String>,
    /// 1..3650; no expiry when absent. Within the org's key policy (422
    /// `api_key_policy_violation`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

/// Rotation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// 0..86400: how long the old key keeps working.
    #[schema(minimum = 0, maximum = 86400)]
    pub grace_period_seconds: i64,
    /// 1..3650: the new key's lifetime; absent: it expires when the old one
    /// did. Within the org's key policy (422 `api_key_policy_violation`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

/// An org's key policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyPolicyBody {
    /// 1..3650: the longest a new key may live; null or absent: no limit.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub max_lifetime_days: Option<i64>,
    /// Whether new keys must have an expiry (default false).
    #[serde(default)]
    pub require_expiry: bool,
    /// 1 to 5 distinct numbers of days (each 1..365) before expiry at which
    /// people are warned; absent: [14, 3].
    #[serde(default)]
    #[schema(min_items = 1, max_items = 5)]
    pub warn_before_days: Option<Vec<i64>>,
}

/// A page of keys.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyList {
    /// Newest first; never the key nor its hash.
    pub data: Vec<ApiKeyView>,
    /// Next page.
    pub next_cursor: Option<String>,
}

/// `POST /v1/orgs/{org_id}/api-keys`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/api-keys", summary = "Create an API key", tag = "api_keys",
    request_body = CreateApiKeyBody,
    responses((status = 201, body = CreatedApiKey, description = "`key` appears in this answer only"),
              (status = 403, body = Problem, description = "forbidden (keys never manage keys) or scope_exceeds_role"),
              (status = 422, body = Problem, description = "scope_not_allowed_for_keys: `org:delete` and `billing:manage` are person-only; no key holds them; api_key_policy_violation: no expiry, or too long a one, for the org's key policy")))]
pub async fn create_api_key(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: CreateApiKeyBody = json(req)?;
    let created =
        api_keys::create_api_key(deps, cred, org.id(), &body.name, &body.scopes, body.expires_in_days).await?;
    Ok(Response::json(201, &created))
}

/// `GET /v1/orgs/{org_id}/api-keys`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/api-keys", summary = "List an organization's API keys", tag = "api_keys",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query),
        ("expiring_within_days" = Option<i64>, Query, minimum = 1, maximum = 3650, description = "Only live, unrotated keys that expire within this many days"),
        ("unused_for_days" = Option<i64>, Query, minimum = 1, maximum = 3650, description = "Only live, unrotated keys not used (never used: created) for this many days")),
    responses((status = 200, body = ApiKeyList)))]
pub async fn list_api_keys(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let filter = KeyFilter::parse(
        req.query_param("expiring_within_days").as_deref(),
        req.query_param("unused_for_days").as_deref(),
    )?;
    let (data, next_cursor) = api_keys::list_api_keys(deps, cred, org.id(), &extract::page(req)?, filter).await?;
    Ok(Response::json(200, &ApiKeyList { data, next_cursor }))
}

/// `GET /v1/orgs/{org_id}/api-keys/{id}`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/api-keys/{id}", summary = "Get an API key", tag = "api_keys",
    responses((status = 200, body = ApiKeyView)))]
pub async fn get_api_key(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    Ok(Response::json(200, &api_keys::get_api_key(deps, cred, org.id(), id).await?))
}

/// `DELETE /v1/orgs/{org_id}/api-keys/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/api-keys/{id}", summary = "Revoke an API key", tag = "api_keys",
    responses((status = 204, description = "Revoked: the key fails on its next use")))]
pub async fn revoke_api_key(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    api_keys::revoke_api_key(deps, cred, org.id(), id).await?;
    Ok(Response::empty(204))
}

/// `POST /v1/orgs/{org_id}/api-keys/{id}/rotate`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/api-keys/{id}/rotate", summary = "Rotate an API key", tag = "api_keys",
    request_body = RotateBody,
    responses((status = 201, body = CreatedApiKey, description = "The new key; the old one works until the grace period ends"),
              (status = 403, body = Problem, description = "scope_exceeds_role"),
              (status = 409, body = Problem, description = "api_key_not_active"),
              (status = 422, body = Problem, description = "api_key_policy_violation: the new key's expiry is beyond the org's key policy")))]
pub async fn rotate_api_key(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    let body: RotateBody = json(req)?;
    let rotated =
        api_keys::rotate_api_key(deps, cred, org.id(), id, body.grace_period_seconds, body.expires_in_days).await?;
    Ok(Response::json(201, &rotated))
}

/// `GET /v1/orgs/{org_id}/api-key-policy`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/api-key-policy", summary = "Get the organization's API key policy", tag = "api_keys",
    responses((status = 200, body = ApiKeyPolicyView, description = "The policy (the default, 14 and 3 days' warnings and no limits, until an owner sets one)"),
              (status = 403, body = Problem, description = "forbidden: for people who manage the org's keys")))]
pub async fn get_api_key_policy(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    Ok(Response::json(200, &key_policy::get_api_key_policy(deps, cred, org.id()).await?))
}

/// `PUT /v1/orgs/{org_id}/api-key-policy`.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/api-key-policy", summary = "Set the organization's API key policy", tag = "api_keys",
    request_body = ApiKeyPolicyBody,
    responses((status = 200, body = ApiKeyPolicyView, description = "Set: binds keys created or rotated from now on; existing keys that break it are flagged `non_compliant`, never revoked"),
              (status = 403, body = Problem, description = "forbidden: owners only"),
              (status = 422, body = Problem, description = "validation_failed")))]
pub async fn set_api_key_policy(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: ApiKeyPolicyBody = json(req)?;
    let warn = body.warn_before_days.as_deref();
    let set =
        key_policy::set_api_key_policy(deps, cred, org.id(), body.max_lifetime_days, body.require_expiry, warn).await?;
    Ok(Response::json(200, &set))
}

/// `GET /v1/api-keys/current`.
#[utoipa::path(get, path = "/v1/api-keys/current", summary = "Describe the calling API key", tag = "api_keys",
    responses((status = 200, body = CurrentKey), (status = 400, body = Problem, description = "api_key_required"),
              (status = 401, body = Problem, description = "invalid_api_key"),
              (status = 429, body = Problem, description = "rate_limited")))]
pub async fn current_api_key(Call { deps, cred, .. }: Call<'_>) -> Answer {
    Ok(Response::json(200, &api_keys::current(deps, cred).await?))
}

/// `DELETE /v1/api-keys/current`.
#[utoipa::path(delete, path = "/v1/api-keys/current", summary = "Revoke the calling API key", tag = "api_keys",
    responses((status = 204, description = "Revoked at once: the key is refused from now on"),
              (status = 400, body = Problem, description = "api_key_required"),
              (status = 401, body = Problem, description = "invalid_api_key (already revoked, expired or unknown)"),
              (status = 429, body = Problem, description = "rate_limited")))]
pub async fn revoke_current_api_key(Call { deps, cred, .. }: Call<'_>) -> Answer {
    api_keys::revoke_current(deps, cred).await?;
    Ok(Response::empty(204))
}
