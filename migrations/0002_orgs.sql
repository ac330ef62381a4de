-- Organizations, members, invitations and the audit log.

CREATE TABLE orgs (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  slug        TEXT NOT NULL UNIQUE,
  require_2fa INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE org_members (
  org_id    TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role      TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_by_user ON org_members (user_id);
CREATE INDEX org_members_owners ON org_members (org_id, role);

-- One mechanism for org and (later) workspace invitations: exactly one target.
-- The emailed token is derived from (id, send_nonce) with a server key; a
-- resend changes the nonce, so the old link's digest no longer matches.
CREATE TABLE invitations (
  id           TEXT PRIMARY KEY,
  org_id       TEXT REFERENCES orgs(id) ON DELETE CASCADE,
  workspace_id TEXT,
  email        TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  status       TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'accepted', 'revoked', 'declined', 'expired')),
  token_hash   TEXT NOT NULL UNIQUE,
  send_nonce   TEXT NOT NULL,
  invited_by   TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_sent_at INTEGER NOT NULL,
  accepted_at  INTEGER,
  accepted_by  TEXT,
  closed_at    INTEGER,
  CHECK ((org_id IS NULL) <> (workspace_id IS NULL))
);
-- At most one pending invitation per address and target: a concurrent
-- duplicate fails on this index instead of slipping past a read.
CREATE UNIQUE INDEX invitations_one_pending_org ON invitations (org_id, email) WHERE status = 'pending' AND org_id IS NOT NULL;
CREATE UNIQUE INDEX invitations_one_pending_ws ON invitations (workspace_id, email) WHERE status = 'pending' AND workspace_id IS NOT NULL;
CREATE INDEX invitations_by_org ON invitations (org_id, created_at);

-- Every invitation email sent (first send and resends), for the daily limit.
CREATE TABLE invitation_sends (
  invitation_id TEXT NOT NULL,
  org_id        TEXT REFERENCES orgs(id) ON DELETE CASCADE,
  workspace_id  TEXT,
  sent_at       INTEGER NOT NULL
);
CREATE INDEX invitation_sends_by_org ON invitation_sends (org_id, sent_at);

-- Append-only; written in the same batch as the change it records.
CREATE TABLE audit_events (
  id           TEXT PRIMARY KEY,
  org_id       TEXT REFERENCES orgs(id) ON DELETE CASCADE,
  workspace_id TEXT,
  actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'system')),
  actor_id     TEXT NOT NULL,
  action       TEXT NOT NULL,
  target_kind  TEXT NOT NULL,
  target_id    TEXT NOT NULL,
  data         TEXT NOT NULL DEFAULT '{}',
  occurred_at  INTEGER NOT NULL
);
CREATE INDEX audit_events_by_org ON audit_events (org_id, occurred_at, id);
CREATE INDEX audit_events_by_workspace ON audit_events (workspace_id, occurred_at, id);
