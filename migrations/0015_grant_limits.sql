-- Grants a workspace's owner creates, logged to limit them (see
-- domain::grant_limits): every grant counts towards its workspace's window,
-- grants by slug (unsolicited) also towards the target org's. No foreign key
-- to the workspace: deleting a workspace must not give its grants back.
CREATE TABLE grant_changes (
  workspace_id TEXT NOT NULL,
  org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  by_slug      INTEGER NOT NULL,
  changed_at   INTEGER NOT NULL
);
CREATE INDEX grant_changes_by_workspace ON grant_changes (workspace_id, changed_at);
CREATE INDEX grant_changes_by_org ON grant_changes (org_id, by_slug, changed_at);

-- An org that relinquished a workspace refuses its further grants by slug;
-- accepting one of the org's install links (the org asking again) lifts it.
CREATE TABLE grant_refusals (
  org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (org_id, workspace_id)
);
CREATE INDEX grant_refusals_by_workspace ON grant_refusals (workspace_id);
