//! Workload identity: trust policies (people who manage the org's keys) and
//! the exchange of a CI job's OIDC token for a temporary key (no credential).
use super::Problem;
use crate::app::workload::{self, ExchangedKey, PolicyInput, PolicyPatch, TrustPolicyView};
use crate::app::Deps;
use crate::domain::tenant::Tenant;
use crate::http::extract::json;
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A trust policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicyBody {
    /// What it is for, e.g. "deploy from main": 1 to 100 characters.
    pub name: String,
    /// `https://token.actions.githubusercontent.com`, or the GitLab base URL
    /// (`https://gitlab.com` unless configured). Fixed once created.
    pub issuer: String,
    /// The exact `aud` the token must carry; default `latchkey:<org_id>`.
    #[serde(default)]
    pub audience: Option<String>,
    /// Claim → exact value. At least one immutable id: GitHub
    /// `repository_id` or `repository_owner_id`; GitLab `project_id` or
    /// `namespace_id`. Optionally `ref`, `environment`, `workflow_ref`.
    #[schema(value_type = BTreeMap<String, String>)]
    pub conditions: serde_json::Map<String, serde_json::Value>,
    /// 1 to 18 permissions within the caller's role, never `org:delete` or `billing:manage`.
    #[schema(value_type = Vec<crate::domain::policy::Permission>, min_items = 1, max_items = 18)]
    pub scopes: Vec<String>,
    /// 60..3600: the longest an issued key lives.
    #[schema(minimum = 60, maximum = 3600)]
    pub max_ttl_seconds: i64,
}

impl TrustPolicyBody {
    fn input(self) -> PolicyInput {
        PolicyInput {
            name: self.name,
            issuer: self.issuer,
            audience: self.audience,
            conditions: self.conditions,
            scopes: self.scopes,
            max_ttl_seconds: self.max_ttl_seconds,
        }
    }
}

/// Changes to a trust policy: each field given replaces the policy's, each
/// omitted stays. The issuer is fixed once created.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicyPatch {
    /// 1 to 100 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// The exact `aud` the token must carry; `null` goes back to `latchkey:<org_id>`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub audience: Option<Option<String>>,
    /// Replaces the conditions whole (the same rules as on create).
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub conditions: Option<serde_json::Map<String, serde_json::Value>>,
    /// Replaces the scopes whole: 1 to 18 permissions within the caller's role.
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::domain::policy::Permission>>, min_items = 1, max_items = 18)]
    pub scopes: Option<Vec<String>>,
    /// 60..3600.
    #[serde(default)]
    #[schema(minimum = 60, maximum = 3600)]
    pub max_ttl_seconds: Option<i64>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl TrustPolicyPatch {
    fn patch(self) -> PolicyPatch {
        PolicyPatch {
            name: self.name,
            audience: self.audience,
            conditions: self.conditions,
            scopes: self.scopes,
            max_ttl_seconds: self.max_ttl_seconds,
        }
    }
}

/// An org's trust policies.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustPolicyList {
    /// Newest first (at most 100).
    pub data: Vec<TrustPolicyView>,
}

/// A CI job's OIDC token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeBody {
    /// The provider-signed JWT (GitHub Actions: requested with the policy's
    /// `audience`; GitLab: an `id_tokens` entry with that `aud`).
    pub token: String,
}

const REFUSALS: &str = "oidc_invalid_token, oidc_unknown_issuer, oidc_token_expired, oidc_token_not_yet_valid, \
oidc_audience_mismatch, oidc_condition_mismatch (the detail names the claim), oidc_token_replayed, oidc_fork_refused, \
oidc_policy_creator_lacks_scope, oidc_issuer_unavailable (its discovery document or JWKS could not be fetched: \
the token cannot be verified now)";

/// `POST /v1/orgs/{org_id}/trust-policies`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/trust-policies", summary = "Create a trust policy", tag = "workload_identity",
    request_body = TrustPolicyBody,
    responses((status = 201, body = TrustPolicyView),
              (status = 403, body = Problem, description = "forbidden (admins and owners) or scope_exceeds_role"),
              (status = 422, body = Problem, description = "validation_failed: unknown issuer, conditions without an immutable id, max_ttl_seconds out of range; scope_not_allowed_for_keys")))]
pub async fn create_trust_policy(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: TrustPolicyBody = json(req)?;
    Ok(Response::json(201, &workload::create_trust_policy(deps, cred, org.id(), &body.input()).await?))
}

/// `GET /v1/orgs/{org_id}/trust-policies`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/trust-policies", summary = "List an organization's trust policies", tag = "workload_identity",
    responses((status = 200, body = TrustPolicyList)))]
pub async fn list_trust_policies(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    let data = workload::list_trust_policies(deps, cred, org.id()).await?;
    Ok(Response::json(200, &TrustPolicyList { data }))
}

/// `PATCH /v1/orgs/{org_id}/trust-policies/{id}`.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/trust-policies/{id}", summary = "Update a trust policy", tag = "workload_identity",
    params(("id" = String, Path, description = "The policy (`tp_…`)")), request_body = TrustPolicyPatch,
    responses((status = 200, body = TrustPolicyView, description = "Updated; the caller's role now bounds its scopes"),
              (status = 403, body = Problem, description = "forbidden or scope_exceeds_role"),
              (status = 422, body = Problem, description = "validation_failed")))]
pub async fn update_trust_policy(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    let body: TrustPolicyPatch = json(req)?;
    Ok(Response::json(200, &workload::update_trust_policy(deps, cred, org.id(), id, &body.patch()).await?))
}

/// `DELETE /v1/orgs/{org_id}/trust-policies/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/trust-policies/{id}", summary = "Delete a trust policy", tag = "workload_identity",
    params(("id" = String, Path, description = "The policy (`tp_…`)")),
    responses((status = 204, description = "Deleted: keys it issued live out their short lives unless revoked")))]
pub async fn delete_trust_policy(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    workload::delete_trust_policy(deps, cred, org.id(), id).await?;
    Ok(Response::empty(204))
}

/// `POST /v1/oidc/exchange`.
#[utoipa::path(post, path = "/v1/oidc/exchange", summary = "Exchange a CI job's OIDC token for a temporary API key", tag = "workload_identity",
    request_body = ExchangeBody,
    responses((status = 201, body = ExchangedKey, description = "A temporary key (`lk_tmp_…`), shown once"),
              (status = 401, body = Problem, description = REFUSALS),
              (status = 429, body = Problem, description = "rate_limited: the policy's exchanges are over the rate")))]
pub async fn exchange(deps: &Deps, req: &Request) -> Answer {
    let body: ExchangeBody = json(req)?;
    Ok(Response::json(201, &workload::exchange(deps, &body.token).await?))
}
