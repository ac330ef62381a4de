-- The role an org's directory (SCIM) gives a member through their groups, in
-- one place: `admin` if a group of theirs is named admin; else the custom role
-- of the group they joined last whose name is one of the org's roles; else
-- `member`. The statement that sets the role and the audit row that records
-- the change (with `from` and `to`) both read it. Owners are never changed by
-- it (the statements say so), and only active Users are (likewise).
CREATE VIEW scim_group_roles AS
SELECT m.org_id AS org_id, m.user_id AS user_id, COALESCE(
    (SELECT 'admin' FROM scim_group_members AS gm JOIN scim_groups AS g ON g.id = gm.group_id
       WHERE gm.org_id = m.org_id AND gm.user_id = m.user_id AND g.role_key = 'admin' LIMIT 1),
    (SELECT r.key FROM scim_group_members AS gm JOIN scim_groups AS g ON g.id = gm.group_id
       JOIN org_roles AS r ON r.org_id = m.org_id AND r.key = g.role_key
       WHERE gm.org_id = m.org_id AND gm.user_id = m.user_id
       ORDER BY gm.added_at DESC, gm.group_id DESC LIMIT 1),
    'member') AS role
FROM org_members AS m;
