//! Single sign-on: an org's connections (owners), the sign-in screen's
//! look-up, and the browser's trip through the org's OpenID provider or
//! SAML IdP (our SP metadata, the ACS).
use super::Problem;
use crate::app::oauth::{self as oauth_app, CallbackParams};
use crate::app::sso::{self, ConnectionInput, ConnectionPatch, SsoConnectionView, SsoLookupView};
use crate::app::Deps;
use crate::domain::oauth::flow_cookie_jar;
use crate::domain::sso::saml_cookie_jar;
use crate::domain::tenant::Tenant;
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new connection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoConnectionBody {
    /// `oidc` or `saml` (anything else: 422 `invalid_type`, field `type`).
    #[serde(rename = "type")]
    #[schema(value_type = crate::domain::sso::ConnectionType, example = "oidc")]
    pub kind: String,
    /// A label for people (default: the issuer's host).
    #[serde(default)]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// OIDC (required): the provider's issuer, exactly as its ID tokens'
    /// `iss` (https; its `/.well-known/openid-configuration` is read when
    /// saving).
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub issuer: Option<String>,
    /// OIDC (required): the client id registered at the provider.
    #[serde(default)]
    #[schema(max_length = 255)]
    pub client_id: Option<String>,
    /// OIDC (required): the client secret: sealed at rest, never shown again.
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub client_secret: Option<String>,
    /// SAML (this or `metadata_url`): the IdP's metadata XML: its entityID,
    /// HTTP-Redirect SingleSignOnService and signing certificates (RSA
    /// 2048+ or P-256). No DTD.
    #[serde(default)]
    pub metadata_xml: Option<String>,
    /// SAML (this or `metadata_xml`): an https URL of the IdP's metadata,
    /// read when saving.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub metadata_url: Option<String>,
    /// Verified domains of the org whose addresses sign in through it.
    #[schema(min_items = 1, max_items = 50)]
    pub domains: Vec<String>,
    /// `member` (default), `admin` or the key of one of the org's custom
    /// roles: the role people join with.
    #[serde(default)]
    pub default_role: Option<String>,
}

/// A change to a connection: fields left out stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoConnectionPatchBody {
    /// A label.
    #[serde(default)]
    pub name: Option<String>,
    /// The client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// A new client secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The whole new list of verified domains.
    #[serde(default)]
    pub domains: Option<Vec<String>>,
    /// `member`, `admin` or the key of one of the org's custom roles.
    #[serde(default)]
    pub default_role: Option<String>,
    /// Whether it signs anyone in.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// SAML: new IdP metadata XML (e.g. a certificate rollover).
    #[serde(default)]
    pub metadata_xml: Option<String>,
    /// SAML: an https URL to read new IdP metadata from.
    #[serde(default)]
    pub metadata_url: Option<String>,
}

/// An org's connections.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoConnectionList {
    /// Oldest first (at most 10).
    pub data: Vec<SsoConnectionView>,
    /// Whether the org refuses other sign-ins of its SSO domains
    /// (`PUT /v1/orgs/{org_id}/sso-required`).
    pub sso_required: bool,
}

/// `POST /v1/orgs/{org_id}/sso-connections`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/sso-connections", summary = "Create a single sign-on connection", tag = "sso",
    request_body = SsoConnectionBody,
    responses((status = 201, body = SsoConnectionView, description = "Register `redirect_uri` at the provider (SAML: give the IdP `saml.sp_metadata_url`, or its entity id and ACS URL)"),
              (status = 403, body = Problem, description = "forbidden: owners only (a person)"),
              (status = 409, body = Problem, description = "sso_domain_taken: a domain belongs to another connection"),
              (status = 422, body = Problem, description = "validation_failed (required: a field of the type is missing; invalid_issuer, invalid_metadata, invalid_domains, invalid_role, too_many_connections), domain_not_verified (a domain is not a verified domain of the org), sso_discovery_failed (the issuer's discovery document, or the SAML metadata at metadata_url, could not be read or used)")))]
pub async fn create_sso_connection(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let b: SsoConnectionBody = json(req)?;
    let input = ConnectionInput {
        kind: b.kind,
        name: b.name,
        issuer: b.issuer,
        client_id: b.client_id,
        client_secret: b.client_secret,
        metadata_xml: b.metadata_xml,
        metadata_url: b.metadata_url,
        domains: b.domains,
        default_role: b.default_role,
    };
    Ok(Response::json(201, &sso::create(deps, cred, org.id(), &input).await?))
}

