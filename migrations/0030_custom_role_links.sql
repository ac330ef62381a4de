-- Custom roles (issue 24) for join links and membership requests: a link may
-- make members with one of its org's custom roles, and an admin may approve
-- a request with one. Both tables held only 'admin' or 'member' (a CHECK,
-- which SQLite changes only by rebuilding the table).
--
-- join_intents and membership_requests reference join_links, and dropping a
-- referenced table deletes its rows first (ON DELETE CASCADE would empty
-- join_intents): so the two children are copied and dropped first, the
-- parent rebuilt, and the children renamed into place after it (a rename
-- rewrites the references that name the renamed table).
CREATE TABLE join_links_new (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  token_hash      TEXT NOT NULL UNIQUE,
  -- 'admin', 'member' or the key of one of the org's custom roles; never owner.
  role            TEXT NOT NULL CHECK (length(role) BETWEEN 3 AND 40 AND role <> 'owner'),
  allowed_domains TEXT,
  max_uses        INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
  uses            INTEGER NOT NULL DEFAULT 0,
  approval        INTEGER NOT NULL DEFAULT 0,
  created_by      TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  revoked_at      INTEGER,
  CHECK (max_uses IS NULL OR uses <= max_uses)
);
INSERT INTO join_links_new (id, org_id, token_hash, role, allowed_domains, max_uses, uses, approval, created_by,
  created_at, expires_at, revoked_at)
SELECT id, org_id, token_hash, role, allowed_domains, max_uses, uses, approval, created_by,
  created_at, expires_at, revoked_at FROM join_links;

CREATE TABLE join_intents_new (
  token_id   TEXT PRIMARY KEY REFERENCES email_tokens(id) ON DELETE CASCADE,
  link_id    TEXT NOT NULL REFERENCES join_links_new(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
);
INSERT INTO join_intents_new (token_id, link_id, created_at) SELECT token_id, link_id, created_at FROM join_intents;

CREATE TABLE membership_requests_new (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  via          TEXT NOT NULL CHECK (via IN ('join_link', 'suggestion')),
  join_link_id TEXT REFERENCES join_links_new(id) ON DELETE SET NULL,
  -- The role asked for (the link's), and once approved the role given:
  -- 'admin', 'member' or one of the org's custom roles; never owner.
  role         TEXT NOT NULL CHECK (length(role) BETWEEN 3 AND 40 AND role <> 'owner'),
  status       TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'approved', 'denied', 'withdrawn')),
  created_at   INTEGER NOT NULL,
  decided_at   INTEGER,
  decided_by   TEXT REFERENCES users(id) ON DELETE SET NULL
);
INSERT INTO membership_requests_new (id, org_id, user_id, via, join_link_id, role, status, created_at, decided_at,
  decided_by)
SELECT id, org_id, user_id, via, join_link_id, role, status, created_at, decided_at, decided_by
FROM membership_requests;

DROP TABLE join_intents;
DROP TABLE membership_requests;
DROP TABLE join_links;
ALTER TABLE join_links_new RENAME TO join_links;
ALTER TABLE join_intents_new RENAME TO join_intents;
ALTER TABLE membership_requests_new RENAME TO membership_requests;

CREATE INDEX join_links_by_org ON join_links (org_id, created_at, id);
CREATE INDEX join_links_by_creator ON join_links (created_by);
-- Deleting a role checks the links that still give it.
CREATE INDEX join_links_by_role ON join_links (org_id, role) WHERE revoked_at IS NULL;
CREATE INDEX join_intents_by_link ON join_intents (link_id);
CREATE UNIQUE INDEX membership_requests_one_pending ON membership_requests (org_id, user_id) WHERE status = 'pending';
CREATE INDEX membership_requests_by_org ON membership_requests (org_id, created_at, id);
CREATE INDEX membership_requests_by_user ON membership_requests (user_id, created_at, id);
CREATE INDEX membership_requests_by_link ON membership_requests (join_link_id);
CREATE INDEX membership_requests_by_decider ON membership_requests (decided_by);
-- Deleting a role checks the pending requests that ask for it.
CREATE INDEX membership_requests_pending_by_role ON membership_requests (org_id, role) WHERE status = 'pending';

-- As for members and invitations (0026): a role that is neither built in
-- nor one of the org's roles never lands in a row, whatever writes it.
CREATE TRIGGER join_links_known_role BEFORE INSERT ON join_links
WHEN NEW.role NOT IN ('admin', 'member')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;
CREATE TRIGGER membership_requests_known_role_insert BEFORE INSERT ON membership_requests
WHEN NEW.role NOT IN ('admin', 'member')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;
CREATE TRIGGER membership_requests_known_role_update BEFORE UPDATE OF role ON membership_requests
WHEN NEW.role NOT IN ('admin', 'member')
  AND NOT EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = NEW.org_id AND r.key = NEW.role)
BEGIN SELECT RAISE(ABORT, 'unknown role'); END;
