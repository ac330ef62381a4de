//! Single sign-on: an org's own OpenID Connect or SAML 2.0 provider signs
//! in the addresses on its verified domains (`domain::sso` and
//! `domain::saml` have the rules).
//!
//! - Connections (owner, a person): an OIDC issuer is found by discovery
//!   when saved, its client secret sealed at rest and never shown again; a
//!   SAML IdP is read from its metadata (XML, or a URL read when saved).
//! - SAML ([`acs`]): the AuthnRequest's ID carries the flow's state, bound
//!   to the browser as OAuth's is; the ACS spends the flow it answers,
//!   verifies the Response, stores the assertion's id, and ends like OIDC.
//! - Sign-in: `POST /v1/auth/sso/lookup {email}` tells the sign-in screen
//!   to continue with SSO; the flow is OAuth's (browser-bound `state`, PKCE,
//!   nonce, one callback path per connection) and ends the same way, with a
//!   single-use login code redeemed at `POST /v1/auth/oauth/complete` by the
//!   browser that started it ([`finish`]).
//! - Just-in-time membership with the connection's default role.
//! - `sso_required`: password and provider sign-ins of addresses on the
//!   org's SSO domains are refused with 403 `sso_required`; an owner with
//!   2FA on keeps a way in ([`refusal`]).
use super::access::{Credential, TwoFactorPolicy};
use super::accounts::LoginOutcome;
use super::audit::Event;
use super::oauth::{
    claim_unverified_account, login_code, token_exchange, OutgoingRequest, SignedIn, Started, USER_AGENT,
};
use super::sessions::NewSession;
use super::{log_error, random, AppError, Deps, ErrorCode};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::oauth::{self as oauth_rules, FlowSecrets};
use crate::domain::policy::Permission;
use crate::domain::saml;
use crate::domain::sealed::Purpose;
use crate::domain::sso::{self, ConnectionType, Endpoints};
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::domain::token::{self, Secret};
use crate::domain::webhook;
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, LoginCodeRow, SsoConnectionRow, SsoForEmailRow, SsoRequirementRow, UserRow};
use crate::store::{Batch, DbError};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// A connection as the API shows it (never its client secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SsoConnectionView {
    /// `ssc_…`
    pub id: String,
    /// The org it signs in to.
    pub org_id: String,
    /// `oidc` or `saml`.
    #[serde(rename = "type")]
    #[schema(value_type = crate::domain::sso::ConnectionType)]
    pub kind: String,
    /// A label for people.
    pub name: String,
    /// OIDC: the provider's issuer (exact `iss`); SAML: the IdP's entityID
    /// (the `Issuer` of its assertions).
    pub issuer: String,
    /// OIDC: the client id registered at the provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The verified domains whose addresses it signs in.
    pub domains: Vec<String>,
    /// `member`, `admin` or one of the org's custom roles: the role people
    /// join with on first sign-in.
    pub default_role: String,
    /// Whether it signs anyone in.
    pub enabled: bool,
    /// The redirect URI to register at the provider (SAML: the ACS URL).
    pub redirect_uri: String,
    /// SAML: what to register at the IdP, and what its metadata gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saml: Option<SamlView>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// A SAML connection's two sides.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SamlView {
    /// Our entity id (the `Audience` the IdP must name): the URL of our
    /// SP metadata.
    pub sp_entity_id: String,
    /// Our Assertion Consumer Service (HTTP-POST): `Destination` and
    /// `Recipient`.
    pub acs_url: String,
    /// Our SP metadata, to give the IdP.
    pub sp_metadata_url: String,
    /// The IdP's SingleSignOnService (HTTP-Redirect).
    pub idp_sso_url: String,
    /// How many signing certificates of the IdP are trusted.
    pub certificates: usize,
}

fn callback_url(deps: &Deps, connection_id: &str) -> String {
    format!("{}/v1/auth/sso/{connection_id}/callback", deps.config.app_url)
}

/// Our SAML entity id for a connection: its SP metadata URL.
fn sp_entity_id(deps: &Deps, connection_id: &str) -> String {
    format!("{}/v1/sso/{connection_id}/metadata", deps.config.app_url)
}

/// Our SAML ACS URL for a connection.
fn acs_url(deps: &Deps, connection_id: &str) -> String {
    format!("{}/v1/sso/{connection_id}/acs", deps.config.app_url)
}

impl SsoConnectionRow {
    fn view(&self, deps: &Deps) -> SsoConnectionView {
        SsoConnectionView {
            id: self.id.clone(),
            org_id: self.org_id.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            issuer: self.issuer.clone(),
            client_id: (!self.is_saml()).then(|| self.client_id.clone()),
            domains: self.domain_list(),
            default_role: self.default_role.clone(),
            enabled: self.enabled != 0,
            redirect_uri: if self.is_saml() { acs_url(deps, &self.id) } else { callback_url(deps, &self.id) },
            saml: self.is_saml().then(|| SamlView {
                sp_entity_id: sp_entity_id(deps, &self.id),
                acs_url: acs_url(deps, &self.id),
                sp_metadata_url: sp_entity_id(deps, &self.id),
                idp_sso_url: self.authorization_endpoint.clone(),
                certificates: self.certificate_list().len(),
            }),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }

    fn is_saml(&self) -> bool {
        self.kind == ConnectionType::Saml.as_str()
    }

    fn certificate_list(&self) -> Vec<String> {
        self.saml_certificates.split_whitespace().map(str::to_owned).collect()
    }

    fn domain_list(&self) -> Vec<String> {
        let mut list: Vec<String> =
            self.domains.as_deref().unwrap_or("").split(',').filter(|d| !d.is_empty()).map(str::to_owned).collect();
        list.sort();
        list
    }
}

/// A new connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInput {
    /// `oidc` or `saml`.
    pub kind: String,
    /// A label; the issuer's host when absent.
    pub name: Option<String>,
    /// OIDC: the issuer URL.
    pub issuer: Option<String>,
    /// OIDC: client id.
    pub client_id: Option<String>,
    /// OIDC: client secret (sealed at rest).
    pub client_secret: Option<String>,
    /// SAML: the IdP's metadata.
    pub metadata_xml: Option<String>,
    /// SAML: where to read the IdP's metadata (https).
    pub metadata_url: Option<String>,
    /// Verified domains of the org.
    pub domains: Vec<String>,
    /// `member` (default), `admin` or one of the org's custom roles.
    pub default_role: Option<String>,
}

