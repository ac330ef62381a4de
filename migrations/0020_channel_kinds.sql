-- Notification channel kinds (issue 23, part 3): besides signed webhooks,
-- Slack and Discord incoming webhooks and email to confirmed addresses.
--
-- `kind` defaults to `webhook`, so every existing channel stays one. Only a
-- webhook has a signing secret: for the other kinds `secret` is '' (a Slack
-- or Discord URL is itself the secret; an email channel has no URL, `url` '').
ALTER TABLE notification_channels ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook'
  CHECK (kind IN ('webhook', 'slack', 'discord', 'email'));

-- An email channel's addresses (1..10). Each receives nothing until it is
-- confirmed through the link emailed to it; the link's token is derived from
-- the row id (the queue carries only the id) and stored here as its SHA-256.
CREATE TABLE notification_channel_emails (
  id            TEXT PRIMARY KEY,                 -- nce_…
  channel_id    TEXT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
  email         TEXT NOT NULL,
  token_hash    TEXT NOT NULL,
  expires_at    INTEGER NOT NULL,                 -- the link's end (unconfirmed only)
  confirmed_at  INTEGER,
  created_at    INTEGER NOT NULL,
  UNIQUE (channel_id, email)
);
CREATE UNIQUE INDEX notification_channel_emails_by_token ON notification_channel_emails (token_hash);
