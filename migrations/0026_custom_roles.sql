-- Custom roles (issue 24): an org's own roles, each a named set of
-- permissions from the one table (`domain::policy`), beside the built-in
-- owner, admin and member. A member, an org invitation, holds either a
-- built-in role or the key of one of its org's custom roles.
CREATE TABLE org_roles (
  org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  -- A slug (3-40 of a-z, 0-9, '-'); never a built-in role's name.
  key         TEXT NOT NULL CHECK (key NOT IN ('owner', 'admin', 'member')),
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  -- A JSON array of permission names (`org:read`, ...), never a
  -- person-only or owner-only one (checked by the use case).
  permissions TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (org_id, key)
);

-- org_members and invitations held only the built-in names (a CHECK, which
-- SQLite changes only by rebuilding the table, as 0024 did for audit_events).
-- No table references either of them.
CREATE TABLE org_members_new (
  org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (length(role) BETWEEN 3 AND 40),
  joined_at  INTEGER NOT NULL,
  joined_via TEXT CHECK (joined_via IN ('created', 'invitation', 'join_link', 'domain', 'request')),
  PRIMARY KEY (org_id, user_id)
);
INSERT INTO org_members_new (org_id, user_id, role, joined_at, joined_via)
SELECT org_id, user_id, role, joined_at, joined_via FROM org_members;
DROP TABLE org_members;
ALTER TABLE org_members_new RENAME TO org_members;
CREATE INDEX org_members_by_user ON org_members (user_id);
CREATE INDEX org_members_owners ON org_members (org_id, role);
CREATE INDEX org_members_by_join ON org_members (org_id, joined_at, user_id);

CREATE TABLE invitations_new (
  id              TEXT PRIMARY KEY,
  org_id          TEXT REFERENCES orgs(id) ON DELETE CASCADE,
  workspace_id    TEXT,
  email           TEXT NOT NULL,
  -- Workspaces have the built-in roles only.
  role            TEXT NOT NULL CHECK (length(role) BETWEEN 3 AND 40
                    AND (workspace_id IS NULL OR role IN ('owner', 'admin', 'member'))),
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'accepted', 'revoked', 'declined', 'expired')),
  token_hash      TEXT NOT NULL UNIQUE,
  send_nonce      TEXT NOT NULL,
  invited_by      TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  last_sent_at    INTEGER NOT NULL,
  accepted_at     INTEGER,
  accepted_by     TEXT,
  closed_at       INTEGER,
  delivered_nonce TEXT,
  expiry_recorded INTEGER NOT NULL DEFAULT 0,
  CHECK ((org_id IS NULL) <> (workspace_id IS NULL))
);
INSERT INTO invitations_new (id, org_id, workspace_id, email, role, status, token_hash, send_nonce, invited_by,
  created_at, expires_at, last_sent_at, accepted_at, accepted_by, closed_at, delivered_nonce, expiry_recorded)
SELECT id, org_id, workspace_id, email, role, status, token_hash, send_nonce, invited_by,
  created_at, expires_at, last_sent_at, accepted_at, accepted_by, closed_at, delivered_nonce, expiry_recorded
FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
CREATE UNIQUE INDEX invitations_one_pending_org ON invitations (org_id, email) WHERE status = 'pending' AND org_id IS NOT NULL;
CREATE UNIQUE INDEX invitations_one_pending_ws ON invitations (workspace_id, email) WHERE status = 'pending' AND workspace_id IS NOT NULL;
CREATE INDEX invitations_by_org ON invitations (org_id, created_at, id);
CREATE INDEX invitations_by_workspace ON invitations (workspace_id, created_at, id);
CREATE INDEX invitations_by_inviter ON invitations (invited_by);
-- Deleting a role checks its pending invitations by role.
CREATE INDEX invitations_pending_by_role ON invitations (org_id, role) WHERE status = 'pending';

-- A role name that is neither built in nor one of the org's roles never
-- lands in a row, whatever statement writes it: the use cases check first
-- (422), and a role deleted meanwhile fails here rather than dangling.
CREATE TRIGGER org_members_known_role_insert BEFORE INSERT ON org_members
WHEN NEW.role NOT IN ('owner', 'admin', 'member')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;
CREATE TRIGGER org_members_known_role_update BEFORE UPDATE OF role ON org_members
WHEN NEW.role NOT IN ('owner', 'admin', 'member')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;
CREATE TRIGGER invitations_known_role_insert BEFORE INSERT ON invitations
WHEN NEW.org_id IS NOT NULL AND NEW.role NOT IN ('owner', 'admin', 'member')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;

-- A verified domain may auto-join people with one of the org's custom roles
-- (never owner). org_domains is referenced by no table.
CREATE TABLE org_domains_new (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  domain      TEXT NOT NULL,
  txt_value   TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'verified', 'lapsed')),
  enrollment  TEXT NOT NULL DEFAULT 'none' CHECK (enrollment IN ('none', 'suggest', 'auto_join')),
  join_role   TEXT NOT NULL DEFAULT 'member' CHECK (length(join_role) BETWEEN 3 AND 40 AND join_role <> 'owner'),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  verified_at INTEGER,
  checked_at  INTEGER,
  next_check_at INTEGER,
  lapsed_at   INTEGER
);
INSERT INTO org_domains_new (id, org_id, domain, txt_value, state, enrollment, join_role, created_at, updated_at,
  verified_at, checked_at, next_check_at, lapsed_at)
SELECT id, org_id, domain, txt_value, state, enrollment, join_role, created_at, updated_at,
  verified_at, checked_at, next_check_at, lapsed_at FROM org_domains;
DROP TABLE org_domains;
ALTER TABLE org_domains_new RENAME TO org_domains;
CREATE UNIQUE INDEX org_domains_once_per_org ON org_domains (org_id, domain);
CREATE UNIQUE INDEX org_domains_one_verified ON org_domains (domain) WHERE state = 'verified';
CREATE INDEX org_domains_recheck ON org_domains (next_check_at) WHERE state = 'verified';
-- Deleting a role checks the domains that give it.
CREATE INDEX org_domains_by_role ON org_domains (org_id, join_role);
CREATE TRIGGER org_domains_known_role BEFORE UPDATE OF join_role ON org_domains
WHEN NEW.join_role NOT IN ('member', 'admin')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.join_role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;
