-- Flat cost as tenants grow (tests/native_query_plans.rs): every list pages
-- through an index in its own order, so page 1 000 costs what page 1 does,
-- and no statement scans a table that grows with tenants.

-- Lists ordered by (time, id): the index carries both, no sort after the seek.
DROP INDEX api_keys_by_org;
CREATE INDEX api_keys_by_org ON api_keys (org_id, created_at, id);
DROP INDEX install_links_by_org;
CREATE INDEX install_links_by_org ON install_links (org_id, created_at, id);
DROP INDEX invitations_by_org;
CREATE INDEX invitations_by_org ON invitations (org_id, created_at, id);
CREATE INDEX invitations_by_workspace ON invitations (workspace_id, created_at, id);
DROP INDEX sessions_by_user;
CREATE INDEX sessions_by_user ON sessions (user_id, created_at, id);
CREATE INDEX org_members_by_join ON org_members (org_id, joined_at, user_id);
CREATE INDEX workspace_members_by_join ON workspace_members (workspace_id, joined_at, user_id);
CREATE INDEX workspace_grants_by_workspace ON workspace_grants (workspace_id, granted_at, org_id);
DROP INDEX workspace_grants_by_org;
CREATE INDEX workspace_grants_by_org ON workspace_grants (org_id, granted_at DESC, workspace_id);

-- The audit log pages by rowid (its insertion order): an index on the tenant
-- alone is (tenant, rowid) in SQLite, which is exactly that order.
DROP INDEX audit_events_by_org;
CREATE INDEX audit_events_by_org ON audit_events (org_id);
DROP INDEX audit_events_by_workspace;
CREATE INDEX audit_events_by_workspace ON audit_events (workspace_id);

-- Daily invitation limits of a workspace count its sends of the last day.
CREATE INDEX invitation_sends_by_workspace ON invitation_sends (workspace_id, sent_at);

-- Foreign keys to users: deleting (or, with deferred checks, inserting) a
-- user must not scan these tables.
CREATE INDEX api_keys_by_creator ON api_keys (created_by);
CREATE INDEX mfa_tokens_by_user ON mfa_tokens (user_id);
CREATE INDEX invitations_by_inviter ON invitations (invited_by);
