-- Sign-in with GitHub, Google and GitLab (OAuth 2.0 / OpenID Connect).

-- Linked provider accounts. An identity is the provider's stable user id
-- under its issuer (two GitLab instances never collide), never an email.
-- One identity per provider per user.
CREATE TABLE oauth_identities (
  provider     TEXT NOT NULL CHECK (provider IN ('github', 'google', 'gitlab')),
  issuer       TEXT NOT NULL,
  subject      TEXT NOT NULL,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email        TEXT,                                -- as the provider last gave it (display only)
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  PRIMARY KEY (provider, issuer, subject),
  UNIQUE (user_id, provider)
);
-- A person's linked providers, in the order they are listed.
CREATE INDEX oauth_identities_by_user ON oauth_identities (user_id, created_at, provider);

-- A flow in progress: only SHA-256 digests of `state` and of the browser's
-- cookie; the PKCE verifier and nonce are derived from both and a server key,
-- so nothing here rebuilds them. 10 minutes, consumed once.
CREATE TABLE oauth_states (
  state_hash   TEXT PRIMARY KEY,
  browser_hash TEXT NOT NULL,
  provider     TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  link_user_id TEXT REFERENCES users(id) ON DELETE CASCADE, -- set when linking from settings
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  used_at      INTEGER
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
CREATE INDEX oauth_states_by_link_user ON oauth_states (link_user_id); -- deleting a user

-- The callback's result, handed to the page as a single-use 60-second login
-- code (stored as SHA-256). No provider token is kept: only who signed in.
CREATE TABLE oauth_login_codes (
  code_hash      TEXT PRIMARY KEY,
  provider       TEXT NOT NULL,
  issuer         TEXT NOT NULL,
  subject        TEXT NOT NULL,
  email          TEXT,
  email_verified INTEGER NOT NULL DEFAULT 0,
  name           TEXT,
  link_user_id   TEXT REFERENCES users(id) ON DELETE CASCADE,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  used_at        INTEGER
);
CREATE INDEX oauth_login_codes_by_expiry ON oauth_login_codes (expires_at);
CREATE INDEX oauth_login_codes_by_link_user ON oauth_login_codes (link_user_id); -- deleting a user

-- How a session (and a pending second step) began: `password` or `oauth:<provider>`.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE mfa_tokens ADD COLUMN method TEXT NOT NULL DEFAULT 'password';

-- A person's own security log (sign-ins with a provider, links, unlinks):
-- audit rows with neither org nor workspace, about the user.
CREATE INDEX audit_events_by_user_target ON audit_events (target_kind, target_id);
