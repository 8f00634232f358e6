-- Continuous tasks (policy.continuous): a running task for a product or a
-- static group that devices join later gets a sub-task for each of them,
-- in the same transaction as the registration or the group change, in the
-- task's last wave. The task stays open (no completion, no 7-day expiry)
-- until its end time or a cancel.
CREATE INDEX tasks_continuous_idx ON tasks (target_product_key, target_group_id)
    WHERE (policy->>'continuous')::boolean AND status IN ('SCHEDULED', 'IN_PROGRESS') AND deleted_at IS NULL;

-- continuous_join queues a sub-task for each pair {"t": task id, "d":
-- device id} whose device has none in the task yet.
CREATE FUNCTION continuous_join(pairs jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH joined AS (
        SELECT (p->>'t')::bigint AS task_id, (p->>'d')::bigint AS device_id FROM jsonb_array_elements(pairs) p
    ), made AS (
        INSERT INTO subtasks (task_id, device_id, product_key, device_name, status, queued_at, updated_at, wave)
        SELECT j.task_id, d.id, d.product_key, d.device_name, 'QUEUED', now(), now(),
            coalesce(array_length(t.wave_bounds, 1), 0) + 1
        FROM joined j JOIN devices d ON d.id = j.device_id JOIN tasks t ON t.id = j.task_id
        WHERE NOT EXISTS (SELECT 1 FROM subtasks s WHERE s.device_id = d.id AND s.task_id = j.task_id)
        RETURNING task_id
    )
    UPDATE tasks t SET device_count = t.device_count + m.n,
        rollout_next_at = CASE WHEN t.status = 'IN_PROGRESS' THEN coalesce(t.rollout_next_at, now()) ELSE t.rollout_next_at END
    FROM (SELECT task_id, count(*) AS n FROM made GROUP BY task_id) m WHERE t.id = m.task_id;
END $$;

CREATE FUNCTION continuous_devices_join() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM continuous_join((SELECT jsonb_agg(jsonb_build_object('t', t.id, 'd', n.id)) FROM new_rows n
        JOIN tasks t ON (t.policy->>'continuous')::boolean AND t.status IN ('SCHEDULED', 'IN_PROGRESS')
            AND t.deleted_at IS NULL AND coalesce((t.policy->>'endAt')::timestamptz > now(), true)
            AND t.target_type = 'PRODUCT' AND t.target_product_key = n.product_key));
    RETURN NULL;
END $$;

CREATE FUNCTION continuous_members_join() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM continuous_join((SELECT jsonb_agg(jsonb_build_object('t', t.id, 'd', n.device_id)) FROM new_rows n
        JOIN tasks t ON (t.policy->>'continuous')::boolean AND t.status IN ('SCHEDULED', 'IN_PROGRESS')
            AND t.deleted_at IS NULL AND coalesce((t.policy->>'endAt')::timestamptz > now(), true)
            AND t.target_type = 'GROUP' AND t.target_group_id = n.group_id));
    RETURN NULL;
END $$;

CREATE TRIGGER devices_continuous AFTER INSERT ON devices
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION continuous_devices_join();
CREATE TRIGGER group_members_continuous AFTER INSERT ON group_members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION continuous_members_join();
