-- How many sub-task rows of a task were written (any column: a status, a
-- device's progress, its statusDetails), kept per backend shard by
-- statement-level triggers like task_counters. The console's live pages
-- read the sum for every watched task in one query a second and render
-- again only the pages whose task moved.
CREATE TABLE task_changes (
    task_id bigint NOT NULL,
    shard   smallint NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (task_id, shard)
);

CREATE FUNCTION task_changes_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO task_changes (task_id, shard, n)
        SELECT task_id, pg_backend_pid() % 16, count(*) FROM old_rows
        GROUP BY task_id ORDER BY task_id
        ON CONFLICT (task_id, shard) DO UPDATE SET n = task_changes.n + EXCLUDED.n;
    ELSE
        INSERT INTO task_changes (task_id, shard, n)
        SELECT task_id, pg_backend_pid() % 16, count(*) FROM new_rows
        GROUP BY task_id ORDER BY task_id
        ON CONFLICT (task_id, shard) DO UPDATE SET n = task_changes.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER subtasks_changes_insert AFTER INSERT ON subtasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_changes_apply();
CREATE TRIGGER subtasks_changes_update AFTER UPDATE ON subtasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_changes_apply();
CREATE TRIGGER subtasks_changes_delete AFTER DELETE ON subtasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_changes_apply();
