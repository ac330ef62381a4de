//! Workload identity: an org's trust policies, and the exchange of a CI
//! job's OIDC token (GitHub Actions, GitLab CI) for a short-lived API key
//! (`lk_tmp_…`), so pipelines hold no long-lived secret.
//!
//! The token is verified against its issuer's JWKS (RS256 or ES256, found
//! through `{issuer}/.well-known/openid-configuration`, cached per isolate);
//! `iss` and `aud` match exactly; `exp`, `nbf`, `iat` within a minute; each
//! `jti` is used once; fork pull requests are refused
//! ([`workload::from_fork`]); the policy's scopes must still be within its
//! creator's current role. Refusals are 401 with a code naming what did not
//! match; the token is never echoed.
use super::access::{Credential, Granted, TwoFactorPolicy, Wrote};
use super::api_keys::{scope_list, scopes_text, within_granted, within_role_value};
use super::audit::{Actor, Event};
use super::auth::scopes_of;
use super::oauth::{OutgoingRequest, USER_AGENT};
use super::{random, AppError, Deps, ErrorCode};
use crate::domain::api_key::ApiKey;
use crate::domain::custom_role;
use crate::domain::ids::IdKind;
use crate::domain::name::DisplayName;
use crate::domain::policy::{self, Facts, Permission, Role, RoleValue, Subject};
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::time::rfc3339;
use crate::domain::workload::{self, Conditions, IssuerKind, Issuers, TimeError};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{TrustCandidateRow, TrustPolicyRow};
use crate::store::{sql, Batch, Read, Stmt};
use jwt_compact::alg::{Es256, Rsa};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmExt, Claims, UntrustedToken};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// At most this many policies an org (the insert's guard).
pub const MAX_POLICIES: i64 = 100;
/// How long a fetched JWKS is trusted before it is fetched again.
pub const JWKS_TTL_SECONDS: i64 = 600;
/// An unknown `kid` refetches the JWKS, at most this often per issuer (a
/// stream of made-up `kid`s must not turn into a stream of fetches).
const REFETCH_AFTER_SECONDS: i64 = 30;

