-- Verified domains: an org proves it holds a DNS name by publishing a TXT
-- record (`_latchkey-verification.<domain>` = `txt_value`), looked up over
-- DNS-over-HTTPS. A verified domain may suggest the org to, or auto-join,
-- people whose verified email is on it. Exact names only: `a.example.com`
-- is its own domain, never covered by `example.com`.
CREATE TABLE org_domains (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  -- Lower-case A-labels, no trailing dot.
  domain      TEXT NOT NULL,
  -- The record's expected value; public by design (it is published in DNS).
  txt_value   TEXT NOT NULL,
  -- 'lapsed': the daily re-check found the record gone; it grants nothing
  -- until verified again.
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'verified', 'lapsed')),
  enrollment  TEXT NOT NULL DEFAULT 'none' CHECK (enrollment IN ('none', 'suggest', 'auto_join')),
  join_role   TEXT NOT NULL DEFAULT 'member' CHECK (join_role IN ('member', 'admin')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  verified_at INTEGER,
  -- The last look-up that found the record.
  checked_at  INTEGER,
  -- When the scheduled re-check looks at a verified domain next (a day
  -- after a look-up that found the record; sooner after one that failed).
  next_check_at INTEGER,
  lapsed_at   INTEGER
);
CREATE UNIQUE INDEX org_domains_once_per_org ON org_domains (org_id, domain);
-- One org per verified domain: two orgs verifying at once cannot both win.
CREATE UNIQUE INDEX org_domains_one_verified ON org_domains (domain) WHERE state = 'verified';
-- The re-check's queue.
CREATE INDEX org_domains_recheck ON org_domains (next_check_at) WHERE state = 'verified';

-- Auto-joins made, by (org, domain, person): a person joins through a domain
-- once. Whoever leaves or is removed is not added back at the next sign-in,
-- nor after the domain is removed and added again (hence the name, not the
-- row id). Rows stay after the membership ends; that is the point.
CREATE TABLE domain_joins (
  org_id    TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  domain    TEXT NOT NULL,
  user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, domain, user_id)
);
CREATE INDEX domain_joins_by_user ON domain_joins (user_id);
