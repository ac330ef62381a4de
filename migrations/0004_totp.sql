-- Two-factor authentication (TOTP, RFC 6238) and recovery codes.
CREATE TABLE totp_credentials (
  user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret_enc      TEXT NOT NULL,                -- AES-256-GCM with TOTP_ENCRYPTION_KEY
  confirmed_at    INTEGER,                      -- NULL while enrolment is pending
  last_step       INTEGER,                      -- the last accepted time step: only later ones pass
  failed_attempts INTEGER NOT NULL DEFAULT 0,   -- consecutive wrong codes, reset by a right one
  locked_until    INTEGER,
  created_at      INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER,
  PRIMARY KEY (user_id, code_hash)
);

-- The second step of a login: single use, 5 minutes, 5 wrong codes at most.
CREATE TABLE mfa_tokens (
  token_hash      TEXT PRIMARY KEY,
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  used_at         INTEGER,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  user_agent      TEXT
);