/// `GET /v1/orgs/{org_id}/sso-connections`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/sso-connections", summary = "List single sign-on connections", tag = "sso",
    responses((status = 200, body = SsoConnectionList), (status = 403, body = Problem, description = "forbidden: owners only")))]
pub async fn list_sso_connections(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    let (data, sso_required) = sso::list(deps, cred, org.id()).await?;
    Ok(Response::json(200, &SsoConnectionList { data, sso_required }))
}

/// `GET /v1/orgs/{org_id}/sso-connections/{id}`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/sso-connections/{id}", summary = "Get a single sign-on connection", tag = "sso",
    responses((status = 200, body = SsoConnectionView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_sso_connection(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    Ok(Response::json(200, &sso::get(deps, cred, org.id(), id).await?))
}

/// `PATCH /v1/orgs/{org_id}/sso-connections/{id}`.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/sso-connections/{id}", summary = "Update a single sign-on connection", tag = "sso",
    request_body = SsoConnectionPatchBody,
    responses((status = 200, body = SsoConnectionView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "sso_domain_taken"),
              (status = 422, body = Problem, description = "validation_failed (invalid_metadata: bad metadata, or metadata for an OIDC connection), domain_not_verified, sso_discovery_failed")))]
pub async fn update_sso_connection(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    let b: SsoConnectionPatchBody = json(req)?;
    let patch = ConnectionPatch {
        name: b.name,
        client_id: b.client_id,
        client_secret: b.client_secret,
        domains: b.domains,
        default_role: b.default_role,
        enabled: b.enabled,
        metadata_xml: b.metadata_xml,
        metadata_url: b.metadata_url,
    };
    Ok(Response::json(200, &sso::update(deps, cred, org.id(), id, &patch).await?))
}

/// `DELETE /v1/orgs/{org_id}/sso-connections/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/sso-connections/{id}", summary = "Delete a single sign-on connection", tag = "sso",
    responses((status = 204, description = "Deleted; sessions it opened run until they end"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_sso_connection(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    sso::delete(deps, cred, org.id(), id).await?;
    Ok(Response::empty(204))
}

/// Whether the org refuses other sign-ins of its SSO domains.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoRequiredBody {
    /// On: password and provider sign-ins of addresses on the org's SSO
    /// domains answer 403 `sso_required`, except an owner of the org with
    /// 2FA on (break glass).
    pub sso_required: bool,
}

/// `PUT /v1/orgs/{org_id}/sso-required`.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/sso-required", summary = "Require single sign-on", tag = "sso",
    request_body = SsoRequiredBody,
    responses((status = 200, body = SsoRequiredBody), (status = 403, body = Problem, description = "forbidden: owners only")))]
pub async fn set_sso_required(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let b: SsoRequiredBody = json(req)?;
    sso::set_required(deps, cred, org.id(), b.sso_required).await?;
    Ok(Response::json(200, &b))
}

/// An address typed on the sign-in screen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoLookupBody {
    /// The address.
    #[schema(max_length = 320)]
    pub email: String,
}

/// `POST /v1/auth/sso/lookup`.
#[utoipa::path(post, path = "/v1/auth/sso/lookup", summary = "Find the single sign-on of an address", tag = "sso", request_body = SsoLookupBody,
    responses((status = 200, body = SsoLookupView, description = "Whether the address's domain signs in through a live connection (it says nothing about accounts)"),
              (status = 422, body = Problem, description = "validation_failed: not an address")))]
pub async fn sso_lookup(deps: &Deps, req: &Request) -> Answer {
    let b: SsoLookupBody = json(req)?;
    Ok(Response::json(200, &sso::lookup(deps, &b.email).await?))
}

fn redirect(location: &str) -> Response {
    Response::empty(302).with_header("location", location).with_header("referrer-policy", "no-referrer")
}

/// `GET /v1/auth/sso/{connection_id}/authorize?redirect_uri=`.
#[utoipa::path(get, path = "/v1/auth/sso/{connection_id}/authorize", summary = "Start a single sign-on", tag = "sso",
    params(("redirect_uri" = String, Query, description = "Where the browser returns with `#login_code=`, as for provider sign-ins")),
    responses((status = 302, description = "To the org's provider with `state`, PKCE S256 and `nonce` (SAML: to the IdP's SingleSignOnService with an AuthnRequest over HTTP-Redirect whose ID is bound to this browser's flow); sets the flow cookie that binds the flow to this browser (SAML: a second, `SameSite=None` over https, read by the ACS)"),
              (status = 400, body = Problem, description = "invalid_redirect_uri"),
              (status = 404, body = Problem, description = "provider_not_found: no such live connection")))]
