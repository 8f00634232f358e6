-- A sub-task is committed SENT before its notify is published (so that a
-- device answering at once finds it SENT); notify_pending marks those whose
-- publish is not yet confirmed, so that a worker that died in between does
-- not leave a device unaware: the scan publishes them again.
ALTER TABLE subtasks ADD COLUMN notify_pending boolean NOT NULL DEFAULT false;
CREATE INDEX subtasks_notify_pending_idx ON subtasks (sent_at) WHERE notify_pending;
