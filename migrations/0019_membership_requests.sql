-- People asking to join an org: from a join link that needs approval, or
-- from an org suggested to them by their verified email domain. Admins
-- approve (with a role) or deny; the person sees their own requests and may
-- withdraw a pending one. One pending request per person and org, enforced
-- by the index, so two requests at once cannot both be made.
CREATE TABLE membership_requests (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  via          TEXT NOT NULL CHECK (via IN ('join_link', 'suggestion')),
  join_link_id TEXT REFERENCES join_links(id) ON DELETE SET NULL,
  -- The role asked for (the link's), and once approved the role given.
  role         TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  status       TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'approved', 'denied', 'withdrawn')),
  created_at   INTEGER NOT NULL,
  decided_at   INTEGER,
  decided_by   TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX membership_requests_one_pending ON membership_requests (org_id, user_id) WHERE status = 'pending';
CREATE INDEX membership_requests_by_org ON membership_requests (org_id, created_at, id);
CREATE INDEX membership_requests_by_user ON membership_requests (user_id, created_at, id);
CREATE INDEX membership_requests_by_link ON membership_requests (join_link_id);
CREATE INDEX membership_requests_by_decider ON membership_requests (decided_by);
