-- Mail the queue gave up on, and which send of an invitation was delivered.

-- One row per undelivered job, written by the dead-letter queue's consumer
-- (idempotent: the job id is the key). `resolved_at` is set once a later send
-- of the same invitation is delivered, so the failure stops showing.
CREATE TABLE mail_failures (
  job_id      TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,              -- email_token, invitation, account_exists or unreadable
  subject_id  TEXT NOT NULL,              -- the token, invitation or account id ('' if unreadable)
  reason      TEXT NOT NULL,
  failed_at   INTEGER NOT NULL,
  resolved_at INTEGER
);
CREATE INDEX mail_failures_open ON mail_failures (kind, subject_id) WHERE resolved_at IS NULL;

-- The send nonce whose email the mail API accepted: equal to `send_nonce`
-- means the current link was delivered. Invitations from before this column
-- count as delivered: nothing recorded their failures then.
ALTER TABLE invitations ADD COLUMN delivered_nonce TEXT;
UPDATE invitations SET delivered_nonce = send_nonce;
