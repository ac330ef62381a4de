-- API keys never hold the person-only permissions (`policy::person_only`);
-- keys created before that rule lose them (no key could use them since).
UPDATE api_keys
   SET scopes = TRIM(REPLACE(REPLACE(' ' || scopes || ' ', ' org:delete ', ' '), ' billing:manage ', ' '))
 WHERE (' ' || scopes || ' ') LIKE '% org:delete %' OR (' ' || scopes || ' ') LIKE '% billing:manage %';

-- Login failure counters, one per normalised email address, whether or not an
-- account has it: an unknown address is counted, backs off and answers exactly
-- like an existing account (no enumeration through the limit). The key is the
-- SHA-256 hex of the trimmed, lowercased address, so the table keeps no
-- addresses that were merely typed at the login form.
-- `failures` leaks: every 15 quiet minutes since `last_failed_at` forgive one
-- (computed in the statement that counts, see RESERVE_LOGIN_FAILURE).
CREATE TABLE login_failures (
  email_hash     TEXT PRIMARY KEY,
  failures       INTEGER NOT NULL,
  last_failed_at INTEGER NOT NULL,
  locked_until   INTEGER
);
CREATE INDEX login_failures_by_time ON login_failures (last_failed_at);
-- users.failed_logins and users.locked_until are no longer read or written.

-- The account-wide count of wrong second-factor codes decays the same way.
ALTER TABLE totp_credentials ADD COLUMN last_failed_at INTEGER;