/// A change to a connection: what is absent stays.
#[derive(Debug, Clone, Default)]
pub struct ConnectionPatch {
    /// A label.
    pub name: Option<String>,
    /// Client id.
    pub client_id: Option<String>,
    /// A new client secret.
    pub client_secret: Option<String>,
    /// The whole new list of domains.
    pub domains: Option<Vec<String>>,
    /// `member`, `admin` or one of the org's custom roles.
    pub default_role: Option<String>,
    /// On or off.
    pub enabled: Option<bool>,
    /// SAML: new IdP metadata (a certificate rollover).
    pub metadata_xml: Option<String>,
    /// SAML: where to read new IdP metadata.
    pub metadata_url: Option<String>,
}

fn bounded(field: &'static str, raw: &str, max: usize) -> Result<String, AppError> {
    let v = raw.trim();
    if v.is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(AppError::field(FieldError::new(field, "invalid_value", format!("1 to {max} characters"))));
    }
    Ok(v.to_owned())
}

fn unavailable(why: impl Into<String>) -> AppError {
    let why = why.into();
    AppError::refused(
        ErrorCode::SsoDiscoveryFailed,
        format!("the issuer's discovery document could not be used: {why}"),
    )
}

/// Reads the issuer's discovery document (no redirects followed, 10 s).
async fn discover(deps: &Deps, issuer: &str) -> Result<Endpoints, AppError> {
    let url = sso::discovery_url(issuer);
    let req = OutgoingRequest {
        method: "GET",
        url: url.clone(),
        headers: vec![("accept", "application/json".into()), ("user-agent", USER_AGENT.into())],
        body: None,
    };
    let resp = deps.http.send(req).await.map_err(|e| unavailable(format!("{url}: {e}")))?;
    if resp.status != 200 {
        return Err(unavailable(format!("{url} answered HTTP {}", resp.status)));
    }
    let doc: Value = serde_json::from_slice(&resp.body).map_err(|_| unavailable(format!("{url} is not JSON")))?;
    sso::endpoints(&doc, issuer, deps.config.development).map_err(unavailable)
}

fn required(field: &'static str, raw: &Option<String>) -> Result<String, AppError> {
    raw.clone().ok_or_else(|| AppError::field(FieldError::new(field, "required", "required for this type")))
}

fn invalid_metadata(field: &'static str, why: impl Into<String>) -> AppError {
    AppError::field(FieldError::new(field, "invalid_metadata", why))
}

/// Where a SAML connection's IdP metadata comes from.
enum MetadataSource {
    /// Given inline, already read.
    Given(saml::IdpMetadata),
    /// To fetch (once the caller is known to be an owner).
    Url(String),
}

/// Exactly one of `metadata_xml` and `metadata_url`, checked as far as it
/// can be without I/O.
fn metadata_source(deps: &Deps, xml: &Option<String>, url: &Option<String>) -> Result<MetadataSource, AppError> {
    match (xml, url) {
        (Some(x), None) => saml::idp_metadata(x, deps.config.development)
            .map(MetadataSource::Given)
            .map_err(|e| invalid_metadata("metadata_xml", e)),
        (None, Some(u)) if sso::fetchable(u.trim(), deps.config.development) => {
            Ok(MetadataSource::Url(u.trim().to_owned()))
        }
        (None, Some(_)) => Err(invalid_metadata("metadata_url", "an https URL")),
        _ => Err(AppError::field(FieldError::new(
            "metadata_xml",
            "invalid_metadata",
            "exactly one of metadata_xml and metadata_url",
        ))),
    }
}

/// Reads IdP metadata from its URL (no redirects followed, 10 s).
async fn fetch_metadata(deps: &Deps, source: MetadataSource) -> Result<saml::IdpMetadata, AppError> {
    let url = match source {
        MetadataSource::Given(m) => return Ok(m),
        MetadataSource::Url(url) => url,
    };
    let req = OutgoingRequest {
        method: "GET",
        url: url.clone(),
        headers: vec![
            ("accept", "application/samlmetadata+xml, application/xml".into()),
            ("user-agent", USER_AGENT.into()),
        ],
        body: None,
    };
    let failed = |why: String| {
        AppError::refused(ErrorCode::SsoDiscoveryFailed, format!("the IdP metadata could not be used: {why}"))
    };
    let resp = deps.http.send(req).await.map_err(|e| failed(format!("{url}: {e}")))?;
    if resp.status != 200 {
        return Err(failed(format!("{url} answered HTTP {}", resp.status)));
    }
    let text = String::from_utf8(resp.body).map_err(|_| failed(format!("{url} is not UTF-8")))?;
    saml::idp_metadata(&text, deps.config.development).map_err(failed)
}

