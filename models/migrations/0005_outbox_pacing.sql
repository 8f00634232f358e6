-- The engine at fleet scale.
--
-- Pacing: a running task with sub-tasks to send carries the time its next
-- batch is due; each worker's pacer picks the due tasks from this index, so
-- no task holds a worker while it waits for its next second. A new task is
-- due at once. rollout_lag_seconds adds up how far a rollout has fallen
-- behind its schedule (the broker or the database could not keep up).
ALTER TABLE tasks
    ADD COLUMN rollout_next_at timestamptz DEFAULT now(),
    ADD COLUMN rollout_lag_seconds double precision NOT NULL DEFAULT 0;
UPDATE tasks SET rollout_next_at = NULL WHERE status <> 'IN_PROGRESS' OR deleted_at IS NOT NULL;
-- only running tasks are in the index, however many have finished
CREATE INDEX tasks_rollout_next_idx ON tasks (rollout_next_at)
    WHERE rollout_next_at IS NOT NULL AND status = 'IN_PROGRESS' AND deleted_at IS NULL;

-- The outbox: every change a device must hear of (SENT, CANCELLED,
-- REMOVED) is recorded here in the transaction that makes it and published
-- after the commit by the worker holding the lease; a batch whose lease ran
-- out (its worker died) is claimed and published again by another.
ALTER TABLE notify_batches
    ADD COLUMN status text NOT NULL DEFAULT 'SENT' CHECK (status IN ('SENT', 'CANCELLED', 'REMOVED')),
    ADD COLUMN lease_until timestamptz NOT NULL DEFAULT now();
DROP INDEX notify_batches_created_idx;
CREATE INDEX notify_batches_lease_idx ON notify_batches (lease_until);
CREATE INDEX notify_batches_task_idx ON notify_batches (task_id);

-- Notify message ids (unique per device: a global counter modulo 2^32),
-- taken in the transaction that records the notify.
CREATE SEQUENCE notify_ids AS bigint MINVALUE 0 MAXVALUE 4294967295 START 1 CYCLE;
SELECT setval('notify_ids', greatest(1, (SELECT coalesce(max(notify_id), 0) FROM subtasks)));
