//! Single sign-on connections (`app::sso`): the connections, the verified
//! domains each signs in, the org's `sso_required`, and the rule that
//! refuses other sign-ins on those domains.
use serde::Deserialize;

/// A connection, with its domains (comma-separated; sorted when read).
#[derive(Debug, Clone, Deserialize)]
pub struct SsoConnectionRow {
    pub id: String,
    pub org_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// SAML: signing certificates, base64 DER, one per line.
    #[serde(default)]
    pub saml_certificates: String,
    pub default_role: String,
    pub enabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub domains: Option<String>,
}

/// One connection of an org, with its domains.
pub const SSO_CONNECTION_IN_ORG: &str = "SELECT c.id, c.org_id, c.type, c.name, c.issuer, c.client_id, \
       c.client_secret_sealed, c.authorization_endpoint, c.token_endpoint, c.saml_certificates, c.default_role, c.enabled, \
       c.created_at, c.updated_at, \
       (SELECT group_concat(domain, ',') FROM sso_connection_domains WHERE connection_id = c.id) AS domains \
     FROM sso_connections AS c WHERE c.id = ?1 AND c.org_id = ?2";
/// An org's connections, oldest first.
pub const LIST_SSO_CONNECTIONS: &str = "SELECT c.id, c.org_id, c.type, c.name, c.issuer, c.client_id, \
       c.client_secret_sealed, c.authorization_endpoint, c.token_endpoint, c.saml_certificates, c.default_role, c.enabled, \
       c.created_at, c.updated_at, \
       (SELECT group_concat(domain, ',') FROM sso_connection_domains WHERE connection_id = c.id) AS domains \
     FROM sso_connections AS c WHERE c.org_id = ?1 ORDER BY c.created_at, c.id";
/// A connection, only while enabled: by id alone `?1` (a sign-in flow), or,
/// with `?1` null, the one an SSO login code `?2` names (read in the batch
/// that spends the code; none for other codes).
pub const LIVE_SSO_CONNECTION: &str = "SELECT c.id, c.org_id, c.type, c.name, c.issuer, c.client_id, \
       c.client_secret_sealed, c.authorization_endpoint, c.token_endpoint, c.saml_certificates, c.default_role, c.enabled, \
       c.created_at, c.updated_at, \
       (SELECT group_concat(s.domain, ',') FROM sso_connection_domains AS s \
          JOIN org_domains AS od ON od.org_id = s.org_id AND od.domain = s.domain AND od.state = 'verified' \
          WHERE s.connection_id = c.id) AS domains \
     FROM sso_connections AS c \
     WHERE c.id = COALESCE(?1, (SELECT l.issuer FROM oauth_login_codes AS l WHERE l.code_hash = ?2 AND l.provider = 'sso')) \
       AND c.enabled = 1";

/// Whether a sign-in through a login code `?1` (a provider's) is refused
/// because an org requires SSO ([`SSO_REQUIREMENT`]), for the address of the
/// account its identity signs in to, else the address the provider gave.
/// Read in the batch that spends the code.
pub const SSO_REQUIREMENT_OF_LOGIN_CODE: &str = "SELECT c.org_id, c.id AS connection_id, \
       EXISTS (SELECT 1 FROM org_members AS m JOIN users AS u ON u.id = m.user_id \
         WHERE m.org_id = c.org_id AND u.email = e.email AND m.role = 'owner' AND u.totp_enabled = 1) AS break_glass \
     FROM (SELECT COALESCE((SELECT u.email FROM oauth_identities AS i JOIN users AS u ON u.id = i.user_id \
             WHERE i.provider = l.provider AND i.issuer = l.issuer AND i.subject = l.subject), l.email) AS email \
           FROM oauth_login_codes AS l WHERE l.code_hash = ?1) AS e \
     JOIN sso_connection_domains AS s \
       ON s.domain = lower(substr(e.email, length(rtrim(e.email, replace(e.email, '@', ''))) + 1)) \
     JOIN sso_connections AS c ON c.id = s.connection_id AND c.enabled = 1 \
     JOIN org_domains AS d ON d.org_id = s.org_id AND d.domain = s.domain AND d.state = 'verified' \
     JOIN orgs AS o ON o.id = c.org_id AND o.sso_required = 1";