/// What a new connection stores of its provider.
struct Provider {
    issuer: String,
    client_id: String,
    sealed: String,
    authorization: String,
    token: String,
    certificates: String,
}

/// What a new connection's input says of its provider, before any I/O.
enum ProviderInput {
    Oidc { issuer: String, client_id: String, sealed: String },
    Saml(MetadataSource),
}

fn provider_input(
    deps: &Deps,
    id: &str,
    kind: ConnectionType,
    input: &ConnectionInput,
) -> Result<ProviderInput, AppError> {
    Ok(match kind {
        ConnectionType::Oidc => ProviderInput::Oidc {
            issuer: sso::issuer(&required("issuer", &input.issuer)?, deps.config.development)?,
            client_id: bounded("client_id", &required("client_id", &input.client_id)?, 255)?,
            sealed: seal_secret(deps, id, &required("client_secret", &input.client_secret)?)?,
        },
        ConnectionType::Saml => ProviderInput::Saml(metadata_source(deps, &input.metadata_xml, &input.metadata_url)?),
    })
}

async fn provider(deps: &Deps, input: ProviderInput) -> Result<Provider, AppError> {
    Ok(match input {
        ProviderInput::Oidc { issuer, client_id, sealed } => {
            let endpoints = discover(deps, &issuer).await?;
            Provider {
                issuer,
                client_id,
                sealed,
                authorization: endpoints.authorization,
                token: endpoints.token,
                certificates: String::new(),
            }
        }
        ProviderInput::Saml(source) => {
            let m = fetch_metadata(deps, source).await?;
            Provider {
                issuer: m.entity_id,
                client_id: String::new(),
                sealed: String::new(),
                authorization: m.sso_url,
                token: String::new(),
                certificates: m.certificates.join("\n"),
            }
        }
    })
}

fn seal_secret(deps: &Deps, connection_id: &str, secret: &str) -> Result<String, AppError> {
    let secret = bounded("client_secret", secret, 1024)?;
    Ok(deps.config.totp_key.seal(
        Purpose::SsoClientSecret,
        connection_id,
        random(deps.rng.as_ref())?,
        secret.as_bytes(),
    ))
}

/// Why a write of domains failed: a domain on another connection. (One the
/// org lost between the check and the write rolls the batch back by its
/// guard: a 409 `conflict`, and trying again says which.)
fn domains_refused(e: DbError) -> AppError {
    match e {
        DbError::Unique(_) => AppError::refused(
            ErrorCode::SsoDomainTaken,
            "one of the domains already belongs to another SSO connection; remove it there first",
        ),
        // The trigger on sso_connections: a default role the org lacks (or
        // deleted meanwhile).
        DbError::Other(m) if m.contains("unknown role") => AppError::field(FieldError::new(
            "default_role",
            "invalid_role",
            "must be member, admin or one of this organization's roles",
        )),
        e => e.into(),
    }
}

/// The caller, as an owner of the org, and whether every one of `domains`
/// is a verified domain of it (one round trip; 422 `domain_not_verified`
/// naming the first that is not).
async fn owner_with_domains(deps: &Deps, who: &Credential, org_id: &str, domains: &[String]) -> Result<(), AppError> {
    let mut batch = Batch::new();
    let verified = batch.read::<sql::VerifiedDomainRow>(stmt!(sql::VERIFIED_DOMAINS_OF_ORG, org_id));
    let (caller, mut results) = who.resolve(deps, Some(Tenant::Org(org_id)), batch).await?;
    caller.require(Permission::OrgDelete, TwoFactorPolicy::Enforce)?;
    let verified: Vec<String> = results.all(verified)?.into_iter().map(|r| r.domain).collect();
    match domains.iter().find(|d| !verified.contains(d)) {
        Some(d) => Err(AppError::refused(
            ErrorCode::DomainNotVerified,
            format!(
                "{d} is not a verified domain of this org: add and verify it first (POST /v1/orgs/{{org_id}}/domains)"
            ),
        )),
        None => Ok(()),
    }
}

fn add_domains(batch: &mut Batch, domains: &[String], id: &str, org_id: &str) {
    for d in domains {
        batch.add(stmt!(sql::INSERT_SSO_DOMAIN, d, id, org_id));
        batch.add(stmt!(sql::GUARD_CHANGED));
    }
}

/// Ends this browser's flow `state` through connection `id` (single use,
/// bound to the browser's cookie and to the connection) and reads the
/// connection if still live, in one round trip: the flow, or 400
/// `invalid_state`.
async fn consume_flow(
    deps: &Deps,
    id: &str,
    state: &str,
    browser: &str,
    now: i64,
) -> Result<(sql::OAuthFlowRow, Option<SsoConnectionRow>), AppError> {
    let mut batch = Batch::new();
    let flow = batch.read::<sql::OAuthFlowRow>(stmt!(
        sql::CONSUME_OAUTH_STATE,
        Secret::from_client(state).digest(),
        Secret::from_client(browser).digest(),
        sso::flow_provider(id),
        now
    ));
    let conn = batch.read::<SsoConnectionRow>(stmt!(sql::LIVE_SSO_CONNECTION, id, None::<String>));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let flow = results.first(flow)?.ok_or_else(invalid_state)?;
    Ok((flow, results.first(conn)?))
}

