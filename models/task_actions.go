package models

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CancelTask stops a SCHEDULED or IN_PROGRESS task (Task.CanCancel). The task is CANCELLED
// at once; its unfinished sub-tasks are cancelled (and their devices told)
// by the workers, see StopStep.
func (t *Tasks) CancelTask(ctx context.Context, id ID) (*Task, error) {
	now := t.now().UTC()
	var changed bool
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tasks SET status = 'CANCELLED', finished_at = $2, updated_at = $2
			WHERE id = $1 AND status IN (`+sqlList(Running...)+`) AND deleted_at IS NULL`, id, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		changed = true
		return recordEvent(ctx, tx, id, EventCancelled, actorOf(ctx), map[string]any{"reason": "requested"}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("models: cancel task %s: %w", id, err)
	}
	if !changed {
		return nil, t.refused(ctx, id, (*Task).CanCancel)
	}
	return t.GetTask(ctx, id)
}

// RerunTask puts the FAILED and TIMED_OUT sub-tasks of a finished task back
// in the queue (attempt + 1, the attempt so far kept in their history) and
// the task back to IN_PROGRESS with a new 7-day window, when Task.CanRerun
// allows it.
func (t *Tasks) RerunTask(ctx context.Context, id ID) (*Task, error) {
	now := t.now().UTC()
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		task := Task{ID: id}
		var rerunnable int64
		err := tx.QueryRow(ctx, `SELECT status, sign_method, job_file_id,
			(SELECT count(*) FROM subtasks s WHERE s.task_id = t.id AND s.status IN (`+sqlList(Rerunnable...)+`))
			FROM tasks t WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).Scan(&task.Status, &task.SignMethod, &task.JobFileID, &rerunnable)
		if errors.Is(err, pgx.ErrNoRows) {
			return NotFound("task %s not found", id)
		} else if err != nil {
			return err
		}
		if err := task.CanRerun(rerunnable); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `WITH due AS MATERIALIZED (SELECT id FROM subtasks
			WHERE task_id = $1 AND status IN (`+sqlList(Rerunnable...)+`))`+requeueSQL, id, now)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET status = 'IN_PROGRESS', finished_at = NULL, started_at = $2,
			expires_at = CASE WHEN `+continuous+` THEN NULL ELSE $3::timestamptz END,
			rollout_epoch = NULL, rollout_sent = 0, rollout_next_at = $2, updated_at = $2 WHERE id = $1`, id, now, now.Add(TaskExpiry))
		if err != nil {
			return err
		}
		return recordEvent(ctx, tx, id, EventRerun, actorOf(ctx), map[string]any{"subtasks": rerunnable}, now)
	})
	if err != nil {
		if _, ok := AsError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("models: rerun task %s: %w", id, err)
	}
	return t.GetTask(ctx, id)
}

// DeleteTask accepts the deletion of a task: from now on it is gone for
// readers; the workers tell the devices with unfinished sub-tasks (REMOVED)
// and delete the data, see StopStep and PurgeTask.
func (t *Tasks) DeleteTask(ctx context.Context, id ID) error {
	now := t.now().UTC()
	var changed bool
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tasks SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL`, id, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		changed = true
		return recordEvent(ctx, tx, id, EventDeleted, actorOf(ctx), nil, now)
	})
	if err != nil {
		return fmt.Errorf("models: delete task %s: %w", id, err)
	}
	if !changed {
		return NotFound("task %s not found", id)
	}
	return nil
}

