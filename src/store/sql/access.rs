//! The resolver's guards: statements that open a one-round-trip write and
//! roll the whole batch back (`json('guard')` is malformed JSON) unless the
//! caller may do it, by the same rule the resolver applies in Rust. The
//! roles and flags they are bound with come from the policy table
//! (`app::access::GuardRule`), never from here.

/// A live session (`?1` session, `?2` user, `?3` now) of an account that is
/// not suspended (as in every guard here); with `?4 = 1`, of a person whose
/// email address is verified.
pub const GUARD_LIVE_SESSION: &str = "SELECT json(CASE WHEN EXISTS (SELECT 1 FROM sessions s \
       JOIN users u ON u.id = s.user_id \
       WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3 AND u.suspended_at IS NULL \
         AND (?4 = 0 OR u.email_verified_at IS NOT NULL)) \
     THEN '1' ELSE 'guard' END) AS ok";

/// A live session (`?1`, `?2`, `?3` as above) of a member of org `?4` whose
/// role is one of `?5`..`?7`, or (`?10` not null: a JSON array of the
/// permissions needed, which a custom role may hold) one of the org's custom
/// roles holding every one of `?10`; with `?8 = 1` the org's 2FA rule applies (as
/// [`MEETS_TWO_FACTOR_RULE`] writes it),
/// with `?9 = 1` the person must have 2FA on whatever the org says.
pub const GUARD_ORG_ROLE: &str = "SELECT json(CASE WHEN EXISTS (SELECT 1 FROM sessions s \
       JOIN users u ON u.id = s.user_id \
       JOIN org_members m ON m.org_id = ?4 AND m.user_id = s.user_id \
       JOIN orgs o ON o.id = m.org_id \
       WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3 AND u.suspended_at IS NULL \
         AND (m.role IN (?5, ?6, ?7) OR (?10 IS NOT NULL AND EXISTS (SELECT 1 FROM org_roles r \
              WHERE r.org_id = m.org_id AND r.key = m.role AND NOT EXISTS (SELECT 1 FROM json_each(?10) n \
                WHERE NOT EXISTS (SELECT 1 FROM json_each(r.permissions) h WHERE h.value = n.value))))) \
         AND (?8 = 0 OR (o.require_2fa = 0 OR u.totp_enabled <> 0 OR (o.require_2fa = 2 AND m.role = 'member'))) \
         AND (?9 = 0 OR u.totp_enabled <> 0)) \
     THEN '1' ELSE 'guard' END) AS ok";

/// A live session (`?1`, `?2`, `?3` as above) of someone in workspace `?4`
/// with a direct role among `?5`..`?7`; or, with `?8 = 1` (the permission is
/// a grant admin's), someone without a direct owner or admin seat whom a
/// grant reaches through an org whose 2FA rule they meet (by their role in
/// that org: [`MEETS_TWO_FACTOR_RULE`]).
pub const GUARD_WORKSPACE_ROLE: &str = "SELECT json(CASE WHEN EXISTS (SELECT 1 FROM sessions s \
       JOIN users su ON su.id = s.user_id \
       WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3 AND su.suspended_at IS NULL) \
     AND (EXISTS (SELECT 1 FROM workspace_members wm \
            WHERE wm.workspace_id = ?4 AND wm.user_id = ?2 AND wm.role IN (?5, ?6, ?7)) \
       OR (?8 = 1 \
         AND NOT EXISTS (SELECT 1 FROM workspace_members wm \
            WHERE wm.workspace_id = ?4 AND wm.user_id = ?2 AND wm.role IN ('owner', 'admin')) \
         AND EXISTS (SELECT 1 FROM workspace_reach r WHERE r.workspace_id = ?4 AND r.user_id = ?2 AND r.meets_2fa))) \
     THEN '1' ELSE 'guard' END) AS ok";

