-- Registry, files, tasks, sub-tasks, counters and the device message log.

CREATE TABLE products (
    product_key text PRIMARY KEY CHECK (product_key ~ '^[A-Za-z0-9_-]{1,64}$'),
    name        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_key text NOT NULL REFERENCES products (product_key) ON DELETE RESTRICT,
    device_name text NOT NULL CHECK (device_name ~ '^[A-Za-z0-9_.:@-]{1,64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz,
    UNIQUE (product_key, device_name)
);
-- device search by name inside or across products
CREATE INDEX devices_name_idx ON devices (device_name text_pattern_ops, id);

CREATE TABLE groups (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    kind       text NOT NULL CHECK (kind IN ('static', 'dynamic')),
    query      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name)
);

CREATE TABLE group_members (
    group_id  bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    device_id bigint NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, device_id)
);
CREATE INDEX group_members_device_idx ON group_members (device_id);

CREATE TABLE files (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('rule', 'firmware')),
    name         text NOT NULL,
    size         bigint NOT NULL,
    md5          text NOT NULL,
    sha256       text NOT NULL,
    storage_name text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_kind_idx ON files (kind, id);

CREATE TABLE tasks (
    id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                        text NOT NULL,
    type                        text NOT NULL DEFAULT 'CUSTOM',
    description                 text NOT NULL DEFAULT '',
    status                      text NOT NULL CHECK (status IN ('SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED', 'TIMED_OUT')),
    target_type                 text NOT NULL CHECK (target_type IN ('DEVICE_LIST', 'PRODUCT', 'GROUP')),
    target_product_key          text,
    target_group_id             bigint,
    device_count                integer NOT NULL,
    job_document                json NOT NULL,
    rule_file_id                bigint REFERENCES files (id) ON DELETE RESTRICT,
    job_file_id                 bigint REFERENCES files (id) ON DELETE RESTRICT,
    sign_method                 text CHECK (sign_method IN ('MD5', 'SHA256')),
    rollout_per_minute          integer NOT NULL CHECK (rollout_per_minute BETWEEN 1 AND 100000),
    qos                         smallint NOT NULL CHECK (qos IN (0, 1)),
    in_progress_timeout_minutes integer CHECK (in_progress_timeout_minutes BETWEEN 1 AND 10080),
    scheduled_at                timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    started_at                  timestamptz,
    finished_at                 timestamptz,
    expires_at                  timestamptz,
    -- rollout pacing: sub-tasks sent since rollout_epoch (reset when the rate changes)
    rollout_epoch               timestamptz,
    rollout_sent                bigint NOT NULL DEFAULT 0,
    -- set when a delete is accepted; the task is gone for readers from then on
    deleted_at                  timestamptz
);
CREATE INDEX tasks_status_idx ON tasks (status, id);
CREATE INDEX tasks_product_idx ON tasks (target_product_key, id) WHERE target_product_key IS NOT NULL;
CREATE INDEX tasks_rule_file_idx ON tasks (rule_file_id) WHERE rule_file_id IS NOT NULL;
CREATE INDEX tasks_job_file_idx ON tasks (job_file_id) WHERE job_file_id IS NOT NULL;
CREATE INDEX tasks_expires_idx ON tasks (expires_at) WHERE status = 'IN_PROGRESS';
CREATE INDEX tasks_name_idx ON tasks (lower(name) text_pattern_ops);