// StopStep moves up to limit unfinished sub-tasks of a cancelled task to
// CANCELLED, or of a deleted task to REMOVED, in one transaction, and
// records a notify for each whose device had been sent it (QUEUED ones
// never knew) in the outbox, for the caller to publish after the commit. It
// returns how many it stopped (0: done) and the batch (nil when no device
// is to be told).
func (t *Tasks) StopStep(ctx context.Context, id ID, deleted bool, limit int) (int, *NotifyBatch, error) {
	status, taskCond := SubCancelled, `status = 'CANCELLED'`
	if deleted {
		status, taskCond = SubRemoved, `deleted_at IS NOT NULL`
	}
	now := t.now().UTC()
	var (
		done  int
		batch *NotifyBatch
	)
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		var qos byte
		err := tx.QueryRow(ctx, `SELECT qos FROM tasks WHERE id = $1 AND `+taskCond, id).Scan(&qos)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `WITH c AS MATERIALIZED (SELECT id, status AS was FROM subtasks
				WHERE task_id = $1 AND status IN (`+sqlList(Unfinished...)+`) ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
			UPDATE subtasks s SET status = $2, finished_at = $3, updated_at = $3,
			notify_id = CASE WHEN c.was = 'QUEUED' THEN s.notify_id ELSE nextval('notify_ids') END
			FROM c WHERE s.task_id = $1 AND s.id = c.id
			RETURNING s.id, s.device_id, s.product_key, s.device_name, s.notify_id, c.was <> 'QUEUED'`, id, status, now, limit)
		if err != nil {
			return err
		}
		var notices []Notice
		for rows.Next() {
			x := Notice{Status: status, QoS: qos}
			var nid *int64
			var told bool
			if err := rows.Scan(&x.SubtaskID, &x.DeviceID, &x.ProductKey, &x.DeviceName, &nid, &told); err != nil {
				rows.Close()
				return err
			}
			done++
			if told && nid != nil {
				x.MessageID = *nid
				notices = append(notices, x)
			}
		}
		if err := rows.Err(); err != nil || len(notices) == 0 {
			return err
		}
		batch, err = t.recordBatch(ctx, tx, id, status, notices, now)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("models: %s sub-tasks of task %s: %w", status, id, err)
	}
	return done, batch, nil
}

// ErrPurgeWaits is PurgeTask's answer while a deleted task's REMOVED
// notifies are still in the outbox (they need their sub-tasks) or a chunk
// of its sub-tasks is still being made: the purge is tried again later.
var ErrPurgeWaits = errors.New("models: the task's notifies or sub-tasks are still in progress; purged later")

// PurgeTask deletes a deleted task's sub-tasks (up to limit per call) and,
// once none are left, its counters and the task itself. It returns true
// when the task is gone, and ErrPurgeWaits (deleting nothing) while it
// cannot be purged yet.
func (t *Tasks) PurgeTask(ctx context.Context, id ID, limit int) (bool, error) {
	var gone bool
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		var busy bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notify_batches WHERE task_id = $1)
			OR EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND materialize_cursor IS NOT NULL)`, id).Scan(&busy); err != nil {
			return err
		}
		if busy {
			return ErrPurgeWaits
		}
		tag, err := tx.Exec(ctx, `DELETE FROM subtasks WHERE task_id = $1 AND id IN
			(SELECT id FROM subtasks WHERE task_id = $1 ORDER BY id LIMIT $2)
			AND EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND deleted_at IS NOT NULL)`, id, limit)
		if err != nil || tag.RowsAffected() == int64(limit) {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tasks WHERE id = $1 AND deleted_at IS NOT NULL`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM task_counters WHERE task_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM task_changes WHERE task_id = $1`, id)
		gone = true
		return err
	})
	if err != nil {
		return false, fmt.Errorf("models: purge task %s: %w", id, err)
	}
	return gone, nil
}

// Stopping lists tasks whose sub-tasks still need cancelling or removing:
// CANCELLED tasks with unfinished sub-tasks, and deleted tasks.
func (t *Tasks) Stopping(ctx context.Context) (cancelled, deleted []ID, err error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT t.id, t.deleted_at IS NOT NULL FROM tasks t
		WHERE t.deleted_at IS NOT NULL OR (t.status = 'CANCELLED' AND `+unfinishedCount+` > 0)`)
	if err != nil {
		return nil, nil, fmt.Errorf("models: stopping tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id ID
		var del bool
		if err := rows.Scan(&id, &del); err != nil {
			return nil, nil, err
		}
		if del {
			deleted = append(deleted, id)
		} else {
			cancelled = append(cancelled, id)
		}
	}
	return cancelled, deleted, rows.Err()
}