/// A trust policy as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustPolicyView {
    /// `tp_…`
    pub id: String,
    /// What it is for.
    pub name: String,
    /// The exact `iss`.
    pub issuer: String,
    /// The exact `aud`.
    pub audience: String,
    /// Claim → the exact value it must have.
    pub conditions: BTreeMap<String, String>,
    /// What issued keys carry.
    pub scopes: Vec<Permission>,
    /// The longest an issued key lives (60..3600).
    pub max_ttl_seconds: i64,
    /// Whose role bounds the scopes (who created or last changed it).
    pub created_by: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl TrustPolicyRow {
    fn view(&self) -> TrustPolicyView {
        TrustPolicyView {
            id: self.id.clone(),
            name: self.name.clone(),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            conditions: Conditions::stored(&self.conditions).as_map().clone(),
            scopes: scopes_of(&self.scopes),
            max_ttl_seconds: self.max_ttl_seconds,
            created_by: self.created_by.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

/// What a policy says (create, or the whole of an update).
#[derive(Debug, Clone)]
pub struct PolicyInput {
    /// Name.
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// Audience; `latchkey:<org_id>` when absent.
    pub audience: Option<String>,
    /// Conditions.
    pub conditions: Map<String, Value>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// 60..3600.
    pub max_ttl_seconds: i64,
}

/// A policy's parts once checked.
struct Checked {
    name: DisplayName,
    audience: String,
    conditions: Conditions,
    scopes: Vec<Permission>,
    max_ttl_seconds: i64,
}

fn issuers(deps: &Deps) -> Issuers {
    let gitlab = deps
        .config
        .oauth
        .provider(crate::domain::oauth::Provider::GitLab)
        .map_or_else(|| crate::domain::oauth::GITLAB_BASE_URL.to_owned(), |p| p.issuer.clone());
    Issuers { gitlab, extra: deps.config.oidc_extra_issuers.clone() }
}

fn check(deps: &Deps, org_id: &str, input: &PolicyInput) -> Result<Checked, AppError> {
    let name = DisplayName::parse("name", &input.name)?;
    let kind = issuers(deps).kind(&input.issuer).ok_or_else(|| {
        AppError::field(FieldError::new(
            "issuer",
            "unknown_issuer",
            format!("one of {} or the configured GitLab", workload::GITHUB_ISSUER),
        ))
    })?;
    let audience = input.audience.clone().unwrap_or_else(|| format!("latchkey:{org_id}"));
    if audience.trim().is_empty() || audience.len() > 255 {
        return Err(AppError::field(FieldError::new("audience", "invalid_audience", "1 to 255 characters")));
    }
    if !(60..=workload::MAX_TTL_SECONDS).contains(&input.max_ttl_seconds) {
        return Err(AppError::field(FieldError::new("max_ttl_seconds", "out_of_range", "must be 60 to 3600")));
    }
    let conditions = Conditions::parse(kind, &input.conditions)?;
    let scopes = scope_list(&input.scopes)?;
    Ok(Checked { name, audience, conditions, scopes, max_ttl_seconds: input.max_ttl_seconds })
}

/// A policy as stored: its conditions and scopes in their column forms.
struct Stored<'a> {
    org_id: &'a str,
    conditions: String,
    scopes: String,
}

impl Stored<'_> {
    /// The write of the policy `id`: `sql` (`INSERT_TRUST_POLICY` or
    /// `UPDATE_TRUST_POLICY`) binds the id and org (?1, ?2), the checked
    /// parts (?3 to ?7), the writer (?8) and the time (?9); the insert binds
    /// its issuer, which never changes, after them.
    fn write(&self, sql: &'static str, id: &str, checked: &Checked, actor: &Actor, now: i64) -> Stmt {
        let (name, audience) = (checked.name.as_str(), checked.audience.as_str());
        let (conditions, scopes) = (self.conditions.as_str(), self.scopes.as_str());
        stmt!(sql, id, self.org_id, name, audience, conditions, scopes, checked.max_ttl_seconds, actor.id.as_str(), now)
    }

    /// What the audit row of a write says of the policy.
    fn audited(&self, checked: &Checked, issuer: Option<&str>) -> Value {
        let mut data = json!({ "name": checked.name.as_str(), "audience": &checked.audience,
                               "conditions": checked.conditions.as_map(), "scopes": &self.scopes,
                               "max_ttl_seconds": checked.max_ttl_seconds });
        if let Some(issuer) = issuer {
            data["issuer"] = json!(issuer);
        }
        data
    }

    /// After the write: its audit row (if it changed something) and the
    /// policy read back.
    fn finish(
        &self,
        deps: &Deps,
        batch: &mut Batch,
        actor: &Actor,
        action: &'static str,
        id: &str,
        data: Value,
    ) -> Result<Read<TrustPolicyRow>, AppError> {
        let event = Event::in_tenant(Tenant::Org(self.org_id), actor, action, "trust_policy", id, data);
        batch.add(event.stmt_if_changed(deps)?);
        Ok(batch.read::<TrustPolicyRow>(stmt!(sql::TRUST_POLICY_IN_ORG, id, self.org_id)))
    }
}

/// A policy write in one round trip for a person (`api_keys:write`, and the
/// scopes within the writer's role, who becomes the policy's creator).
async fn write_policy<T>(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    checked: &Checked,
    writes: impl FnOnce(&Actor, &mut Batch, &Stored<'_>) -> Result<T, AppError>,
) -> Result<Wrote<Granted, T>, AppError> {
    let within = |g: &Granted| within_granted(g, &checked.scopes);
    let stored = Stored { org_id, conditions: checked.conditions.to_json(), scopes: scopes_text(&checked.scopes) };
    who.require_write_checked(
        deps,
        Tenant::Org(org_id),
        Permission::ApiKeysWrite,
        &checked.scopes,
        &within,
        |actor, batch| writes(actor, batch, &stored),
    )
    .await
}

/// Creates a policy (admin+, a person; scopes within their role).
pub async fn create_trust_policy(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    input: &PolicyInput,
) -> Result<TrustPolicyView, AppError> {
    let checked = match check(deps, org_id, input) {
        Ok(c) => c,
        Err(e) => {
            // A caller who may not learns nothing from a 422.
            let (caller, _) = who.resolve(deps, Some(Tenant::Org(org_id)), Batch::new()).await?;
            caller.require(Permission::ApiKeysWrite, TwoFactorPolicy::Enforce)?;
            return Err(e);
        }
    };
    let now = deps.now();
    let id = deps.new_id(IdKind::TrustPolicy)?;
    let wrote = write_policy(deps, who, org_id, &checked, |actor, batch, stored| {
        let mut insert = stored.write(sql::INSERT_TRUST_POLICY, &id, &checked, actor, now);
        insert.params.push(input.issuer.as_str().into());
        let inserted = batch.write(insert);
        let data = stored.audited(&checked, Some(&input.issuer));
        let row = stored.finish(deps, batch, actor, "trust_policy.created", &id, data)?;
        Ok((inserted, row))
    })
    .await?;
    let (inserted, row) = wrote.handles;
    let mut results = wrote.ran?;
    if results.changed(inserted) == 0 {
        return Err(AppError::field(FieldError::new("name", "too_many_policies", "an org has at most 100 policies")));
    }
    Ok(results.first(row)?.ok_or_else(|| AppError::internal("the new trust policy was not read back"))?.view())
}

/// The org's policies, newest first (admin+).
pub async fn list_trust_policies(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
) -> Result<Vec<TrustPolicyView>, AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<TrustPolicyRow>(stmt!(sql::LIST_TRUST_POLICIES, org_id));
    let (caller, mut results) = who.resolve(deps, Some(Tenant::Org(org_id)), batch).await?;
    caller.require(Permission::ApiKeysWrite, TwoFactorPolicy::Enforce)?;
    Ok(results.all(rows)?.iter().map(TrustPolicyRow::view).collect())
}

/// A partial update: each field given replaces the policy's, each omitted
/// stays (`audience: Some(None)` goes back to the default).
#[derive(Debug, Clone, Default)]
pub struct PolicyPatch {
    /// Name.
    pub name: Option<String>,
    /// Audience: `None` stays, `Some(None)` is `latchkey:<org_id>`.
    pub audience: Option<Option<String>>,
    /// Conditions (replaced whole).
    pub conditions: Option<Map<String, Value>>,
    /// Scopes (replaced whole).
    pub scopes: Option<Vec<String>>,
    /// 60..3600.
    pub max_ttl_seconds: Option<i64>,
}

impl PolicyPatch {
    /// The whole policy once the patch is laid over `row`. The issuer stays.
    fn over(&self, row: &TrustPolicyRow) -> PolicyInput {
        let conditions = self.conditions.clone().unwrap_or_else(|| {
            Conditions::stored(&row.conditions)
                .as_map()
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        });
        PolicyInput {
            name: self.name.clone().unwrap_or_else(|| row.name.clone()),
            issuer: row.issuer.clone(),
            audience: self.audience.clone().unwrap_or_else(|| Some(row.audience.clone())),
            conditions,
            scopes: self.scopes.clone().unwrap_or_else(|| row.scopes.split_whitespace().map(str::to_owned).collect()),
            max_ttl_seconds: self.max_ttl_seconds.unwrap_or(row.max_ttl_seconds),
        }
    }
}

/// Changes a policy (admin+, a person): the fields given replace its own,
/// checked as on create with the policy's issuer, and the resulting scopes
/// within the caller's role (they become the person whose role bounds them).
pub async fn update_trust_policy(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    patch: &PolicyPatch,
) -> Result<TrustPolicyView, AppError> {
    let (_, row): (_, TrustPolicyRow) = who
        .require_row(
            deps,
            Tenant::Org(org_id),
            Permission::ApiKeysWrite,
            (IdKind::TrustPolicy, id, sql::TRUST_POLICY_IN_ORG),
        )
        .await?;
    let input = patch.over(&row);
    let checked = check(deps, org_id, &input)?;
    let now = deps.now();
    let wrote = write_policy(deps, who, org_id, &checked, |actor, batch, stored| {
        batch.add(stored.write(sql::UPDATE_TRUST_POLICY, id, &checked, actor, now));
        let data = stored.audited(&checked, None);
        stored.finish(deps, batch, actor, "trust_policy.updated", id, data)
    })
    .await?;
    let row = wrote.handles;
    Ok(wrote.ran?.first(row)?.ok_or(AppError::NotFound)?.view())
}

/// Deletes a policy (admin+). Keys it issued live out their short lives
/// (or are revoked like any key).
pub async fn delete_trust_policy(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let (kind, sql) = (IdKind::TrustPolicy, sql::DELETE_TRUST_POLICY);
    who.delete_org_row(deps, org_id, Permission::ApiKeysWrite, kind, id, sql, "trust_policy.deleted", "trust_policy")
        .await
}

/// A key traded for a token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExchangedKey {
    /// `lk_tmp_…`: use it as a bearer token; it is never shown again.
    pub key: String,
    /// `key_…`: revoke it with `DELETE /v1/orgs/{org_id}/api-keys/{id}`.
    pub key_id: String,
    /// The org it acts in.
    pub org_id: String,
    /// RFC 3339: the policy's TTL from now, or 5 minutes after the token's `exp`, whichever is sooner.
    pub expires_at: String,
    /// The policy's scopes.
    pub scopes: Vec<Permission>,
    /// The policy (`tp_…`) the token satisfied.
    pub policy: String,
}

