-- Rollout policies (docs/api.md, "Rollout policy"). A task without a
-- policy (policy NULL) rolls out as before.
--
-- rollout_wave is the last wave opened (its sub-tasks and those of the
-- waves before it may be sent), wave_opened_at when it opened,
-- approved_wave the last wave an operator approved; paused_at is set
-- while the task is paused (by an operator or a PAUSE criterion), tripped
-- the abort criterion that acted, with its figures.
ALTER TABLE tasks
    ADD COLUMN policy jsonb,
    ADD COLUMN rollout_wave integer NOT NULL DEFAULT 1,
    ADD COLUMN wave_opened_at timestamptz,
    ADD COLUMN approved_wave integer NOT NULL DEFAULT 0,
    ADD COLUMN paused_at timestamptz,
    ADD COLUMN tripped jsonb,
    -- the position (from 1, in target order) of the first sub-task of
    -- waves 2, 3 ...: a sub-task's wave is width_bucket(position, bounds) + 1
    ADD COLUMN wave_bounds bigint[] NOT NULL DEFAULT '{}',
    -- PAUSE criteria an operator resumed past ("index:scope"), not judged again
    ADD COLUMN disarmed text[] NOT NULL DEFAULT '{}',
    -- the rate the rollout sends at now (an exponential rate grows to
    -- rollout_per_minute); NULL: rollout_per_minute
    ADD COLUMN rollout_rate integer;

-- The wave a sub-task belongs to, chosen at creation.
ALTER TABLE subtasks ADD COLUMN wave smallint NOT NULL DEFAULT 1;

-- The statistics counters count by wave too: a wave's gate and the abort
-- criteria read them at every rollout step without touching the sub-tasks.
ALTER TABLE task_counters ADD COLUMN wave smallint NOT NULL DEFAULT 1;
ALTER TABLE task_counters DROP CONSTRAINT task_counters_pkey;
ALTER TABLE task_counters ADD PRIMARY KEY (task_id, status, wave, shard);

CREATE OR REPLACE FUNCTION task_counters_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO task_counters (task_id, status, wave, shard, n)
        SELECT task_id, status, wave, pg_backend_pid() % 16, count(*) FROM new_rows
        GROUP BY task_id, status, wave ORDER BY task_id, status, wave
        ON CONFLICT (task_id, status, wave, shard) DO UPDATE SET n = task_counters.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO task_counters (task_id, status, wave, shard, n)
        SELECT task_id, status, wave, pg_backend_pid() % 16, -count(*) FROM old_rows
        WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.id = old_rows.task_id)
        GROUP BY task_id, status, wave ORDER BY task_id, status, wave
        ON CONFLICT (task_id, status, wave, shard) DO UPDATE SET n = task_counters.n + EXCLUDED.n;
    ELSE
        -- +1 for each row's new status, -1 for its old one: rows whose
        -- status did not change cancel out (a sub-task's wave never does).
        -- No join of the transition tables (they have no statistics; a
        -- join could go quadratic).
        INSERT INTO task_counters (task_id, status, wave, shard, n)
        SELECT task_id, status, wave, pg_backend_pid() % 16, sum(d) FROM (
            SELECT task_id, status, wave, 1 AS d FROM new_rows
            UNION ALL
            SELECT task_id, status, wave, -1 FROM old_rows
        ) deltas
        GROUP BY task_id, status, wave HAVING sum(d) <> 0 ORDER BY task_id, status, wave
        ON CONFLICT (task_id, status, wave, shard) DO UPDATE SET n = task_counters.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
