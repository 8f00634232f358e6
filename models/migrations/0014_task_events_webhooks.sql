-- A task's events (docs/webhooks.md, "Events"): what happened to it, when
-- and by whom, written in the same transaction as the change it describes.
-- task is a snapshot of the task (id, name, status, counts) as the change
-- left it, so that an event outlives the task it is about.
CREATE TABLE task_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id bigint NOT NULL,
    type    text NOT NULL,
    at      timestamptz NOT NULL,
    actor   text NOT NULL DEFAULT '',
    task    jsonb NOT NULL,
    data    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX task_events_task_idx ON task_events (task_id, id);

-- Webhooks an admin configured: where events are POSTed, signed with the
-- secret. events lists the event types sent; empty means all of them.
CREATE TABLE webhooks (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url        text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events     text[] NOT NULL DEFAULT '{}',
    secret     text NOT NULL,
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- One event to send to one webhook, made with the event (same
-- transaction). enqueued_at is set once its asynq task exists (the scan
-- enqueues those without one); lease_until guards an attempt under way
-- against a duplicate task.
CREATE TABLE webhook_deliveries (
    id          uuid PRIMARY KEY,
    webhook_id  bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id    bigint REFERENCES task_events (id) ON DELETE SET NULL,
    event       text NOT NULL,
    -- the body's task and data for an event not in task_events (a test)
    task        jsonb,
    data        jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    last_status integer,
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    enqueued_at timestamptz,
    lease_until timestamptz,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC, id);
CREATE INDEX webhook_deliveries_unqueued_idx ON webhook_deliveries (created_at) WHERE enqueued_at IS NULL;