fn refuse(code: ErrorCode, detail: impl Into<std::borrow::Cow<'static, str>>) -> AppError {
    AppError::refused(code, detail)
}

fn invalid(detail: &'static str) -> AppError {
    refuse(ErrorCode::OidcInvalidToken, detail)
}

/// One issuer's keys, as last fetched.
#[derive(Clone)]
struct CachedJwks {
    fetched_at: i64,
    keys: Vec<Value>,
}

thread_local! {
    /// JWKS per issuer, kept for the isolate's life ([`JWKS_TTL_SECONDS`]).
    static JWKS: RefCell<HashMap<String, CachedJwks>> = RefCell::new(HashMap::new());
}

/// Whether `url` may be fetched for `kind`'s issuer: https, or (development
/// extras only) http on loopback.
fn fetchable(kind: IssuerKind, url: &str) -> bool {
    url.starts_with("https://")
        || (kind == IssuerKind::Extra
            && ["http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://[::1]:"]
                .iter()
                .any(|p| url.starts_with(p)))
}

async fn get_json(deps: &Deps, url: &str) -> Result<Value, AppError> {
    let unavailable = |why: String| {
        super::log_error(&format!("OIDC fetch {url}: {why}"));
        refuse(ErrorCode::OidcIssuerUnavailable, "the token's issuer could not be reached")
    };
    let req = OutgoingRequest {
        method: "GET",
        url: url.to_owned(),
        headers: vec![("Accept", "application/json".into()), ("User-Agent", USER_AGENT.into())],
        body: None,
    };
    let resp = deps.http.send(req).await.map_err(unavailable)?;
    if resp.status != 200 {
        return Err(unavailable(format!("status {}", resp.status)));
    }
    serde_json::from_slice(&resp.body).map_err(|e| unavailable(e.to_string()))
}