/// Creates a connection (owner, a person): checks the input, reads the
/// issuer's discovery document, then writes the connection, its domains
/// and its audit row in one batch (the owner's role re-checked there).
pub async fn create(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    input: &ConnectionInput,
) -> Result<SsoConnectionView, AppError> {
    let id = deps.new_id(IdKind::SsoConnection)?;
    let checked = (|| -> Result<_, AppError> {
        let kind = ConnectionType::parse(&input.kind)?;
        let name = input.name.as_deref().map(|n| bounded("name", n, 100)).transpose()?;
        let provider = provider_input(deps, &id, kind, input)?;
        Ok((kind, name, sso::domains(&input.domains)?, sso::default_role(input.default_role.as_deref())?, provider))
    })();
    // The caller first (a 422 tells an outsider nothing, and nobody else
    // makes us fetch a URL), with the org's verified domains.
    let (kind, name, domains, role, provider_input) = match checked {
        Ok(c) => {
            owner_with_domains(deps, who, org_id, &c.2).await?;
            c
        }
        Err(e) => {
            owner_with_domains(deps, who, org_id, &[]).await?;
            return Err(e);
        }
    };
    let p = provider(deps, provider_input).await?;
    let name = name.unwrap_or_else(|| {
        let host = url::Url::parse(&p.issuer).ok().and_then(|u| u.host_str().map(str::to_owned));
        host.unwrap_or_else(|| p.issuer.chars().take(100).collect())
    });
    let now = deps.now();
    let wrote = who
        .require_write(deps, Tenant::Org(org_id), Permission::OrgDelete, TwoFactorPolicy::Enforce, |actor, batch| {
            let inserted = batch.write(stmt!(
                sql::INSERT_SSO_CONNECTION,
                &id,
                org_id,
                kind.as_str(),
                &name,
                &p.issuer,
                &p.client_id,
                &p.sealed,
                &p.authorization,
                &p.token,
                role.as_str(),
                &actor.id,
                now,
                sso::MAX_CONNECTIONS_PER_ORG,
                &p.certificates
            ));
            add_domains(batch, &domains, &id, org_id);
            let event = Event::in_tenant(
                Tenant::Org(org_id),
                actor,
                "sso_connection.created",
                "sso_connection",
                &id,
                json!({ "type": kind.as_str(), "issuer": &p.issuer, "domains": &domains, "default_role": role.as_str() }),
            );
            batch.add(event.stmt_if_changed(deps)?);
            let row = batch.read::<SsoConnectionRow>(stmt!(sql::SSO_CONNECTION_IN_ORG, &id, org_id));
            Ok((inserted, row))
        })
        .await?;
    let (inserted, row) = wrote.handles;
    let mut results = wrote.ran.map_err(domains_refused)?;
    if results.changed(inserted) == 0 {
        return Err(AppError::field(FieldError::new(
            "issuer",
            "too_many_connections",
            format!("an org has at most {} SSO connections", sso::MAX_CONNECTIONS_PER_ORG),
        )));
    }
    Ok(results.first(row)?.ok_or_else(|| AppError::internal("the new connection was not read back"))?.view(deps))
}

/// The org's connections (owner), and whether it requires SSO.
pub async fn list(deps: &Deps, who: &Credential, org_id: &str) -> Result<(Vec<SsoConnectionView>, bool), AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<SsoConnectionRow>(stmt!(sql::LIST_SSO_CONNECTIONS, org_id));
    let required = batch.read::<sql::SsoRequiredRow>(stmt!(sql::SSO_REQUIRED_OF_ORG, org_id));
    let (caller, mut results) = who.resolve(deps, Some(Tenant::Org(org_id)), batch).await?;
    caller.require(Permission::OrgDelete, TwoFactorPolicy::Enforce)?;
    let required = results.first(required)?.is_some_and(|r| r.sso_required != 0);
    Ok((results.all(rows)?.iter().map(|r| r.view(deps)).collect(), required))
}

