-- The orgs whose grants reach a person in a workspace, each with whether the
-- person meets that org's 2FA rule, written once (as MEETS_TWO_FACTOR_RULE in
-- src/store/sql/access.rs writes it, by the person's role in that org). The
-- statements that name the org a person is let in through, or the org whose
-- rule keeps them out, read it.
CREATE VIEW workspace_reach AS
SELECT g.workspace_id AS workspace_id, m.user_id AS user_id, o.id AS org_id, o.name AS org_name,
       g.granted_at AS granted_at,
       (o.require_2fa = 0 OR u.totp_enabled <> 0 OR (o.require_2fa = 2 AND m.role = 'member')) AS meets_2fa
FROM workspace_grants AS g
JOIN org_members AS m ON m.org_id = g.org_id
JOIN orgs AS o ON o.id = g.org_id
JOIN users AS u ON u.id = m.user_id;
