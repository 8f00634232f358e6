-- The console's create form kept on the server while it is being filled in
-- (one row per form opened), so that its URL (/tasks/new?draft=ID) brings
-- back the values after a reload or the browser's Back and Forward. A
-- draft is its user's only; it expires a week after its last change. A
-- completed draft names the task it created (completed_at is set in the
-- transaction that creates the task), and cannot create a second one.
CREATE TABLE task_drafts (
    id            text PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    step          smallint NOT NULL DEFAULT 1 CHECK (step IN (1, 2)),
    form          jsonb NOT NULL DEFAULT '{}',
    task_id       bigint REFERENCES tasks (id) ON DELETE SET NULL,
    task_name     text,
    completed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX task_drafts_expires_idx ON task_drafts (expires_at);
