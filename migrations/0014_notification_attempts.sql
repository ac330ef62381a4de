-- Every attempt of a delivery (time, status code, latency, error, the first
-- bytes of the answer), not only the last: a 500 retried into a 200 shows
-- both. Written by the webhook consumer in the batch that records the
-- attempt on its delivery; `number` is the delivery's `attempts` after it.
CREATE TABLE notification_attempts (
  delivery_id   TEXT NOT NULL REFERENCES notification_deliveries(id) ON DELETE CASCADE,
  number        INTEGER NOT NULL,
  attempted_at  INTEGER NOT NULL,
  status_code   INTEGER,                         -- NULL: no answer
  latency_ms    INTEGER,
  error         TEXT,
  response      TEXT,                            -- the first 256 bytes of the answer
  PRIMARY KEY (delivery_id, number)
) WITHOUT ROWID;

-- Deliveries attempted before this migration keep their last attempt.
INSERT INTO notification_attempts (delivery_id, number, attempted_at, status_code, latency_ms, error, response)
SELECT id, attempts, last_attempt_at, last_status_code, last_latency_ms, last_error, last_response
FROM notification_deliveries WHERE attempts > 0 AND last_attempt_at IS NOT NULL;

-- The audit log keeps a channel URL's scheme and host only (its path and
-- query often hold the receiver's token): rows written before this rule lose
-- the rest. Stored URLs are normalised, so the host ends at the first `/`,
-- then its port (after `:`, or after `]` for a bracketed loopback) goes.
UPDATE audit_events
SET data = json_set(data, '$.url', substr(json_extract(data, '$.url'), 1, instr(json_extract(data, '$.url'), '://') + 2) || substr(substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3), 1, instr(substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3) || '/', '/') - 1))
WHERE action IN ('notification_channel.created', 'notification_channel.updated',
                 'notification_channel.enabled', 'notification_channel.disabled')
  AND json_type(data, '$.url') = 'text' AND instr(json_extract(data, '$.url'), '://') > 0;
UPDATE audit_events
SET data = json_set(data, '$.url', substr(json_extract(data, '$.url'), 1, instr(json_extract(data, '$.url'), '://') + 2) || substr(substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3), 1, instr(substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3), ']')))
WHERE action IN ('notification_channel.created', 'notification_channel.updated',
                 'notification_channel.enabled', 'notification_channel.disabled')
  AND json_type(data, '$.url') = 'text' AND instr(json_extract(data, '$.url'), '://') > 0 AND substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3) LIKE '[%';
UPDATE audit_events
SET data = json_set(data, '$.url', substr(json_extract(data, '$.url'), 1, instr(json_extract(data, '$.url'), '://') + 2) || substr(substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3), 1, instr(substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3), ':') - 1))
WHERE action IN ('notification_channel.created', 'notification_channel.updated',
                 'notification_channel.enabled', 'notification_channel.disabled')
  AND json_type(data, '$.url') = 'text' AND instr(json_extract(data, '$.url'), '://') > 0 AND substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3) NOT LIKE '[%' AND instr(substr(json_extract(data, '$.url'), instr(json_extract(data, '$.url'), '://') + 3), ':') > 0;