/// One connection (owner).
pub async fn get(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<SsoConnectionView, AppError> {
    let (_, row) = who
        .require_row::<SsoConnectionRow>(
            deps,
            Tenant::Org(org_id),
            Permission::OrgDelete,
            (IdKind::SsoConnection, id, sql::SSO_CONNECTION_IN_ORG),
        )
        .await?;
    Ok(row.view(deps))
}

/// Changes a connection (owner): one batch, the role checked in it.
pub async fn update(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    patch: &ConnectionPatch,
) -> Result<SsoConnectionView, AppError> {
    let checked = (|| -> Result<_, AppError> {
        if !looks_like(IdKind::SsoConnection, id) {
            return Err(AppError::NotFound);
        }
        Ok((
            patch.name.as_deref().map(|n| bounded("name", n, 100)).transpose()?,
            patch.client_id.as_deref().map(|c| bounded("client_id", c, 255)).transpose()?,
            patch.client_secret.as_deref().map(|s| seal_secret(deps, id, s)).transpose()?,
            patch.default_role.as_deref().map(|r| sso::default_role(Some(r))).transpose()?,
            patch.domains.as_deref().map(sso::domains).transpose()?,
            (patch.metadata_xml.is_some() || patch.metadata_url.is_some())
                .then(|| metadata_source(deps, &patch.metadata_xml, &patch.metadata_url))
                .transpose()?,
        ))
    })();
    let (name, client_id, sealed, role, domains, metadata) = match checked {
        // New domains are checked first (a second round trip, only then).
        Ok(c) => {
            if let Some(d) = &c.4 {
                owner_with_domains(deps, who, org_id, d).await?;
            } else if c.5.is_some() {
                owner_with_domains(deps, who, org_id, &[]).await?;
            }
            c
        }
        Err(e) => {
            // A caller who may not learns nothing from a 422 or a 404.
            owner_with_domains(deps, who, org_id, &[]).await?;
            return Err(e);
        }
    };
    let metadata = match metadata {
        Some(source) => Some(fetch_metadata(deps, source).await?),
        None => None,
    };
    let saml_fields = metadata.as_ref().map(|m| (m.entity_id.clone(), m.sso_url.clone(), m.certificates.join("\n")));
    let now = deps.now();
    let wrote = who
        .require_write(deps, Tenant::Org(org_id), Permission::OrgDelete, TwoFactorPolicy::Enforce, |actor, batch| {
            let changed = batch.write(stmt!(
                sql::UPDATE_SSO_CONNECTION,
                id,
                org_id,
                name.as_deref(),
                client_id.as_deref(),
                sealed.as_deref(),
                role.as_deref(),
                patch.enabled.map(i64::from),
                now,
                saml_fields.as_ref().map(|f| f.0.as_str()),
                saml_fields.as_ref().map(|f| f.1.as_str()),
                saml_fields.as_ref().map(|f| f.2.as_str())
            ));
            if let Some(domains) = &domains {
                batch.add(stmt!(sql::DELETE_SSO_DOMAINS, id, org_id));
                add_domains(batch, domains, id, org_id);
            }
            let mut data = json!({});
            for (k, v) in [
                ("name", name.clone().map(Value::from)),
                ("client_id", client_id.clone().map(Value::from)),
                ("client_secret", sealed.as_ref().map(|_| Value::from("changed"))),
                ("default_role", role.as_deref().map(Value::from)),
                ("enabled", patch.enabled.map(Value::from)),
                ("domains", domains.clone().map(Value::from)),
                ("issuer", saml_fields.as_ref().map(|f| Value::from(f.0.as_str()))),
            ] {
                if let Some(v) = v {
                    data[k] = v;
                }
            }
            let event =
                Event::in_tenant(Tenant::Org(org_id), actor, "sso_connection.updated", "sso_connection", id, data);
            batch.add(event.stmt_if_changed(deps)?);
            let row = batch.read::<SsoConnectionRow>(stmt!(sql::SSO_CONNECTION_IN_ORG, id, org_id));
            Ok((changed, row))
        })
        .await?;
    let (changed, row) = wrote.handles;
    let mut results = wrote.ran.map_err(domains_refused)?;
    let unchanged = results.changed(changed) == 0;
    let row = results.first(row)?.ok_or(AppError::NotFound)?;
    if unchanged && saml_fields.is_some() && !row.is_saml() {
        // Refused in the statement: only a SAML connection takes metadata.
        return Err(invalid_metadata("metadata_xml", "only a SAML connection has IdP metadata"));
    }
    if unchanged {
        return Err(AppError::NotFound);
    }
    Ok(row.view(deps))
}

/// Deletes a connection (owner). Sessions it opened stay until they end.
pub async fn delete(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let (kind, sql) = (IdKind::SsoConnection, sql::DELETE_SSO_CONNECTION);
    who.delete_org_row(deps, org_id, Permission::OrgDelete, kind, id, sql, "sso_connection.deleted", "sso_connection")
        .await
}

/// Turns the org's `sso_required` on or off (owner), audited.
pub async fn set_required(deps: &Deps, who: &Credential, org_id: &str, required: bool) -> Result<(), AppError> {
    let now = deps.now();
    let wrote = who
        .require_write(deps, Tenant::Org(org_id), Permission::OrgDelete, TwoFactorPolicy::Enforce, |actor, batch| {
            let changed = batch.write(stmt!(sql::SET_SSO_REQUIRED, org_id, i64::from(required), now));
            let event = Event::in_tenant(
                Tenant::Org(org_id),
                actor,
                "org.sso_required_changed",
                "org",
                org_id,
                json!({ "sso_required": required }),
            );
            batch.add(event.stmt_if_changed(deps)?);
            Ok(changed)
        })
        .await?;
    let changed = wrote.handles;
    if wrote.ran?.changed(changed) == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

// ---- sign-in ----

/// What the sign-in screen learns about an address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SsoLookupView {
    /// Whether the address signs in with SSO.
    pub sso: bool,
    /// The connection, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// Where to send the browser (add `?redirect_uri=`), when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// Whether the org refuses other sign-ins for the address.
    pub required: bool,
}

/// Whether `email`'s domain signs in through a live connection. It tells
/// nothing about accounts: only about the domain.
pub async fn lookup(deps: &Deps, email: &str) -> Result<SsoLookupView, AppError> {
    let email = email.trim().to_lowercase();
    if email.len() > 320 || sso::email_domain(&email).is_none() {
        return Err(AppError::field(FieldError::new("email", "invalid_email", "an email address")));
    }
    let row: Option<SsoForEmailRow> = deps.db.run(stmt!(sql::SSO_FOR_EMAIL, &email)).await?.first()?;
    Ok(match row {
        Some(r) => SsoLookupView {
            sso: true,
            authorize_url: Some(format!("{}/v1/auth/sso/{}/authorize", deps.config.app_url, r.connection_id)),
            connection_id: Some(r.connection_id),
            required: r.sso_required != 0,
        },
        None => SsoLookupView { sso: false, connection_id: None, authorize_url: None, required: false },
    })
}

fn connection_not_found() -> AppError {
    AppError::refused(ErrorCode::ProviderNotFound, "no such single sign-on connection, or it is turned off")
}

/// Starts a sign-in through connection `id`, as OAuth's start does: the
/// same allow-list for `redirect_uri`, the browser-bound state and PKCE.
pub async fn start(deps: &Deps, id: &str, redirect_uri: Option<&str>) -> Result<Started, AppError> {
    let redirect_uri = redirect_uri.unwrap_or_default();
    if !deps.config.oauth.allows_redirect(redirect_uri) {
        return Err(AppError::refused(ErrorCode::InvalidRedirectUri, "redirect_uri is not on the allow-list"));
    }
    if !looks_like(IdKind::SsoConnection, id) {
        return Err(connection_not_found());
    }
    let now = deps.now();
    let state = Secret::random(random(deps.rng.as_ref())?);
    let browser = Secret::random(random(deps.rng.as_ref())?);
    // The flow is written only for a live connection, which is read in the
    // same batch (its endpoint and client id make the URL): one round trip.
    let mut batch = Batch::new();
    batch.add(stmt!(sql::FORGET_OAUTH_STATES, now));
    batch.add(stmt!(sql::FORGET_LOGIN_CODES, now));
    batch.add(stmt!(
        sql::INSERT_SSO_STATE,
        state.digest(),
        browser.digest(),
        sso::flow_provider(id),
        redirect_uri,
        now,
        now + oauth_rules::FLOW_SECONDS,
        id
    ));
    let conn = batch.read::<SsoConnectionRow>(stmt!(sql::LIVE_SSO_CONNECTION, id, None::<String>));
    let conn = batch.run(deps.db.as_ref()).await?.first(conn)?;
    let conn = conn.filter(|r| !r.domain_list().is_empty()).ok_or_else(connection_not_found)?;
    let cookie = oauth_rules::flow_cookie(browser.expose(), deps.config.https());
    if conn.is_saml() {
        // The request's ID carries the state back as `InResponseTo`; the
        // ACS finds the flow by it and by this browser's cookie.
        let request = saml::authn_request(
            &saml::request_id(state.expose()),
            &rfc3339(now),
            &conn.authorization_endpoint,
            &acs_url(deps, &conn.id),
            &sp_entity_id(deps, &conn.id),
        );
        return Ok(Started {
            authorize_url: saml::redirect_url(&conn.authorization_endpoint, &request, state.expose()),
            cookie,
            extra_cookie: Some(
                sso::saml_cookie_jar(deps.config.https()).set(browser.expose(), oauth_rules::FLOW_SECONDS),
            ),
        });
    }
    let flow = FlowSecrets::derive(&deps.config.token_secret, state.expose(), browser.expose());
    Ok(Started {
        authorize_url: sso::authorize_url(
            &conn.authorization_endpoint,
            &conn.client_id,
            &callback_url(deps, &conn.id),
            state.expose(),
            &flow,
        ),
        cookie,
        extra_cookie: None,
    })
}

/// Our SP metadata for SAML connection `id` (anyone: it holds nothing
/// secret).
pub async fn sp_metadata(deps: &Deps, id: &str) -> Result<String, AppError> {
    if !looks_like(IdKind::SsoConnection, id) {
        return Err(connection_not_found());
    }
    let conn: Option<SsoConnectionRow> =
        deps.db.run(stmt!(sql::LIVE_SSO_CONNECTION, id, None::<String>)).await?.first()?;
    let conn = conn.filter(SsoConnectionRow::is_saml).ok_or_else(connection_not_found)?;
    Ok(saml::sp_metadata(&sp_entity_id(deps, &conn.id), &acs_url(deps, &conn.id)))
}

/// What the IdP posted to the ACS (HTTP-POST binding).
#[derive(Debug, Clone, Default)]
pub struct AcsForm {
    /// `SAMLResponse`, base64.
    pub saml_response: Option<String>,
    /// `RelayState`, if the IdP sent it back.
    pub relay_state: Option<String>,
}

impl AcsForm {
    /// Reads an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "SAMLResponse" if form.saml_response.is_none() => form.saml_response = Some(v.into_owned()),
                "RelayState" if form.relay_state.is_none() => form.relay_state = Some(v.into_owned()),
                _ => {}
            }
        }
        form
    }
}