async fn fetch_jwks(deps: &Deps, kind: IssuerKind, iss: &str) -> Result<Vec<Value>, AppError> {
    let unavailable = |why: &str| {
        super::log_error(&format!("OIDC discovery of {iss}: {why}"));
        refuse(ErrorCode::OidcIssuerUnavailable, "the token's issuer published no usable keys")
    };
    let discovery = format!("{}/.well-known/openid-configuration", iss.trim_end_matches('/'));
    if !fetchable(kind, &discovery) {
        return Err(unavailable("not https"));
    }
    let doc = get_json(deps, &discovery).await?;
    if doc.get("issuer").and_then(Value::as_str) != Some(iss) {
        return Err(unavailable("the discovery document names another issuer"));
    }
    let jwks_uri = doc.get("jwks_uri").and_then(Value::as_str).ok_or_else(|| unavailable("no jwks_uri"))?;
    if !fetchable(kind, jwks_uri) {
        return Err(unavailable("jwks_uri is not https"));
    }
    let jwks = get_json(deps, jwks_uri).await?;
    let keys = jwks.get("keys").and_then(Value::as_array).cloned().ok_or_else(|| unavailable("no keys"))?;
    JWKS.with(|c| c.borrow_mut().insert(iss.to_owned(), CachedJwks { fetched_at: deps.now(), keys: keys.clone() }));
    Ok(keys)
}