/// [`SSO_REQUIREMENT`] for the account of a live verification link `?1`
/// (read with the link: the inbox is proven, the session is refused).
pub const SSO_REQUIREMENT_OF_VERIFY_TOKEN: &str = "SELECT c.org_id, c.id AS connection_id, \
       EXISTS (SELECT 1 FROM org_members AS m JOIN users AS o ON o.id = m.user_id \
         WHERE m.org_id = c.org_id AND o.id = u.id AND m.role = 'owner' AND o.totp_enabled = 1) AS break_glass \
     FROM email_tokens AS t JOIN users AS u ON u.id = t.user_id \
     JOIN sso_connection_domains AS s \
       ON s.domain = lower(substr(u.email, length(rtrim(u.email, replace(u.email, '@', ''))) + 1)) \
     JOIN sso_connections AS c ON c.id = s.connection_id AND c.enabled = 1 \
     JOIN org_domains AS d ON d.org_id = s.org_id AND d.domain = s.domain AND d.state = 'verified' \
     JOIN orgs AS g ON g.id = c.org_id AND g.sso_required = 1 \
     WHERE t.token_hash = ?1 AND t.purpose = 'verify_email'";

/// A sign-in flow through connection `?7`, written only while it is enabled
/// (as `INSERT_OAUTH_STATE`, no link).
pub const INSERT_SSO_STATE: &str = "INSERT INTO oauth_states \
       (state_hash, browser_hash, provider, redirect_uri, link_user_id, created_at, expires_at) \
     SELECT ?1, ?2, ?3, ?4, NULL, ?5, ?6 WHERE EXISTS (SELECT 1 FROM sso_connections WHERE id = ?7 AND enabled = 1)";

/// A new connection; at most ?13 per org (follow with GUARD_CHANGED).
pub const INSERT_SSO_CONNECTION: &str = "INSERT INTO sso_connections \
       (id, org_id, type, name, issuer, client_id, client_secret_sealed, authorization_endpoint, token_endpoint, \
        default_role, enabled, created_by, created_at, updated_at, saml_certificates) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?12, ?12, ?14 \
     WHERE (SELECT count(*) FROM sso_connections WHERE org_id = ?2) < ?13";
/// A domain of a connection: only a verified domain of its org, and only one
/// connection per domain (the primary key: a domain on another connection
/// fails as a unique violation).
pub const INSERT_SSO_DOMAIN: &str = "INSERT INTO sso_connection_domains (domain, connection_id, org_id) \
     SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM org_domains \
       WHERE org_id = ?3 AND domain = ?1 AND state = 'verified') \
       AND EXISTS (SELECT 1 FROM sso_connections WHERE id = ?2 AND org_id = ?3)";
/// The domains of a connection, before they are written again (PATCH).
pub const DELETE_SSO_DOMAINS: &str = "DELETE FROM sso_connection_domains WHERE connection_id = ?1 AND org_id = ?2";
/// Changes a connection (fields not given stay). IdP metadata (?9 to ?11)
/// changes only a SAML connection: on another nothing changes.
pub const UPDATE_SSO_CONNECTION: &str = "UPDATE sso_connections SET \
       name = COALESCE(?3, name), client_id = COALESCE(?4, client_id), \
       client_secret_sealed = COALESCE(?5, client_secret_sealed), default_role = COALESCE(?6, default_role), \
       enabled = COALESCE(?7, enabled), updated_at = ?8, issuer = COALESCE(?9, issuer), \
       authorization_endpoint = COALESCE(?10, authorization_endpoint), \
       saml_certificates = COALESCE(?11, saml_certificates) \
     WHERE id = ?1 AND org_id = ?2 AND (?9 IS NULL OR type = 'saml')";
pub const DELETE_SSO_CONNECTION: &str = "DELETE FROM sso_connections WHERE id = ?1 AND org_id = ?2";
/// Unless the value changed since it was read (a new secret).
pub const RESEAL_SSO_SECRET: &str =
    "UPDATE sso_connections SET client_secret_sealed = ?2 WHERE id = ?1 AND client_secret_sealed = ?3";
/// Connection secrets not sealed under the current key id `?1` (a SAML
/// connection has none: '').
pub const STALE_SSO_SECRETS: &str = "SELECT id, client_secret_sealed AS sealed, NULL AS previous \
     FROM sso_connections WHERE id > ?2 AND client_secret_sealed <> '' \
       AND substr(client_secret_sealed, 1, length(?1)) <> ?1 \
     ORDER BY id LIMIT ?3";

/// An org's verified domains (checked before a connection claims them).
pub const VERIFIED_DOMAINS_OF_ORG: &str =
    "SELECT domain FROM org_domains WHERE org_id = ?1 AND state = 'verified' ORDER BY domain";
