package models

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// StartScheduled moves a SCHEDULED task whose time has come to IN_PROGRESS
// and starts its 7-day window. It is a no-op for any other task.
func (t *Tasks) StartScheduled(ctx context.Context, id ID) (bool, error) {
	now := t.now().UTC()
	var started bool
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tasks SET status = 'IN_PROGRESS', started_at = $2, rollout_next_at = $2, updated_at = $2,
			expires_at = CASE WHEN `+continuous+` THEN NULL ELSE $3::timestamptz END
			WHERE id = $1 AND status = 'SCHEDULED' AND scheduled_at <= $2 AND deleted_at IS NULL`, id, now, now.Add(TaskExpiry))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		started = true
		return recordEvent(ctx, tx, id, EventRunning, "", map[string]any{"reason": "its scheduled start time came"}, now)
	})
	if err != nil {
		return false, fmt.Errorf("models: start task %s: %w", id, err)
	}
	return started, nil
}

// DueScheduled lists SCHEDULED tasks whose start time has passed.
func (t *Tasks) DueScheduled(ctx context.Context) ([]ID, error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT id FROM tasks WHERE status = 'SCHEDULED' AND scheduled_at <= $1 AND deleted_at IS NULL`, t.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("models: due scheduled tasks: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[ID])
}

// continuous is the SQL condition that a task (t) has a continuous
// target: it stays open for devices that join later.
const continuous = `coalesce((policy->>'continuous')::boolean, false)`

// unfinishedCount is the SQL for how many of a task's sub-tasks are Unfinished.
var unfinishedCount = `(SELECT coalesce(sum(c.n), 0) FROM task_counters c
	WHERE c.task_id = t.id AND c.status IN (` + sqlList(Unfinished...) + `))`

// CompleteFinished marks COMPLETED every running task whose sub-tasks all
// exist and are all terminal, none waiting for an automatic retry, and
// which is not kept open for devices to join (continuous, before its end
// time), and returns their ids.
func (t *Tasks) CompleteFinished(ctx context.Context) ([]ID, error) {
	now := t.now().UTC()
	var done []ID
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE tasks t SET status = 'COMPLETED', finished_at = $1, updated_at = $1
			WHERE t.status = 'IN_PROGRESS' AND t.deleted_at IS NULL AND t.materialize_cursor IS NULL
			AND `+unfinishedCount+` = 0 AND NOT `+retryPending+`
			AND NOT (`+continuous+` AND coalesce((t.policy->>'endAt')::timestamptz > $1, true)) RETURNING t.id`, now)
		if err != nil {
			return err
		}
		if done, err = pgx.CollectRows(rows, pgx.RowTo[ID]); err != nil {
			return err
		}
		return recordEvents(ctx, tx, done, EventCompleted, "", nil, now, true)
	})
	if err != nil {
		return nil, fmt.Errorf("models: complete tasks: %w", err)
	}
	return done, nil
}

// SweepTimeouts moves IN_PROGRESS sub-tasks past their in-progress timeout
// to TIMED_OUT, at most limit of them, and returns how many it moved.
func (t *Tasks) SweepTimeouts(ctx context.Context, limit int) (int64, error) {
	now := t.now().UTC()
	tag, err := t.db.Pool.Exec(ctx, `UPDATE subtasks s SET status = 'TIMED_OUT', finished_at = $1, updated_at = $1,
		message = 'timed out: no result within the in-progress timeout'
		FROM (SELECT task_id, id FROM subtasks WHERE status = 'IN_PROGRESS' AND timeout_at <= $1
			ORDER BY timeout_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
		WHERE s.task_id = due.task_id AND s.id = due.id AND s.status = 'IN_PROGRESS'`, now, limit)
	if err != nil {
		return 0, fmt.Errorf("models: sweep timeouts: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ExpireTasks applies the 7-day rule: a running task whose window has
// passed becomes TIMED_OUT, and so do its unfinished sub-tasks.
func (t *Tasks) ExpireTasks(ctx context.Context) ([]ID, error) {
	now := t.now().UTC()
	var expired []ID
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE tasks SET status = 'TIMED_OUT', finished_at = $1, updated_at = $1
			WHERE status = 'IN_PROGRESS' AND expires_at <= $1 AND deleted_at IS NULL RETURNING id`, now)
		if err != nil {
			return err
		}
		if expired, err = pgx.CollectRows(rows, pgx.RowTo[ID]); err != nil || len(expired) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE subtasks SET status = 'TIMED_OUT', finished_at = $1, updated_at = $1,
			message = 'timed out: the task did not finish within 7 days of its start'
			WHERE task_id = ANY($2) AND status IN (`+sqlList(Unfinished...)+`)`, now, expired)
		if err != nil {
			return err
		}
		return recordEvents(ctx, tx, expired, EventTimedOut, "", nil, now, true)
	})
	if err != nil {
		return nil, fmt.Errorf("models: expire tasks: %w", err)
	}
	return expired, nil
}
