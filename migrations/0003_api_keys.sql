-- API keys: owned by an org, scoped, stored only as SHA-256.
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  start        TEXT NOT NULL,                 -- lk_ and 6 characters, for lists
  scopes       TEXT NOT NULL,                 -- space-separated permissions
  created_by   TEXT REFERENCES users(id) ON DELETE SET NULL,  -- keys outlive their creator
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,                       -- may be in the future: the end of a rotation's grace period
  last_used_at INTEGER,
  rotated_to   TEXT
);
CREATE INDEX api_keys_by_org ON api_keys (org_id, created_at);
