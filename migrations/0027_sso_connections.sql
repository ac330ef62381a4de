-- Single sign-on (issue 24): an org's own OpenID Connect identity provider
-- signs in the addresses on its verified domains.
CREATE TABLE sso_connections (
  id                     TEXT PRIMARY KEY,            -- ssc_…
  org_id                 TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  type                   TEXT NOT NULL CHECK (type IN ('oidc')),
  name                   TEXT NOT NULL,
  issuer                 TEXT NOT NULL,               -- exact `iss` of its ID tokens
  client_id              TEXT NOT NULL,
  client_secret_sealed   TEXT NOT NULL,               -- domain::sealed, purpose SsoClientSecret
  authorization_endpoint TEXT NOT NULL,               -- from the issuer's discovery document
  token_endpoint         TEXT NOT NULL,
  default_role           TEXT NOT NULL CHECK (default_role IN ('admin', 'member')),
  enabled                INTEGER NOT NULL DEFAULT 1,
  created_by             TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL
);
CREATE INDEX sso_connections_by_org ON sso_connections (org_id, created_at, id);
CREATE INDEX sso_connections_by_creator ON sso_connections (created_by);

-- The domains a connection signs in: each one of its org's verified domains,
-- and each domain at most one connection (the primary key).
CREATE TABLE sso_connection_domains (
  domain        TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
  org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX sso_connection_domains_by_connection ON sso_connection_domains (connection_id, domain);
CREATE INDEX sso_connection_domains_by_org ON sso_connection_domains (org_id);

-- Password and provider sign-ins of addresses on the org's SSO domains are
-- refused (an owner with 2FA keeps a way in: break glass).
ALTER TABLE orgs ADD COLUMN sso_required INTEGER NOT NULL DEFAULT 0;