-- Sub-tasks carry no foreign keys: per-row FK checks cost twice the insert
-- itself for a 100,000-device task. The service layer deletes a task's (or a
-- device's) sub-tasks in the same transaction as the task (or device).
-- The primary key leads with task_id so that it also serves "every sub-task
-- of a task in creation order" (keyset on id).
CREATE TABLE subtasks (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    task_id        bigint NOT NULL,
    device_id      bigint NOT NULL,
    product_key    text NOT NULL,
    device_name    text NOT NULL,
    status         text NOT NULL CHECK (status IN ('QUEUED', 'SENT', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELLED', 'REMOVED')),
    progress       smallint NOT NULL DEFAULT 0,
    status_details jsonb,
    message        text NOT NULL DEFAULT '',
    attempt        integer NOT NULL DEFAULT 1,
    queued_at      timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    delivered_at   timestamptz,
    started_at     timestamptz,
    finished_at    timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    timeout_at     timestamptz,
    notify_id      bigint, -- message id of the last notify, matched by notify_reply
    PRIMARY KEY (task_id, id)
);
-- sub-task pages filtered by status (keyset on id) and rollout claims of QUEUED
CREATE INDEX subtasks_task_status_idx ON subtasks (task_id, status, id);
-- search by device name inside a task
CREATE INDEX subtasks_task_name_idx ON subtasks (task_id, device_name text_pattern_ops);
-- a device's history, newest first
CREATE INDEX subtasks_device_idx ON subtasks (device_id, id);
-- what a device may execute ($list / $next), oldest first
CREATE INDEX subtasks_executable_idx ON subtasks (device_id, id) WHERE status IN ('SENT', 'IN_PROGRESS');
-- the in-progress timeout sweeper
CREATE INDEX subtasks_timeout_idx ON subtasks (timeout_at) WHERE status = 'IN_PROGRESS' AND timeout_at IS NOT NULL;

-- Statistics of a task, kept by statement-level triggers so that reading
-- them costs at most (statuses x shards) rows whatever the task's size.
-- Each backend writes its own shard, so concurrent writers rarely wait on
-- one another's counter rows.
CREATE TABLE task_counters (
    task_id bigint NOT NULL,
    status  text NOT NULL,
    shard   smallint NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (task_id, status, shard)
);

CREATE FUNCTION task_counters_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO task_counters (task_id, status, shard, n)
        SELECT task_id, status, pg_backend_pid() % 16, count(*) FROM new_rows
        GROUP BY task_id, status ORDER BY task_id, status
        ON CONFLICT (task_id, status, shard) DO UPDATE SET n = task_counters.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO task_counters (task_id, status, shard, n)
        SELECT task_id, status, pg_backend_pid() % 16, -count(*) FROM old_rows
        WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.id = old_rows.task_id)
        GROUP BY task_id, status ORDER BY task_id, status
        ON CONFLICT (task_id, status, shard) DO UPDATE SET n = task_counters.n + EXCLUDED.n;
    ELSE
        -- +1 for each row's new status, -1 for its old one: rows whose
        -- status did not change cancel out. No join of the transition
        -- tables (they have no statistics; a join could go quadratic).
        INSERT INTO task_counters (task_id, status, shard, n)
        SELECT task_id, status, pg_backend_pid() % 16, sum(d) FROM (
            SELECT task_id, status, 1 AS d FROM new_rows
            UNION ALL
            SELECT task_id, status, -1 FROM old_rows
        ) deltas
        GROUP BY task_id, status HAVING sum(d) <> 0 ORDER BY task_id, status
        ON CONFLICT (task_id, status, shard) DO UPDATE SET n = task_counters.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER subtasks_count_insert AFTER INSERT ON subtasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counters_apply();
CREATE TRIGGER subtasks_count_update AFTER UPDATE ON subtasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counters_apply();
CREATE TRIGGER subtasks_count_delete AFTER DELETE ON subtasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counters_apply();

-- Every message to and from a device. Partitioned by day so that a
-- device's time range reads one or a few partitions through
-- (device_id, time) and old days are dropped, not deleted.
CREATE TABLE device_messages (
    time       timestamptz NOT NULL,
    device_id  bigint NOT NULL,
    direction  text NOT NULL CHECK (direction IN ('c2d', 'd2c')),
    topic      text NOT NULL,
    message_id text NOT NULL DEFAULT '',
    payload    bytea NOT NULL,
    code       integer,
    subtask_id bigint
) PARTITION BY RANGE (time);
CREATE INDEX device_messages_device_time_idx ON device_messages (device_id, time DESC);
CREATE INDEX device_messages_subtask_idx ON device_messages (subtask_id, time) WHERE subtask_id IS NOT NULL;
CREATE TABLE device_messages_default PARTITION OF device_messages DEFAULT;
