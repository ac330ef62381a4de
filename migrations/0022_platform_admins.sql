-- Platform administrators (PLATFORM_ADMINS, people with 2FA on) act on
-- accounts: suspend and unsuspend them, reset their 2FA. A suspended
-- account's sessions and the API keys it created stop at once (403
-- account_suspended); nothing is deleted, and unsuspending restores them.
ALTER TABLE users ADD COLUMN suspended_at INTEGER;
-- When an administrator last reset the account's 2FA: until the person
-- enrols again, their views say so and the console sends them to enrol.
ALTER TABLE users ADD COLUMN totp_reset_at INTEGER;

-- What administrators did, to whom (append-only; written in the same batch
-- as the action and the administrator's accepted step-up code).
CREATE TABLE platform_audit_events (
  id          TEXT PRIMARY KEY,
  admin_id    TEXT NOT NULL,
  admin_email TEXT NOT NULL,
  action      TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  user_email  TEXT NOT NULL,
  data        TEXT NOT NULL DEFAULT '{}',
  occurred_at INTEGER NOT NULL
);
CREATE INDEX platform_audit_by_time ON platform_audit_events (occurred_at, id);
CREATE INDEX platform_audit_by_user ON platform_audit_events (user_id, occurred_at);
