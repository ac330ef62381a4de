-- Accounts, sessions, single-use email tokens and the email pipeline.
-- Times are unix seconds (INTEGER). Secrets are stored only as SHA-256 hex.

CREATE TABLE users (
  id                TEXT PRIMARY KEY,
  email             TEXT NOT NULL UNIQUE,          -- trimmed, lowercased
  name              TEXT NOT NULL,
  password_hash     TEXT,                          -- argon2id PHC; NULL for OAuth-only accounts
  email_verified_at INTEGER,
  failed_logins     INTEGER NOT NULL DEFAULT 0,    -- consecutive failures, reset by a success
  locked_until      INTEGER,                       -- back-off after 10 failures
  totp_enabled      INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);

-- Verification and reset tokens. The emailed token is derived from `id` with a
-- server key (so queue messages carry ids only); only its digest is stored.
CREATE TABLE email_tokens (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
  token_hash  TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER
);
CREATE INDEX email_tokens_by_user ON email_tokens (user_id, purpose, created_at);

-- A session is a refresh-token family: rotating tokens all point at it, and
-- reuse of a rotated token revokes it (RFC 9700 §4.14).
CREATE TABLE sessions (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,                   -- absolute: 30 days after login
  revoked_at   INTEGER,
  user_agent   TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

CREATE TABLE refresh_tokens (
  token_hash  TEXT PRIMARY KEY,
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  used_at     INTEGER                              -- set when rotated
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Sent-markers: a job id here was delivered; a duplicate delivery sends nothing.
CREATE TABLE sent_emails (
  job_id   TEXT PRIMARY KEY,
  sent_at  INTEGER NOT NULL
);

-- The development mail sink (MAILER=dev): what the consumer would have sent.
CREATE TABLE dev_emails (
  job_id     TEXT PRIMARY KEY,
  recipient  TEXT NOT NULL,
  subject    TEXT NOT NULL,
  text_body  TEXT NOT NULL,
  html_body  TEXT NOT NULL,
  sent_at    INTEGER NOT NULL
);
CREATE INDEX dev_emails_by_recipient ON dev_emails (recipient, sent_at);
