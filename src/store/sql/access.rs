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
/// role is one of `?5`..`?7`; with `?8 = 1` the org's `require_2fa` applies,
/// with `?9 = 1` the person must have 2FA on whatever the org says.
pub const GUARD_ORG_ROLE: &str = "SELECT json(CASE WHEN EXISTS (SELECT 1 FROM sessions s \
       JOIN users u ON u.id = s.user_id \
       JOIN org_members m ON m.org_id = ?4 AND m.user_id = s.user_id \
       JOIN orgs o ON o.id = m.org_id \
       WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3 AND u.suspended_at IS NULL \
         AND m.role IN (?5, ?6, ?7) \
         AND (?8 = 0 OR o.require_2fa = 0 OR u.totp_enabled <> 0) \
         AND (?9 = 0 OR u.totp_enabled <> 0)) \
     THEN '1' ELSE 'guard' END) AS ok";

/// A live session (`?1`, `?2`, `?3` as above) of someone in workspace `?4`
/// with a direct role among `?5`..`?7`; or, with `?8 = 1` (the permission is
/// a grant admin's), someone without a direct owner or admin seat whom a
/// grant reaches through an org whose `require_2fa` they meet.
pub const GUARD_WORKSPACE_ROLE: &str = "SELECT json(CASE WHEN EXISTS (SELECT 1 FROM sessions s \
       JOIN users su ON su.id = s.user_id \
       WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3 AND su.suspended_at IS NULL) \
     AND (EXISTS (SELECT 1 FROM workspace_members wm \
            WHERE wm.workspace_id = ?4 AND wm.user_id = ?2 AND wm.role IN (?5, ?6, ?7)) \
       OR (?8 = 1 \
         AND NOT EXISTS (SELECT 1 FROM workspace_members wm \
            WHERE wm.workspace_id = ?4 AND wm.user_id = ?2 AND wm.role IN ('owner', 'admin')) \
         AND EXISTS (SELECT 1 FROM workspace_grants g \
            JOIN org_members m ON m.org_id = g.org_id AND m.user_id = ?2 \
            JOIN orgs o ON o.id = g.org_id JOIN users u ON u.id = m.user_id \
            WHERE g.workspace_id = ?4 AND (o.require_2fa = 0 OR u.totp_enabled <> 0)))) \
     THEN '1' ELSE 'guard' END) AS ok";