fn find_key(keys: &[Value], kid: &str) -> Option<Value> {
    keys.iter().find(|k| k.get("kid").and_then(Value::as_str) == Some(kid)).cloned()
}

/// The issuer's key named `kid`: from the cache while fresh, else fetched;
/// an unknown `kid` refetches once (keys rotate), at most every 30 s.
async fn issuer_key(deps: &Deps, kind: IssuerKind, iss: &str, kid: &str) -> Result<Value, AppError> {
    let now = deps.now();
    let cached = JWKS.with(|c| c.borrow().get(iss).cloned());
    if let Some(cached) = cached.filter(|c| now - c.fetched_at < JWKS_TTL_SECONDS) {
        if let Some(key) = find_key(&cached.keys, kid) {
            return Ok(key);
        }
        if now - cached.fetched_at < REFETCH_AFTER_SECONDS {
            return Err(invalid("the token's kid is not among the issuer's keys"));
        }
    }
    let keys = fetch_jwks(deps, kind, iss).await?;
    find_key(&keys, kid).ok_or_else(|| invalid("the token's kid is not among the issuer's keys"))
}

/// Checks the signature with `jwk` (RS256 or ES256, as the token's header says
/// and the key's type allows).
fn verify(token: &UntrustedToken<'_>, jwk: &Value) -> Result<Claims<Map<String, Value>>, AppError> {
    let bad_key = || invalid("the issuer's key does not suit the token's algorithm");
    let jwk: JsonWebKey<'_> = serde_json::from_value(jwk.clone()).map_err(|_| bad_key())?;
    let bad_signature = |_| invalid("the token's signature does not verify");
    let token = match token.algorithm() {
        "RS256" => {
            let key = rsa::RsaPublicKey::try_from(&jwk).map_err(|_| bad_key())?;
            Rsa::rs256().validator::<Map<String, Value>>(&key).validate(token).map_err(bad_signature)?
        }
        "ES256" => {
            let key = <Es256 as Algorithm>::VerifyingKey::try_from(&jwk).map_err(|_| bad_key())?;
            Es256.validator::<Map<String, Value>>(&key).validate(token).map_err(bad_signature)?
        }
        _ => return Err(invalid("only RS256 and ES256 tokens are accepted")),
    };
    Ok(token.claims().clone())
}

/// The roles that hold every one of `scopes` in an org (the exchange's guard).
fn roles_holding(scopes: &[Permission]) -> [Option<&'static str>; 3] {
    let holds = |role: Role| {
        let held = policy::permissions_of(Subject::Role(role), &Facts::direct(TenantKind::Org));
        scopes.iter().all(|p| held.contains(p)).then(|| role.as_str())
    };
    [holds(Role::Owner), holds(Role::Admin), holds(Role::Member)]
}

