-- Workload identity (issue 22): trust policies let CI jobs trade their
-- provider-signed OIDC token for a short-lived API key of the org.
CREATE TABLE trust_policies (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  issuer          TEXT NOT NULL,                -- exact `iss`
  audience        TEXT NOT NULL,                -- exact `aud`
  conditions      TEXT NOT NULL,                -- JSON object: claim -> exact value
  scopes          TEXT NOT NULL,                -- space-separated permissions
  max_ttl_seconds INTEGER NOT NULL CHECK (max_ttl_seconds BETWEEN 60 AND 3600),
  created_by      TEXT REFERENCES users(id) ON DELETE SET NULL,  -- gone: the policy stops working
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX trust_policies_by_org ON trust_policies (org_id, created_at);
-- Foreign-key checks on users find a person's policies by index.
CREATE INDEX trust_policies_by_creator ON trust_policies (created_by);
-- The exchange finds candidate policies by the token's issuer and audience.
CREATE INDEX trust_policies_by_issuer ON trust_policies (issuer, audience, created_at);

-- Each token's `jti` is used once (a guarded insert); rows can be swept
-- after `expires_at` (the token's exp plus the leeway).
CREATE TABLE oidc_token_uses (
  issuer     TEXT NOT NULL,
  jti        TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  used_at    INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (issuer, jti)
) WITHOUT ROWID;

-- A temporary key (`lk_tmp_…`) names the policy it was issued under.
ALTER TABLE api_keys ADD COLUMN trust_policy_id TEXT;

-- Audit rows of exchanges name the workload (`actor_kind` 'workload',
-- `actor_id` the token's `sub`; the issuer is in `data`). SQLite cannot
-- change a CHECK in place: the table is rebuilt with the same columns, rows
-- (and rowids: lists page by insertion order), indexes and trigger. No
-- foreign key references it.
CREATE TABLE audit_events_new (
  id           TEXT PRIMARY KEY,
  org_id       TEXT REFERENCES orgs(id) ON DELETE CASCADE,
  workspace_id TEXT,
  actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'system', 'workload')),
  actor_id     TEXT NOT NULL,
  action       TEXT NOT NULL,
  target_kind  TEXT NOT NULL,
  target_id    TEXT NOT NULL,
  data         TEXT NOT NULL DEFAULT '{}',
  occurred_at  INTEGER NOT NULL,
  event_types  TEXT
);
INSERT INTO audit_events_new
  (rowid, id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types)
SELECT rowid, id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types
FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_by_org ON audit_events (org_id);
CREATE INDEX audit_events_by_workspace ON audit_events (workspace_id);
CREATE INDEX audit_events_by_user_target ON audit_events (target_kind, target_id);
CREATE TRIGGER audit_events_notify AFTER INSERT ON audit_events
WHEN NEW.event_types IS NOT NULL AND NEW.org_id IS NOT NULL
BEGIN
  INSERT INTO notification_events
    (id, audit_id, org_id, type, actor_kind, actor_id, target_kind, target_id, data, occurred_at)
  SELECT 'ntf_' || lower(hex(randomblob(16))), NEW.id, NEW.org_id, t.value, NEW.actor_kind, NEW.actor_id,
         NEW.target_kind, NEW.target_id, NEW.data, NEW.occurred_at
  FROM json_each(NEW.event_types) AS t
  WHERE EXISTS (SELECT 1 FROM notification_channels AS c, json_each(c.event_types) AS s
                WHERE c.org_id = NEW.org_id AND c.enabled = 1 AND s.value = t.value);
  INSERT INTO notification_deliveries (id, event_id, channel_id, status, attempts, next_attempt_at, created_at)
  SELECT 'dlv_' || lower(hex(randomblob(16))), e.id, c.id, 'pending', 0, NEW.occurred_at, NEW.occurred_at
  FROM notification_events AS e JOIN notification_channels AS c ON c.org_id = e.org_id AND c.enabled = 1
  WHERE e.audit_id = NEW.id AND EXISTS (SELECT 1 FROM json_each(c.event_types) AS s WHERE s.value = e.type);
END;
