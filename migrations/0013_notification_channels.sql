-- Notification channels: outgoing webhooks (Standard Webhooks) on org events.
--
-- An org event is recorded in the same transaction as the change that causes
-- it: every audit row carries the notification event types it stands for
-- (`event_types`, a JSON array chosen by `domain::webhook::event_types_for`,
-- NULL for actions that notify nobody), and the trigger below fans it out to
-- an event row and one delivery per subscribed, enabled channel of the org.
-- The trigger runs inside the INSERT of the audit row, so it is part of
-- whatever batch wrote that row: no change without its event, no event
-- without its change.

ALTER TABLE audit_events ADD COLUMN event_types TEXT;

-- No foreign key to orgs: `org.deleted` must still reach the org's channels
-- after the org row is gone. Listing and changing channels go through the
-- org's access check first, so a deleted org's channels are unreachable; the
-- org's deletion marks them `orphaned_at` and the scheduled sweep removes
-- them once nothing is pending.
CREATE TABLE notification_channels (
  id                   TEXT PRIMARY KEY,
  org_id               TEXT NOT NULL,
  url                  TEXT NOT NULL,
  description          TEXT NOT NULL DEFAULT '',
  event_types          TEXT NOT NULL,              -- JSON array of event types
  enabled              INTEGER NOT NULL DEFAULT 1,
  disabled_reason      TEXT,                        -- NULL, 'manual', 'gone' (410), 'failing' (5 days)
  secret               TEXT NOT NULL,               -- AES-256-GCM sealed `whsec_…`
  previous_secret      TEXT,                        -- sealed; signs too until previous_expires_at
  previous_expires_at  INTEGER,
  failing_since        INTEGER,                     -- first failed attempt since the last success
  orphaned_at          INTEGER,                     -- its org was deleted (the sweep removes it)
  created_by_kind      TEXT NOT NULL,
  created_by           TEXT NOT NULL,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
);
CREATE INDEX notification_channels_by_org ON notification_channels (org_id, created_at, id);
CREATE INDEX notification_channels_orphaned ON notification_channels (orphaned_at) WHERE orphaned_at IS NOT NULL;

-- What happened, copied from the audit row (which goes with its org).
CREATE TABLE notification_events (
  id           TEXT PRIMARY KEY,
  audit_id     TEXT NOT NULL,
  org_id       TEXT NOT NULL,
  type         TEXT NOT NULL,
  actor_kind   TEXT NOT NULL,
  actor_id     TEXT NOT NULL,
  target_kind  TEXT NOT NULL,
  target_id    TEXT NOT NULL,
  data         TEXT NOT NULL DEFAULT '{}',
  occurred_at  INTEGER NOT NULL
);
CREATE INDEX notification_events_by_audit ON notification_events (audit_id);

-- One message to one channel; its id is the `webhook-id` (stable across retries).
CREATE TABLE notification_deliveries (
  id               TEXT PRIMARY KEY,
  event_id         TEXT NOT NULL REFERENCES notification_events(id) ON DELETE CASCADE,
  channel_id       TEXT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,                          -- when pending
  claimed_until    INTEGER,                          -- a consumer is sending it until then
  enqueued_at      INTEGER,                          -- last handed to the queue (NULL: not yet)
  last_status_code INTEGER,
  last_latency_ms  INTEGER,
  last_error       TEXT,
  last_response    TEXT,                             -- the first bytes of the answer
  last_attempt_at  INTEGER,
  created_at       INTEGER NOT NULL
);
CREATE INDEX notification_deliveries_by_channel ON notification_deliveries (channel_id, created_at, id);
CREATE INDEX notification_deliveries_by_event ON notification_deliveries (event_id);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';

-- Messages the webhook queue gave up on (a crash, not a refused delivery),
-- recorded by its dead-letter consumer; idempotent on the queue message id.
CREATE TABLE notification_dead_letters (
  message_id   TEXT PRIMARY KEY,
  delivery_id  TEXT NOT NULL,
  reason       TEXT NOT NULL,
  recorded_at  INTEGER NOT NULL
);

-- The sweep records `invitation.expired` once per invitation.
ALTER TABLE invitations ADD COLUMN expiry_recorded INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER audit_events_notify AFTER INSERT ON audit_events
WHEN NEW.event_types IS NOT NULL AND NEW.org_id IS NOT NULL
BEGIN
  INSERT INTO notification_events
    (id, audit_id, org_id, type, actor_kind, actor_id, target_kind, target_id, data, occurred_at)
  SELECT 'ntf_' || lower(hex(randomblob(16))), NEW.id, NEW.org_id, t.value, NEW.actor_kind, NEW.actor_id,
         NEW.target_kind, NEW.target_id, NEW.data, NEW.occurred_at
  FROM json_each(NEW.event_types) AS t
  WHERE EXISTS (SELECT 1 FROM notification_channels AS c, json_each(c.event_types) AS s
                WHERE c.org_id = NEW.org_id AND c.enabled = 1 AND s.value = t.value);
  INSERT INTO notification_deliveries (id, event_id, channel_id, status, attempts, next_attempt_at, created_at)
  SELECT 'dlv_' || lower(hex(randomblob(16))), e.id, c.id, 'pending', 0, NEW.occurred_at, NEW.occurred_at
  FROM notification_events AS e JOIN notification_channels AS c ON c.org_id = e.org_id AND c.enabled = 1
  WHERE e.audit_id = NEW.id AND EXISTS (SELECT 1 FROM json_each(c.event_types) AS s WHERE s.value = e.type);
END;
