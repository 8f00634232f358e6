-- Each earlier attempt of a sub-task, kept when the sub-task is queued
-- again (an automatic retry of its task's policy, or a rerun): the
-- sub-task keeps its id and counts attempt + 1; its history is here.
CREATE TABLE subtask_attempts (
    task_id        bigint NOT NULL,
    subtask_id     bigint NOT NULL,
    attempt        integer NOT NULL,
    status         text NOT NULL,
    progress       smallint NOT NULL,
    status_details jsonb,
    message        text NOT NULL,
    sent_at        timestamptz,
    started_at     timestamptz,
    finished_at    timestamptz,
    PRIMARY KEY (task_id, subtask_id, attempt)
);