fn invalid_state() -> AppError {
    AppError::refused(
        ErrorCode::InvalidState,
        "this sign-in attempt is unknown, was already used, expired, or was started in another browser; start again",
    )
}

/// The IdP's answer at the ACS: finds this browser's flow by the
/// Response's `InResponseTo` and consumes it (one round trip, with the
/// connection), verifies the Response against it (`domain::saml::verify`),
/// then stores the assertion's id (a replay fails) with a login code (the
/// second), and sends the browser to its `redirect_uri` with the code.
/// Before the flow is found: 400 `invalid_state`; after: `#error=`.
pub async fn acs(deps: &Deps, id: &str, form: &AcsForm, cookie: Option<&str>) -> Result<String, AppError> {
    let raw = form.saml_response.as_deref().ok_or_else(invalid_state)?;
    let xml = saml::decode_post(raw).map_err(|_| invalid_state())?;
    let request_id = saml::claimed_request(&xml).map_err(|_| invalid_state())?;
    let state = saml::state_of_request_id(&request_id).filter(|s| token::plausible(s)).ok_or_else(invalid_state)?;
    let Some(browser) = cookie.filter(|c| token::plausible(c)) else { return Err(invalid_state()) };
    if form.relay_state.as_deref().is_some_and(|r| !r.is_empty() && r != state)
        || !looks_like(IdKind::SsoConnection, id)
    {
        return Err(invalid_state());
    }
    let now = deps.now();
    let (flow, conn) = consume_flow(deps, id, state, browser, now).await?;
    let fail = |code: &str| format!("{}#error={code}", flow.redirect_uri);
    let Some(conn) = conn.filter(SsoConnectionRow::is_saml) else {
        return Ok(fail("sso_connection_unavailable"));
    };
    let keys = saml::keys_of(&conn.certificate_list());
    let (acs, audience) = (acs_url(deps, &conn.id), sp_entity_id(deps, &conn.id));
    let want = saml::Expected {
        request_id: &request_id,
        acs_url: &acs,
        sp_entity_id: &audience,
        idp_entity_id: &conn.issuer,
        keys: &keys,
        now,
    };
    let verified = match saml::verify(&xml, &want) {
        Ok(v) => v,
        Err(refusal) => {
            log_error(&format!("saml {}: response refused: {refusal}", conn.id));
            return Ok(fail("provider_error"));
        }
    };
    let Some(email) = oauth_rules::normalise_email(verified.email.clone()) else {
        log_error(&format!("saml {}: the assertion gives no email address", conn.id));
        return Ok(fail("provider_error"));
    };
    if !sso::may_sign_in(&email, &conn.domain_list()) {
        log_error(&format!("saml {}: {email} is not on the connection's verified domains", conn.id));
        return Ok(fail("provider_error"));
    }
    let signed_in = SignedIn {
        provider: sso::PROVIDER,
        issuer: &conn.id,
        subject: &verified.name_id,
        email: Some(&email),
        email_verified: true,
        name: oauth_rules::bounded_name(verified.name.clone()),
        link_user_id: None,
    };
    let (insert, to) = login_code(deps, &flow.redirect_uri, signed_in, browser, now)?;
    let mut batch = Batch::new();
    batch.add(stmt!(sql::FORGET_SAML_ASSERTIONS, now));
    batch.add(stmt!(sql::INSERT_SAML_ASSERTION, &conn.id, &verified.assertion_id, verified.expires_at));
    batch.add(stmt!(sql::GUARD_CHANGED));
    batch.add(insert);
    match batch.run(deps.db.as_ref()).await {
        Ok(_) => Ok(to),
        Err(DbError::Guard(_)) => {
            log_error(&format!("saml {}: assertion {} replayed", conn.id, verified.assertion_id));
            Ok(fail("provider_error"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Who the provider says signed in, checked.
struct SsoIdentity {
    subject: String,
    email: String,
    name: Option<String>,
}

async fn fetch_identity(
    deps: &Deps,
    conn: &SsoConnectionRow,
    code: &str,
    secrets: &FlowSecrets,
) -> Result<SsoIdentity, String> {
    let secret = deps
        .config
        .totp_key
        .open(Purpose::SsoClientSecret, &conn.id, &conn.client_secret_sealed)
        .map_err(|e| format!("client secret: {e}"))?;
    let secret = String::from_utf8(secret.plaintext).map_err(|_| "client secret is not UTF-8".to_owned())?;
    let callback = callback_url(deps, &conn.id);
    let body = sso::token_request_body(&conn.client_id, &secret, code, &callback, secrets.verifier.expose());
    let exchange = token_exchange(conn.token_endpoint.clone(), body);
    let answer = deps.http.send(exchange).await?;
    if (300..400).contains(&answer.status) {
        return Err(format!("the token endpoint answered a redirect ({}); not followed", answer.status));
    }
    let tokens = oauth_rules::parse_token_answer(answer.status, &answer.body).map_err(|e| e.to_string())?;
    let raw = tokens.id_token.ok_or("no id_token")?;
    let claims = oauth_rules::check_id_token_of(
        &raw,
        std::slice::from_ref(&conn.issuer),
        &conn.client_id,
        secrets.nonce.expose(),
        deps.now(),
    )
    .map_err(|e| e.to_string())?;
    let email = oauth_rules::normalise_email(claims.email).ok_or("no email claim")?;
    if !sso::may_sign_in(&email, &conn.domain_list()) {
        return Err(format!("{email} is not on the connection's verified domains"));
    }
    Ok(SsoIdentity { subject: claims.sub, email, name: oauth_rules::bounded_name(claims.name) })
}

/// The provider's redirect back: consumes this browser's flow for this
/// connection, exchanges the code, checks the ID token and the address's
/// domain, and sends the browser to its `redirect_uri` with a login code.
pub async fn callback(
    deps: &Deps,
    id: &str,
    params: &super::oauth::CallbackParams,
    cookie: Option<&str>,
) -> Result<String, AppError> {
    let (Some(state), Some(browser)) = (params.state.as_deref(), cookie) else {
        return Err(invalid_state());
    };
    if !token::plausible(state) || !token::plausible(browser) || !looks_like(IdKind::SsoConnection, id) {
        return Err(invalid_state());
    }
    let now = deps.now();
    let (flow, conn) = consume_flow(deps, id, state, browser, now).await?;
    let fail = |code: &str| format!("{}#error={code}", flow.redirect_uri);
    let Some(conn) = conn.filter(|c| !c.is_saml()) else {
        return Ok(fail("sso_connection_unavailable"));
    };
    if let Some(error) = &params.error {
        return Ok(fail(if error == "access_denied" { "access_denied" } else { "provider_error" }));
    }
    let Some(code) = params.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Ok(fail("provider_error"));
    };
    let secrets = FlowSecrets::derive(&deps.config.token_secret, state, browser);
    let identity = match fetch_identity(deps, &conn, code, &secrets).await {
        Ok(identity) => identity,
        Err(e) => {
            log_error(&format!("sso {}: {e}", conn.id));
            return Ok(fail("provider_error"));
        }
    };
    let signed_in = SignedIn {
        provider: sso::PROVIDER,
        issuer: &conn.id,
        subject: &identity.subject,
        email: Some(&identity.email),
        email_verified: true,
        name: identity.name.clone(),
        link_user_id: None,
    };
    let (insert, to) = login_code(deps, &flow.redirect_uri, signed_in, browser, now)?;
    deps.db.run(insert).await?;
    Ok(to)
}

/// Whether a login code is one of ours.
pub fn is_sso_code(row: &LoginCodeRow) -> bool {
    row.provider == sso::PROVIDER
}

/// Finishes a sign-in from an SSO login code, spent by `oauth::complete` in
/// the browser that ran the flow, which read the connection (`conn`, live
/// only) and the account holding the address in the same batch. The org's
/// provider speaks for its verified domain: the verified holder signs in,
/// an unverified holder is claimed (as with a provider-verified address),
/// or a new account is made; membership comes just in time; the session
/// (or, with 2FA on, the second step) is written in the same batch: two
/// round trips in all.
pub async fn finish(
    deps: &Deps,
    row: &LoginCodeRow,
    conn: Option<SsoConnectionRow>,
    holder: Option<UserRow>,
    user_agent: Option<&str>,
) -> Result<LoginOutcome, AppError> {
    let email = row.email.clone().ok_or(AppError::InvalidToken)?;
    // The connection must still sign in this address now.
    let conn = conn.filter(|c| sso::may_sign_in(&email, &c.domain_list())).ok_or(AppError::InvalidToken)?;
    if holder.as_ref().is_some_and(|u| u.suspended_at.is_some()) {
        return Err(super::access::suspended());
    }
    let now = deps.now();
    let mut batch = Batch::new();
    let (user_id, two_factor) = match holder {
        Some(user) if user.email_verified_at.is_some() => (user.id, user.totp_enabled != 0),
        Some(user) => {
            let why = serde_json::json!({ "sso_connection": conn.id, "reason": "sso_verified_domain" });
            for claim in claim_unverified_account(deps, &user.id, row.name.clone(), now, why)? {
                batch.add(claim);
            }
            (user.id, false)
        }
        None => {
            let user_id = deps.new_id(IdKind::User)?;
            let name = row.name.clone().unwrap_or_else(|| email.split('@').next().unwrap_or("").to_owned());
            batch.add(stmt!(sql::INSERT_OAUTH_USER, &user_id, &email, name, now));
            (user_id, false)
        }
    };
    let audit_id = deps.new_id(IdKind::Event)?;
    batch.add(stmt!(
        sql::SSO_JOIN_AUDIT,
        &user_id,
        &conn.id,
        now,
        &audit_id,
        webhook::event_types_column("member.joined")
    ));
    batch.add(stmt!(sql::SSO_JOIN_MEMBER, &user_id, &conn.id, now));
    let method = sso::session_method(&conn.id);
    // SSO never skips a second factor the person turned on.
    let next = if two_factor {
        let (token, row) = super::totp::mfa_token_row(deps, &user_id, user_agent, &method)?;
        batch.add(row);
        Err(token)
    } else {
        let (session, rows) = NewSession::rows(deps, &user_id, user_agent, &method)?;
        rows.into_iter().for_each(|r| batch.add(r));
        Ok(session)
    };
    let user = batch.read::<UserRow>(stmt!(sql::USER_BY_ID, &user_id));
    let mut results = match batch.run(deps.db.as_ref()).await {
        Ok(r) => r,
        // The account was verified, or the address taken, meanwhile.
        Err(DbError::Guard(_)) | Err(DbError::Unique(_)) => {
            return Err(AppError::refused(ErrorCode::Conflict, "the account changed while signing in; try again"))
        }
        Err(e) => return Err(e.into()),
    };
    deps.notified.borrow_mut().push(audit_id);
    let user = results.first(user)?.ok_or(AppError::InvalidToken)?;
    match next {
        Ok(session) => Ok(LoginOutcome::Session(Box::new(session.issue(deps, user)?))),
        Err(mfa_token) => Ok(LoginOutcome::MfaRequired { mfa_token }),
    }
}

/// Whether a sign-in of `user` that is not through SSO must be refused
/// (403 `sso_required`), from the row [`sql::SSO_REQUIREMENT`] read.
pub fn refusal(requirement: Option<SsoRequirementRow>) -> Result<(), AppError> {
    match requirement {
        Some(r) if sso::refused_without_sso(true, r.break_glass != 0) => Err(AppError::refused(
            ErrorCode::SsoRequired,
            format!(
                "this organization signs in its addresses through single sign-on: continue with SSO (connection {})",
                r.connection_id
            ),
        )),
        _ => Ok(()),
    }
}
