-- The OAuth 2.0 Device Authorization Grant (RFC 8628, issue 22): a CLI asks
-- for a device code and a short user code, a signed-in person approves (or
-- denies) the user code in the console at /device, and the CLI's polling
-- redeems the device code, once, for a session of the person who approved.
-- Both codes are stored only as digests (the user code's keyed with the
-- server's token secret: it has ~34 bits).
CREATE TABLE device_authorizations (
  id                   TEXT PRIMARY KEY,
  device_code_hash     TEXT NOT NULL UNIQUE,
  user_code_hash       TEXT NOT NULL UNIQUE,
  client_name          TEXT NOT NULL,
  requested_ip         TEXT,
  requested_user_agent TEXT,
  status               TEXT NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
  poll_interval        INTEGER NOT NULL,         -- seconds; grows by 5 on each slow_down
  last_polled_at       INTEGER,
  user_id              TEXT REFERENCES users(id) ON DELETE CASCADE,  -- who approved or denied
  decided_at           INTEGER,
  redeemed_at          INTEGER,
  created_at           INTEGER NOT NULL,
  expires_at           INTEGER NOT NULL
);
-- The scheduled sweep deletes expired rows.
CREATE INDEX device_authorizations_by_expiry ON device_authorizations (expires_at);
-- Foreign-key checks on users find a person's decisions by index.
CREATE INDEX device_authorizations_by_user ON device_authorizations (user_id);

-- A session opened by the device flow names the client that asked for it
-- (`method` is 'device'), for the session list.
ALTER TABLE sessions ADD COLUMN client_name TEXT;