/// A row of [`VERIFIED_DOMAINS_OF_ORG`].
#[derive(Debug, Clone, Deserialize)]
pub struct VerifiedDomainRow {
    pub domain: String,
}

/// Whether the org requires SSO.
pub const SSO_REQUIRED_OF_ORG: &str = "SELECT sso_required FROM orgs WHERE id = ?1";
/// A row of [`SSO_REQUIRED_OF_ORG`].
#[derive(Debug, Clone, Deserialize)]
pub struct SsoRequiredRow {
    pub sso_required: i64,
}

/// Turns `sso_required` on or off.
pub const SET_SSO_REQUIRED: &str = "UPDATE orgs SET sso_required = ?2, updated_at = ?3 WHERE id = ?1";

/// The live connection that signs in the address `?1`: enabled, on a domain
/// its org has verified. Also whether that org requires SSO.
#[derive(Debug, Clone, Deserialize)]
pub struct SsoForEmailRow {
    pub connection_id: String,
    pub org_id: String,
    pub sso_required: i64,
}
pub const SSO_FOR_EMAIL: &str = "SELECT c.id AS connection_id, c.org_id, o.sso_required \
     FROM sso_connection_domains AS s \
     JOIN sso_connections AS c ON c.id = s.connection_id AND c.enabled = 1 \
     JOIN org_domains AS d ON d.org_id = s.org_id AND d.domain = s.domain AND d.state = 'verified' \
     JOIN orgs AS o ON o.id = c.org_id \
     WHERE s.domain = lower(substr(?1, length(rtrim(?1, replace(?1, '@', ''))) + 1))";

/// Whether a sign-in of the address `?1` other than through SSO is refused:
/// an org requires SSO for its domain, with a live connection; and whether
/// the account holding `?1` is an owner of that org with 2FA on (break
/// glass).
#[derive(Debug, Clone, Deserialize)]
pub struct SsoRequirementRow {
    pub org_id: String,
    pub connection_id: String,
    pub break_glass: i64,
}
pub const SSO_REQUIREMENT: &str = "SELECT c.org_id, c.id AS connection_id, \
       EXISTS (SELECT 1 FROM org_members AS m JOIN users AS u ON u.id = m.user_id \
         WHERE m.org_id = c.org_id AND u.email = lower(?1) AND m.role = 'owner' AND u.totp_enabled = 1) AS break_glass \
     FROM sso_connection_domains AS s \
     JOIN sso_connections AS c ON c.id = s.connection_id AND c.enabled = 1 \
     JOIN org_domains AS d ON d.org_id = s.org_id AND d.domain = s.domain AND d.state = 'verified' \
     JOIN orgs AS o ON o.id = c.org_id AND o.sso_required = 1 \
     WHERE s.domain = lower(substr(?1, length(rtrim(?1, replace(?1, '@', ''))) + 1))";

/// Just-in-time membership, 1 of 2: a `member.joined` row, when the person
/// `?1` is not a member yet of the org of live connection `?2`.
pub const SSO_JOIN_AUDIT: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     SELECT ?4, c.org_id, NULL, 'user', ?1, 'member.joined', 'member', ?1, \
       json_object('via', 'domain', 'sso_connection_id', c.id, 'role', c.default_role), ?3, ?5 \
     FROM sso_connections AS c WHERE c.id = ?2 AND c.enabled = 1 \
       AND NOT EXISTS (SELECT 1 FROM org_members AS m WHERE m.org_id = c.org_id AND m.user_id = ?1)";
/// Just-in-time membership, 2 of 2: the membership with the connection's
/// role (`joined_via` 'domain': the org's verified domain let them in).
pub const SSO_JOIN_MEMBER: &str = "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at, joined_via) \
     SELECT c.org_id, ?1, c.default_role, ?3, 'domain' \
     FROM sso_connections AS c WHERE c.id = ?2 AND c.enabled = 1";

/// A SAML assertion id, once per connection until `?3` (follow with
/// GUARD_CHANGED: a replay rolls the batch back).
pub const INSERT_SAML_ASSERTION: &str = "INSERT INTO saml_used_assertions (connection_id, assertion_id, expires_at) \
     VALUES (?1, ?2, ?3) ON CONFLICT (connection_id, assertion_id) DO NOTHING";
/// Assertion ids that could no longer be accepted.
pub const FORGET_SAML_ASSERTIONS: &str = "DELETE FROM saml_used_assertions WHERE expires_at <= ?1";
