-- For each person whose org holds a grant on a workspace: the first org (by
-- grant time, then id) through which the grant lets them in, and the first
-- whose 2FA rule keeps them out (as `{id, name}` JSON), both from the
-- workspace_reach view (migration 0032), which holds the rule. Read by the
-- statements that show a workspace to one person (WORKSPACE_FOR_USER,
-- SHARED_WITH_ME), always with the person (and the workspace) bound, which
-- SQLite pushes into the view: a person's own grants, found by index.
CREATE VIEW workspace_reach_first AS
SELECT k.workspace_id AS workspace_id, k.user_id AS user_id, via.id AS via_org_id, via.name AS via_org_name,
       (SELECT json_object('id', r.org_id, 'name', r.org_name) FROM workspace_reach AS r
          WHERE r.workspace_id = k.workspace_id AND r.user_id = k.user_id AND NOT r.meets_2fa
          ORDER BY r.granted_at, r.org_id LIMIT 1) AS needs_2fa_org
FROM (SELECT DISTINCT workspace_id, user_id FROM workspace_reach) AS k
LEFT JOIN orgs AS via ON via.id = (SELECT r.org_id FROM workspace_reach AS r
          WHERE r.workspace_id = k.workspace_id AND r.user_id = k.user_id AND r.meets_2fa
          ORDER BY r.granted_at, r.org_id LIMIT 1);
