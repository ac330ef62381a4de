-- Access reviews (issue 23, part 5).
--
-- When each person was last active: their most recent sign-in (a session
-- opens), use of a session (its refresh), or use of an API key they created
-- (a key's `last_used_at`, itself written at most once a minute after the
-- response). Kept by triggers on the rows those writes already touch, so no
-- request path gains a statement or a round trip, and every way of signing
-- in counts without being listed.
ALTER TABLE users ADD COLUMN last_active_at INTEGER;

UPDATE users SET last_active_at = (
  SELECT MAX(t) FROM (
    SELECT MAX(s.last_used_at) AS t FROM sessions s WHERE s.user_id = users.id
    UNION ALL
    SELECT MAX(k.last_used_at) FROM api_keys k WHERE k.created_by = users.id
  )
);

CREATE TRIGGER users_active_on_sign_in AFTER INSERT ON sessions
BEGIN
  UPDATE users SET last_active_at = NEW.last_used_at
   WHERE id = NEW.user_id AND (last_active_at IS NULL OR last_active_at < NEW.last_used_at);
END;

CREATE TRIGGER users_active_on_session_use AFTER UPDATE OF last_used_at ON sessions
BEGIN
  UPDATE users SET last_active_at = NEW.last_used_at
   WHERE id = NEW.user_id AND (last_active_at IS NULL OR last_active_at < NEW.last_used_at);
END;

CREATE TRIGGER users_active_on_key_use AFTER UPDATE OF last_used_at ON api_keys
WHEN NEW.created_by IS NOT NULL AND NEW.last_used_at IS NOT NULL
BEGIN
  UPDATE users SET last_active_at = NEW.last_used_at
   WHERE id = NEW.created_by AND (last_active_at IS NULL OR last_active_at < NEW.last_used_at);
END;

-- The 2FA rule's scope: `orgs.require_2fa` is 0 (off), 1 (everyone, what
-- `true` always meant) or 2 (admins and owners only). Existing rows keep
-- their meaning; nothing to change here.
