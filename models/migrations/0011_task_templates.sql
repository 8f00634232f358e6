-- Task templates (docs/api.md, "Templates"): a task's settings saved under
-- a name, to create tasks from. A template holds its files like a task
-- does (ON DELETE RESTRICT): a file that a template uses cannot be deleted
-- (models.Files.Delete refuses with 409 naming the templates).
CREATE TABLE task_templates (
    id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    description                 text NOT NULL DEFAULT '',
    -- the job document inline (key order kept), or NULL with rule_file_id
    job_document                json,
    rule_file_id                bigint REFERENCES files (id) ON DELETE RESTRICT,
    job_file_id                 bigint REFERENCES files (id) ON DELETE RESTRICT,
    sign_method                 text CHECK (sign_method IN ('MD5', 'SHA256')),
    qos                         smallint NOT NULL CHECK (qos IN (0, 1)),
    in_progress_timeout_minutes integer CHECK (in_progress_timeout_minutes BETWEEN 1 AND 10080),
    rollout_per_minute          integer NOT NULL CHECK (rollout_per_minute BETWEEN 1 AND 100000),
    policy                      jsonb,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK ((job_document IS NULL) <> (rule_file_id IS NULL)),
    CHECK ((job_file_id IS NULL) = (sign_method IS NULL))
);
-- names are unique whatever their case
CREATE UNIQUE INDEX task_templates_name_key ON task_templates (lower(name));
CREATE INDEX task_templates_rule_file_idx ON task_templates (rule_file_id) WHERE rule_file_id IS NOT NULL;
CREATE INDEX task_templates_job_file_idx ON task_templates (job_file_id) WHERE job_file_id IS NOT NULL;
