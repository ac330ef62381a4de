-- SCIM 2.0 provisioning (issue 24): an org's directory (Okta, Entra ID, ...)
-- creates, changes and ends the memberships of the addresses on its verified
-- domains through `/scim/v2/{org_id}/...`, with a per-org SCIM token.

-- The tokens: stored as SHA-256 of the whole token (`lk_scim_...`), shown once.
-- Revoking deletes the row: the token is unknown from then on.
CREATE TABLE scim_tokens (
  id           TEXT PRIMARY KEY,                -- sct_…
  org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  start        TEXT NOT NULL,                   -- lk_scim_ and 6 characters, for lists
  created_by   TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER
);
CREATE INDEX scim_tokens_by_org ON scim_tokens (org_id, created_at, id);
CREATE INDEX scim_tokens_by_creator ON scim_tokens (created_by);

-- The SCIM User resources of an org: one account each (the resource id is the
-- user id). `active = 1` goes with a membership of the org; `active = 0` keeps
-- the resource (the directory still knows the person) without a membership.
-- A member with an active row is managed by SCIM: read-only elsewhere.
CREATE TABLE scim_users (
  org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  user_name   TEXT NOT NULL,                    -- the address, lowercased
  external_id TEXT,
  given_name  TEXT,
  family_name TEXT,
  active      INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE UNIQUE INDEX scim_users_by_name ON scim_users (org_id, user_name);
CREATE INDEX scim_users_by_external ON scim_users (org_id, external_id);
CREATE INDEX scim_users_by_join ON scim_users (org_id, created_at, user_id);
CREATE INDEX scim_users_by_user ON scim_users (user_id);

-- The SCIM Group resources: a group named like a role (`admin`, `member` or
-- a custom role's key, case-insensitively) gives its members that role.
CREATE TABLE scim_groups (
  id           TEXT PRIMARY KEY,                -- scg_…
  org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  role_key     TEXT NOT NULL,                   -- lower(trim(display_name))
  external_id  TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX scim_groups_by_name ON scim_groups (org_id, role_key);
CREATE INDEX scim_groups_by_org ON scim_groups (org_id, created_at, id);
CREATE INDEX scim_groups_by_external ON scim_groups (org_id, external_id);

CREATE TABLE scim_group_members (
  group_id  TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
  org_id    TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  added_at  INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX scim_group_members_by_user ON scim_group_members (org_id, user_id, added_at, group_id);
CREATE INDEX scim_group_members_of_user ON scim_group_members (user_id);

-- Audit rows of SCIM changes name the token (`actor_kind` 'scim_token',
-- `actor_id` its `sct_` id). SQLite cannot change a CHECK in place: the table
-- is rebuilt as 0024 did (same columns, rows and rowids, indexes, trigger).
CREATE TABLE audit_events_new (
  id           TEXT PRIMARY KEY,
  org_id       TEXT REFERENCES orgs(id) ON DELETE CASCADE,
  workspace_id TEXT,
  actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'system', 'workload', 'scim_token')),
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
