-- The fleet overview (the console's home page).
--
-- fleet_activity counts, per minute and per hour, the notifies sent
-- (kind SENT, by a sub-task's sent_at) and the sub-tasks that finished
-- (kind = the final status, by finished_at). Statement-level triggers keep
-- it, like task_counters (each backend adds to its own shard of a bucket,
-- so concurrent writers rarely wait on one another): +1 for each new row,
-- -1 for each old one, so a row whose sent_at, finished_at and status did
-- not change cancels out; a rerun takes a sub-task's outcome back out, a
-- delete leaves the history alone.
-- The overview reads a few thousand rows at most whatever the fleet's size: the
-- minutes of the last hour for its chart, the hours (and the minutes at the
-- edge) of the last 24 hours and 7 days for its success rates. Minutes older
-- than two days and hours older than eight are pruned hourly.
CREATE TABLE fleet_activity (
    width  smallint NOT NULL CHECK (width IN (1, 60)), -- minutes in the bucket
    bucket timestamptz NOT NULL,                        -- its start (UTC)
    kind   text NOT NULL,
    shard  smallint NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (width, bucket, kind, shard)
);

CREATE FUNCTION fleet_activity_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO fleet_activity (width, bucket, kind, shard, n)
        SELECT w, date_bin(make_interval(mins => w), at, timestamptz '2000-01-01 00:00:00+00'), kind, pg_backend_pid() % 16, sum(d)
        FROM (
            SELECT 'SENT' AS kind, sent_at AS at, 1 AS d FROM new_rows WHERE sent_at IS NOT NULL
            UNION ALL
            SELECT status, finished_at, 1 FROM new_rows
            WHERE finished_at IS NOT NULL AND status IN ('SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELLED', 'REMOVED')
        ) ev CROSS JOIN (VALUES (1), (60)) ws (w)
        GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (width, bucket, kind, shard) DO UPDATE SET n = fleet_activity.n + EXCLUDED.n;
    ELSE
        INSERT INTO fleet_activity (width, bucket, kind, shard, n)
        SELECT w, date_bin(make_interval(mins => w), at, timestamptz '2000-01-01 00:00:00+00'), kind, pg_backend_pid() % 16, sum(d)
        FROM (
            SELECT 'SENT' AS kind, sent_at AS at, 1 AS d FROM new_rows WHERE sent_at IS NOT NULL
            UNION ALL
            SELECT status, finished_at, 1 FROM new_rows
            WHERE finished_at IS NOT NULL AND status IN ('SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELLED', 'REMOVED')
            UNION ALL
            SELECT 'SENT', sent_at, -1 FROM old_rows WHERE sent_at IS NOT NULL
            UNION ALL
            SELECT status, finished_at, -1 FROM old_rows
            WHERE finished_at IS NOT NULL AND status IN ('SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELLED', 'REMOVED')
        ) ev CROSS JOIN (VALUES (1), (60)) ws (w)
        GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (width, bucket, kind, shard) DO UPDATE SET n = fleet_activity.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER subtasks_activity_insert AFTER INSERT ON subtasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fleet_activity_apply();
CREATE TRIGGER subtasks_activity_update AFTER UPDATE ON subtasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fleet_activity_apply();

-- what the sub-tasks already in the database did in the last week
INSERT INTO fleet_activity (width, bucket, kind, shard, n)
SELECT w, date_bin(make_interval(mins => w), at, timestamptz '2000-01-01 00:00:00+00'), kind, 0, count(*)
FROM (
    SELECT 'SENT' AS kind, sent_at AS at FROM subtasks WHERE sent_at >= now() - interval '8 days'
    UNION ALL
    SELECT status, finished_at FROM subtasks WHERE finished_at >= now() - interval '8 days'
        AND status IN ('SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELLED', 'REMOVED')
) ev CROSS JOIN (VALUES (1), (60)) ws (w)
WHERE w = 60 OR at >= now() - interval '2 days'
GROUP BY 1, 2, 3;

-- the overview's devices needing attention: the latest failures, newest first
CREATE INDEX subtasks_failures_idx ON subtasks (finished_at DESC, id DESC)
    WHERE status IN ('FAILED', 'REJECTED', 'TIMED_OUT') AND finished_at IS NOT NULL;

-- the overview's count of devices online now (a message within the window)
CREATE INDEX devices_last_seen_idx ON devices (last_seen) WHERE last_seen IS NOT NULL;
