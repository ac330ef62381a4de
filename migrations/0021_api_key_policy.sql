-- API keys that get rotated (issue 23): an org's key policy, where a key was
-- last used from, and the expiry warnings already sent.

-- One row per org that set a policy; no row: no limits, warnings at 14 and 3 days.
CREATE TABLE api_key_policies (
  org_id            TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
  max_lifetime_days INTEGER,                          -- 1..3650, or no limit
  require_expiry    INTEGER NOT NULL DEFAULT 0,
  warn_before_days  TEXT NOT NULL DEFAULT '[14,3]',   -- JSON array, largest first
  updated_at        INTEGER NOT NULL                  -- who: the api_key_policy.updated audit row
);

-- Last use, coarse: the /24 (IPv4) or /48 (IPv6) network and the user agent
-- (200 characters), written with last_used_at, at most once a minute.
ALTER TABLE api_keys ADD COLUMN last_used_network TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_agent TEXT;

-- Warnings sent, once per key and threshold (days; 0 = expired): the daily
-- sweep's guarded insert, so two runs never send twice.
CREATE TABLE api_key_warnings (
  key_id    TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  threshold INTEGER NOT NULL,
  sent_at   INTEGER NOT NULL,
  PRIMARY KEY (key_id, threshold)
) WITHOUT ROWID;

-- The sweep walks keys by expiry.
CREATE INDEX api_keys_by_expiry ON api_keys (expires_at);