/// Trades a CI job's OIDC token for a temporary key of the org whose
/// first (oldest) matching policy it satisfies.
pub async fn exchange(deps: &Deps, raw: &str) -> Result<ExchangedKey, AppError> {
    let token = UntrustedToken::new(raw.trim()).map_err(|_| invalid("not a signed JWT"))?;
    let unchecked =
        token.deserialize_claims_unchecked::<Map<String, Value>>().map_err(|_| invalid("unreadable claims"))?;
    let iss = unchecked.custom.get("iss").and_then(Value::as_str).unwrap_or_default().to_owned();
    let kind = issuers(deps).kind(&iss).ok_or_else(|| {
        refuse(ErrorCode::OidcUnknownIssuer, "the token's iss is not an issuer trust policies may name")
    })?;
    let kid = token.header().key_id.clone().ok_or_else(|| invalid("the token's header has no kid"))?;
    let jwk = issuer_key(deps, kind, &iss, &kid).await?;
    let claims = verify(&token, &jwk)?;
    let now = deps.now();
    let exp = claims.expiration.map(|t| t.timestamp());
    workload::check_times(exp, claims.not_before.map(|t| t.timestamp()), claims.issued_at.map(|t| t.timestamp()), now)
        .map_err(|e| match e {
            TimeError::Expired => refuse(ErrorCode::OidcTokenExpired, "the token has expired"),
            TimeError::NotYetValid => {
                refuse(ErrorCode::OidcTokenNotYetValid, "the token's nbf or iat is in the future")
            }
        })?;
    let exp = exp.unwrap_or(now);
    let claims = claims.custom;
    let audience = match claims.get("aud") {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Array(a)) if a.len() == 1 => a[0].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    };
    if workload::from_fork(&claims) {
        return Err(refuse(ErrorCode::OidcForkRefused, "pull-request runs that may execute a fork's code get no key"));
    }
    let jti = claims.get("jti").and_then(Value::as_str).filter(|j| !j.is_empty() && j.len() <= 255);
    let jti = jti.ok_or_else(|| refuse(ErrorCode::OidcTokenReplayed, "the token has no jti to use once"))?.to_owned();
    let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned();

    let mut batch = Batch::new();
    let candidates = batch.read::<TrustCandidateRow>(stmt!(sql::TRUST_POLICIES_FOR_TOKEN, &iss, &audience));
    let candidates = batch.run(deps.db.as_ref()).await?.all(candidates)?;
    if candidates.is_empty() {
        return Err(refuse(ErrorCode::OidcAudienceMismatch, "no trust policy names this issuer with the token's aud"));
    }
    let mut first_mismatch = None;
    let mut chosen = None;
    for c in &candidates {
        match Conditions::stored(&c.conditions).first_mismatch(&claims) {
            None => {
                chosen = Some(c);
                break;
            }
            Some(claim) => {
                first_mismatch.get_or_insert_with(|| claim.to_owned());
            }
        }
    }
    let Some(policy) = chosen else {
        let claim = first_mismatch.unwrap_or_default();
        return Err(refuse(
            ErrorCode::OidcConditionMismatch,
            format!("the token's {claim} claim matches no trust policy"),
        ));
    };
    let scopes = scopes_of(&policy.scopes);
    let creator = policy.created_by.as_deref().unwrap_or_default();
    // The creator's role now: built in, or a custom role by its set.
    let role = match (policy.creator_role.as_deref(), policy.creator_permissions.as_deref()) {
        (Some(raw), permissions) => match (Role::parse(raw), permissions) {
            (Some(builtin), _) => Some(RoleValue::Builtin(builtin)),
            (None, Some(set)) => {
                Some(RoleValue::Custom { key: raw.to_owned(), permissions: custom_role::from_stored(set) })
            }
            (None, None) => None,
        },
        (None, _) => None,
    };
    let creator_ok = policy.creator_suspended_at.is_none()
        && role.is_some_and(|r| within_role_value(&r, &scopes).is_ok())
        && scopes.iter().all(|p| policy::key_may_hold(*p));
    if !creator_ok {
        return Err(refuse(
            ErrorCode::OidcPolicyCreatorLacksScope,
            "the policy's creator no longer holds its scopes in the org; an admin must save it again",
        ));
    }
    // Per policy, on the per-key limiter's binding: a leaked pipeline
    // token cannot mint keys faster than one key's request rate.
    if !deps.limiter.allow(&format!("trust_policy:{}", policy.id)).await {
        return Err(AppError::RateLimited {
            retry_after: 60,
            detail: "this trust policy is over its exchange rate".into(),
        });
    }

    let key_id = deps.new_id(IdKind::ApiKey)?;
    let bytes: [u8; 64] = random(deps.rng.as_ref())?;
    let key = ApiKey::generate_temporary(&bytes)
        .ok_or_else(|| AppError::internal("key generation drew too few usable bytes"))?;
    let expires_at = workload::key_expiry(now, policy.max_ttl_seconds, exp);
    let [r1, r2, r3] = roles_holding(&scopes);
    let actor = Actor { kind: "workload", id: subject.clone() };
    let name = format!("workload: {}", policy.name);
    let mut batch = Batch::new();
    let used = batch.write(stmt!(sql::INSERT_TOKEN_USE, &iss, &jti, &key_id, now, exp + workload::LEEWAY_SECONDS));
    let inserted = batch.write(stmt!(
        sql::INSERT_TEMPORARY_KEY,
        &key_id,
        &policy.org_id,
        name.chars().take(100).collect::<String>(),
        key.digest(),
        key.start(),
        &policy.scopes,
        creator,
        now,
        expires_at,
        &policy.id,
        &iss,
        &jti,
        r1,
        r2,
        r3,
        json!(scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>()).to_string()
    ));
    let event = Event::in_tenant(
        Tenant::Org(&policy.org_id),
        &actor,
        "api_key.exchanged",
        "api_key",
        &key_id,
        json!({ "issuer": &iss, "subject": &subject, "policy_id": &policy.id, "scopes": &policy.scopes,
                "expires_at": expires_at }),
    );
    batch.add(event.stmt_if_changed(deps)?);
    let results = batch.run(deps.db.as_ref()).await?;
    if results.changed(used) == 0 {
        return Err(refuse(ErrorCode::OidcTokenReplayed, "this token was already exchanged"));
    }
    if results.changed(inserted) == 0 {
        return Err(refuse(ErrorCode::OidcPolicyCreatorLacksScope, "the policy changed while the key was issued"));
    }
    Ok(ExchangedKey {
        key: key.expose().to_owned(),
        key_id,
        org_id: policy.org_id.clone(),
        expires_at: rfc3339(expires_at),
        scopes,
        policy: policy.id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_compact::Header;

    #[test]
    fn rs256_tokens_verify_against_their_jwk_and_nothing_else() {
        // GitHub Actions signs with RS256; the fake issuer of the tests uses ES256.
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let public = private.to_public_key();
        let jwk = serde_json::to_value(JsonWebKey::from(&public)).unwrap();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(workload::GITHUB_ISSUER));
        let claims = Claims::new(claims);
        let raw = Rsa::rs256().token(&Header::empty().with_key_id("k1"), &claims, &private).unwrap();
        let token = UntrustedToken::new(&raw).unwrap();
        let verified = verify(&token, &jwk).unwrap();
        assert_eq!(verified.custom["iss"], json!(workload::GITHUB_ISSUER));

        let other = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap().to_public_key();
        let other = serde_json::to_value(JsonWebKey::from(&other)).unwrap();
        assert!(verify(&token, &other).is_err(), "another key");
        let ec = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let ec = p256::ecdsa::VerifyingKey::from(&ec);
        let ec = serde_json::to_value(JsonWebKey::from(&ec)).unwrap();
        assert!(verify(&token, &ec).is_err(), "an EC key never verifies an RS256 token");
    }

    #[test]
    fn only_https_is_fetched_except_development_loopback() {
        assert!(fetchable(
            IssuerKind::GitHub,
            "https://token.actions.githubusercontent.com/.well-known/openid-configuration"
        ));
        assert!(!fetchable(IssuerKind::GitHub, "http://127.0.0.1:9000/jwks"));
        assert!(fetchable(IssuerKind::Extra, "http://127.0.0.1:9000/jwks"));
        assert!(!fetchable(IssuerKind::Extra, "http://example.com/jwks"));
    }
}
