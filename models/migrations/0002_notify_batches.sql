-- A sub-task is committed SENT before its notify is published, so that a
-- device answering at once finds it SENT. Each batch of such sub-tasks is
-- recorded here in the same transaction and removed once the broker has
-- taken its notifies; a batch left behind by a worker that died in between
-- is published again by the scan, so no device is left unaware.
CREATE TABLE notify_batches (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id     bigint NOT NULL,
    subtask_ids bigint[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notify_batches_created_idx ON notify_batches (created_at);

-- Leave room in each page so that updates of columns no index covers
-- (progress, statusDetails, delivered_at, notify ids) stay HOT: no index
-- writes for a device's progress reports.
ALTER TABLE subtasks SET (fillfactor = 80);
