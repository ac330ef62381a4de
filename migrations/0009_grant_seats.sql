-- Access through a grant never outlives the grant (SECURITY.md, Authorization).
-- Before this rule, a grant admin could invite people, themself included, to a
-- workspace as direct members. Pending workspace invitations sent by someone
-- without a direct owner or admin role there are revoked, and direct seats
-- that a person obtained by inviting themself are removed.
UPDATE invitations SET status = 'revoked', closed_at = CAST(strftime('%s', 'now') AS INTEGER)
WHERE workspace_id IS NOT NULL AND status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM workspace_members d
                  WHERE d.workspace_id = invitations.workspace_id AND d.user_id = invitations.invited_by
                    AND d.role IN ('owner', 'admin'));

DELETE FROM workspace_members
WHERE role <> 'owner'
  AND EXISTS (SELECT 1 FROM invitations i
              WHERE i.workspace_id = workspace_members.workspace_id AND i.status = 'accepted'
                AND i.accepted_by = workspace_members.user_id AND i.invited_by = workspace_members.user_id);
