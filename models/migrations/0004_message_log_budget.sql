-- A device request refused with 400 or 429 is logged with only the first
-- bytes of its payload: a flooding device must not fill the disk with what
-- was refused anyway. payload_size is the size the payload had when it was
-- cut; NULL when the payload is stored whole. Adding a nullable column
-- without a default is a catalogue change, instant on every partition.
ALTER TABLE device_messages ADD COLUMN payload_size integer;

-- What each device logged per UTC day, against its daily byte budget. The
-- log writers lock the rows of a batch's devices while they decide what
-- fits, so several worker processes together never exceed the budget; past
-- it, only the dropped counters grow. No foreign key: entries of a device
-- deleted a moment ago may still be in a writer's queue, and the rows
-- expire with the log's retention like the entries themselves.
CREATE TABLE device_log_usage (
    device_id        bigint NOT NULL,
    day              date NOT NULL,
    logged_bytes     bigint NOT NULL DEFAULT 0,
    logged_messages  bigint NOT NULL DEFAULT 0,
    dropped_messages bigint NOT NULL DEFAULT 0,
    dropped_bytes    bigint NOT NULL DEFAULT 0,
    cut_messages     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, day)
);
-- retention deletes by day
CREATE INDEX device_log_usage_day_idx ON device_log_usage (day);
