-- How a membership came to be, as POST /v1/authorize shows it: 'created'
-- (made the org), 'invitation', 'join_link', 'domain' (auto-join by a
-- verified domain) or 'request' (an approved membership request). NULL for
-- memberships older than this column.
ALTER TABLE org_members ADD COLUMN joined_via TEXT
  CHECK (joined_via IN ('created', 'invitation', 'join_link', 'domain', 'request'));

-- Shareable, multi-use links into an org. The token is shown once and stored
-- as its SHA-256. `uses` only grows, by the guarded statement that adds a
-- member (uses < max_uses), so two people taking the last use cannot both win.
CREATE TABLE join_links (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  token_hash      TEXT NOT NULL UNIQUE,
  role            TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  -- A JSON array of exact, lower-case domains the joiner's verified email
  -- must be on; NULL: any verified email.
  allowed_domains TEXT,
  max_uses        INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
  uses            INTEGER NOT NULL DEFAULT 0,
  -- 1: accepting makes a membership request an admin approves or denies
  -- (the request takes the use); 0: accepting makes a member.
  approval        INTEGER NOT NULL DEFAULT 0,
  created_by      TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  revoked_at      INTEGER,
  CHECK (max_uses IS NULL OR uses <= max_uses)
);
CREATE INDEX join_links_by_org ON join_links (org_id, created_at, id);
CREATE INDEX join_links_by_creator ON join_links (created_by);

-- A sign-up through a join link: the join happens when the address is
-- verified (a join link never vouches for an address), if the link still
-- works then. Bound to the verification link of that sign-up, not to the
-- account: someone else's sign-up for the same address cannot make its owner
-- join anything (their link carries the other sign-up's password).
CREATE TABLE join_intents (
  token_id   TEXT PRIMARY KEY REFERENCES email_tokens(id) ON DELETE CASCADE,
  link_id    TEXT NOT NULL REFERENCES join_links(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
);
