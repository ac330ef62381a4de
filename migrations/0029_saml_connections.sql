-- SAML 2.0 single sign-on (issue 24) beside OpenID Connect: a connection of
-- `type` 'saml' keeps its IdP's entityID in `issuer`, its HTTP-Redirect
-- SingleSignOnService in `authorization_endpoint`, and its signing
-- certificates (base64 DER, one per line) in `saml_certificates`; its
-- `client_id`, `client_secret_sealed` and `token_endpoint` are ''.
--
-- SQLite cannot change a CHECK constraint, so both tables are rebuilt: the
-- new ones are filled first, the domains table (the child) is dropped before
-- the connections (no cascade runs), and renaming the new connections table
-- carries the new domains table's foreign key along.
CREATE TABLE sso_connections_0029 (
  id                     TEXT PRIMARY KEY,            -- ssc_…
  org_id                 TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  type                   TEXT NOT NULL CHECK (type IN ('oidc', 'saml')),
  name                   TEXT NOT NULL,
  issuer                 TEXT NOT NULL,               -- OIDC: exact `iss`; SAML: the IdP's entityID
  client_id              TEXT NOT NULL,
  client_secret_sealed   TEXT NOT NULL,               -- domain::sealed, purpose SsoClientSecret
  authorization_endpoint TEXT NOT NULL,               -- OIDC: from discovery; SAML: SingleSignOnService
  token_endpoint         TEXT NOT NULL,
  saml_certificates      TEXT NOT NULL DEFAULT '',
  -- 'member', 'admin' or the key of one of the org's custom roles (the
  -- trigger below), never owner: what just-in-time membership gives.
  default_role           TEXT NOT NULL CHECK (length(default_role) BETWEEN 3 AND 40 AND default_role <> 'owner'),
  enabled                INTEGER NOT NULL DEFAULT 1,
  created_by             TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL
);
INSERT INTO sso_connections_0029 (id, org_id, type, name, issuer, client_id, client_secret_sealed,
    authorization_endpoint, token_endpoint, default_role, enabled, created_by, created_at, updated_at)
  SELECT id, org_id, type, name, issuer, client_id, client_secret_sealed, authorization_endpoint,
    token_endpoint, default_role, enabled, created_by, created_at, updated_at FROM sso_connections;

CREATE TABLE sso_connection_domains_0029 (
  domain        TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES sso_connections_0029(id) ON DELETE CASCADE,
  org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO sso_connection_domains_0029 (domain, connection_id, org_id)
  SELECT domain, connection_id, org_id FROM sso_connection_domains;

DROP TABLE sso_connection_domains;
DROP TABLE sso_connections;
ALTER TABLE sso_connections_0029 RENAME TO sso_connections;
ALTER TABLE sso_connection_domains_0029 RENAME TO sso_connection_domains;
CREATE INDEX sso_connections_by_org ON sso_connections (org_id, created_at, id);
CREATE INDEX sso_connections_by_creator ON sso_connections (created_by);
CREATE INDEX sso_connection_domains_by_connection ON sso_connection_domains (connection_id, domain);
CREATE INDEX sso_connection_domains_by_org ON sso_connection_domains (org_id);

-- As for members (0026): a role that is neither built in nor one of the
-- org's roles never lands in a connection, whatever writes it.
CREATE INDEX sso_connections_by_role ON sso_connections (org_id, default_role);
CREATE TRIGGER sso_connections_known_role_insert BEFORE INSERT ON sso_connections
WHEN NEW.default_role NOT IN ('admin', 'member')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.default_role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;
CREATE TRIGGER sso_connections_known_role_update BEFORE UPDATE OF default_role ON sso_connections
WHEN NEW.default_role NOT IN ('admin', 'member')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.default_role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;

-- Assertion ids a SAML connection has accepted, kept until the assertion
-- could no longer be accepted (its end plus the clock skew): a replayed
-- assertion fails the primary key.
CREATE TABLE saml_used_assertions (
  connection_id TEXT NOT NULL,
  assertion_id  TEXT NOT NULL,
  expires_at    INTEGER NOT NULL,
  PRIMARY KEY (connection_id, assertion_id)
) WITHOUT ROWID;
CREATE INDEX saml_used_assertions_by_expiry ON saml_used_assertions (expires_at);