pub async fn sso_authorize(deps: &Deps, req: &Request, connection_id: &str) -> Answer {
    let redirect_uri = req.query_param("redirect_uri");
    let started = sso::start(deps, connection_id, redirect_uri.as_deref()).await?;
    let answer = redirect(&started.authorize_url).with_header("set-cookie", started.cookie);
    Ok(match started.extra_cookie {
        Some(c) => answer.with_header("set-cookie", c),
        None => answer,
    })
}

/// `GET /v1/sso/{connection_id}/metadata`.
#[utoipa::path(get, path = "/v1/sso/{connection_id}/metadata", summary = "Get our SAML service provider metadata", tag = "sso",
    responses((status = 200, content_type = "application/samlmetadata+xml", body = String, description = "SAML 2.0 SP metadata: our entity id (this URL), the ACS (HTTP-POST), signed assertions wanted"),
              (status = 404, body = Problem, description = "provider_not_found: no such live SAML connection")))]
pub async fn saml_metadata(deps: &Deps, _req: &Request, connection_id: &str) -> Answer {
    let xml = sso::sp_metadata(deps, connection_id).await?;
    let mut r = Response::empty(200).with_header("content-type", "application/samlmetadata+xml");
    r.body = xml.into_bytes();
    Ok(r.with_header("cache-control", "public, max-age=300"))
}

/// What an IdP posts to the ACS (SAML HTTP-POST binding).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SamlAcsForm {
    /// The Response, base64 (whitespace allowed).
    #[serde(rename = "SAMLResponse")]
    pub saml_response: String,
    /// Echoed from our AuthnRequest: when present it must be that flow's.
    #[serde(rename = "RelayState", default)]
    pub relay_state: Option<String>,
}

/// `POST /v1/sso/{connection_id}/acs`.
#[utoipa::path(post, path = "/v1/sso/{connection_id}/acs", summary = "Receive a SAML response (Assertion Consumer Service)", tag = "sso",
    request_body(content = SamlAcsForm, content_type = "application/x-www-form-urlencoded", description = "HTTP-POST binding: `SAMLResponse` (base64) and `RelayState`"),
    responses((status = 302, description = "To the flow's redirect_uri with `#login_code=…` (redeem it at POST /v1/auth/oauth/complete in this browser), or `#error=provider_error|sso_connection_unavailable`. The Response must answer this browser's request (`InResponseTo`), name our ACS (`Destination`, `Recipient`) and entity id (`Audience`), and carry exactly one Assertion, signed by a key of the IdP's metadata (RSA-SHA256 or ECDSA-P256-SHA256 over exclusive C14N), valid now (±3 min), never used before, for an address on the connection's verified domains"),
              (status = 400, body = Problem, description = "invalid_state: no readable Response, or one that answers no flow of this browser (unknown, replayed, expired or foreign `InResponseTo`, another connection, or no flow cookie)")))]
pub async fn saml_acs(deps: &Deps, req: &Request, connection_id: &str) -> Answer {
    let form = sso::AcsForm::parse(&req.body);
    let jar = saml_cookie_jar(oauth_app::secure(deps));
    let location = sso::acs(deps, connection_id, &form, extract::cookie(req, &jar)).await?;
    Ok(redirect(&location).with_header("set-cookie", jar.clear()))
}

/// `GET /v1/auth/sso/{connection_id}/callback?code=&state=`.
#[utoipa::path(get, path = "/v1/auth/sso/{connection_id}/callback", summary = "Receive a single sign-on callback", tag = "sso",
    params(("code" = Option<String>, Query), ("state" = String, Query), ("error" = Option<String>, Query)),
    responses((status = 302, description = "To the flow's redirect_uri with `#login_code=…` (redeem it at POST /v1/auth/oauth/complete in this browser), or `#error=access_denied|provider_error|sso_connection_unavailable`. The ID token comes from the token endpoint over TLS; its `iss`, `aud`, `exp`, `nonce` are checked and its address must be on the connection's verified domains"),
              (status = 400, body = Problem, description = "invalid_state: unknown, replayed, expired or foreign state, another connection's flow, or no flow cookie")))]
pub async fn sso_callback(deps: &Deps, req: &Request, connection_id: &str) -> Answer {
    let params = CallbackParams {
        code: req.query_param("code"),
        state: req.query_param("state"),
        error: req.query_param("error"),
    };
    let jar = flow_cookie_jar(oauth_app::secure(deps));
    let location = sso::callback(deps, connection_id, &params, extract::cookie(req, &jar)).await?;
    Ok(redirect(&location))
}