/// How every statement writes "the person meets their org's 2FA rule" (over
/// `o` the org, `u` the person, `m` their membership of `o`): the rule is off
/// (0), they have 2FA on, or the rule binds admins and owners only (2) and
/// they are a member. `domain::policy::TwoFactorRule::binds` in SQL; a test
/// holds `GUARD_ORG_ROLE` and the `workspace_reach` view (migration 0032),
/// which every workspace statement reads the rule through, to this text, and
/// another runs it against the domain rule for every stored value, role and
/// 2FA state.
pub const MEETS_TWO_FACTOR_RULE: &str =
    "SELECT (o.require_2fa = 0 OR u.totp_enabled <> 0 OR (o.require_2fa = 2 AND m.role = 'member')) AS ok \
     FROM (SELECT ?1 AS require_2fa) o, (SELECT ?2 AS totp_enabled) u, (SELECT ?3 AS role) m";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::domain::policy::{TwoFactorRule, ROLES};
    use crate::store::sql::{SHARED_WITH_ME, WORKSPACE_FOR_USER};

    /// The rule's SQL text, as the statements embed it.
    fn fragment() -> &'static str {
        let body = MEETS_TWO_FACTOR_RULE.trim_start_matches("SELECT ");
        &body[..body.find(" AS ok").unwrap_or(body.len())]
    }

    #[test]
    fn the_two_factor_rule_in_sql_is_the_domain_rule() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for rule in TwoFactorRule::ALL {
            for role in ROLES {
                for has_2fa in [false, true] {
                    let meets: bool = db
                        .query_row(
                            MEETS_TWO_FACTOR_RULE,
                            rusqlite::params![rule.stored(), i64::from(has_2fa), role.as_str()],
                            |r| r.get(0),
                        )
                        .unwrap();
                    assert_eq!(meets, !rule.binds(role) || has_2fa, "{rule:?} {role:?} has_2fa={has_2fa}");
                }
            }
        }
    }

    /// The view of the orgs whose grants reach a person in a workspace.
    const WORKSPACE_REACH: &str = include_str!("../../../migrations/0032_workspace_reach.sql");
    /// The first org of those that reach them, per workspace and person.
    const WORKSPACE_REACH_FIRST: &str = include_str!("../../../migrations/0033_workspace_reach_first.sql");

    #[test]
    fn every_statement_that_applies_the_two_factor_rule_writes_it_the_one_way() {
        for (name, sql) in [("GUARD_ORG_ROLE", GUARD_ORG_ROLE), ("the workspace_reach view", WORKSPACE_REACH)] {
            assert!(sql.contains(fragment()), "{name} applies the rule");
            let rest = sql.replace(fragment(), "");
            assert!(!rest.contains("require_2fa"), "{name} reads require_2fa outside the one rule: {rest}");
        }
        // These apply it through the views, and read the org's rule nowhere else.
        assert!(
            WORKSPACE_REACH_FIRST.contains("FROM workspace_reach AS r")
                && WORKSPACE_REACH_FIRST.contains("r.meets_2fa")
        );
        assert!(
            !WORKSPACE_REACH_FIRST.contains("require_2fa"),
            "workspace_reach_first reads the rule from workspace_reach"
        );
        let reach = "FROM workspace_reach r WHERE r.workspace_id = ?4 AND r.user_id = ?2 AND r.meets_2fa";
        assert!(GUARD_WORKSPACE_ROLE.contains(reach), "GUARD_WORKSPACE_ROLE reads the view");
        assert!(
            !GUARD_WORKSPACE_ROLE.contains("require_2fa"),
            "GUARD_WORKSPACE_ROLE reads require_2fa outside the view"
        );
        for (name, sql) in [("WORKSPACE_FOR_USER", WORKSPACE_FOR_USER), ("SHARED_WITH_ME", SHARED_WITH_ME)] {
            assert!(sql.contains("workspace_reach_first f"), "{name} reads the view");
            assert!(!sql.contains("require_2fa"), "{name} reads require_2fa outside the view: {sql}");
        }
    }
}
