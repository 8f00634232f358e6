package models

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CancelTask stops a SCHEDULED or IN_PROGRESS task (Task.CanCancel). The task is CANCELLED
// at once; its unfinished sub-tasks are cancelled (and their devices told)
// by the workers, see CancelBatch.
func (t *Tasks) CancelTask(ctx context.Context, id ID) (*Task, error) {
	now := t.now().UTC()
	tag, err := t.db.Pool.Exec(ctx, `UPDATE tasks SET status = 'CANCELLED', finished_at = $2, updated_at = $2
		WHERE id = $1 AND status IN (`+sqlList(Running...)+`) AND deleted_at IS NULL`, id, now)
	if err != nil {
		return nil, fmt.Errorf("models: cancel task %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return nil, t.refused(ctx, id, (*Task).CanCancel)
	}
	if err := t.jobs.TaskCancelled(ctx, id); err != nil {
		t.warn("enqueue cancel", id, err)
	}
	return t.GetTask(ctx, id)
}

// RerunTask puts the FAILED and TIMED_OUT sub-tasks of a finished task back
// in the queue (attempt + 1) and the task back to IN_PROGRESS with a new
// 7-day window, when Task.CanRerun allows it.
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
		_, err = tx.Exec(ctx, `UPDATE subtasks SET status = 'QUEUED', attempt = attempt + 1, progress = 0, status_details = NULL,
			message = '', queued_at = $2, sent_at = NULL, delivered_at = NULL, started_at = NULL, finished_at = NULL,
			timeout_at = NULL, notify_id = NULL, updated_at = $2
			WHERE task_id = $1 AND status IN (`+sqlList(Rerunnable...)+`)`, id, now)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET status = 'IN_PROGRESS', finished_at = NULL, started_at = $2, expires_at = $3,
			rollout_epoch = NULL, rollout_sent = 0, updated_at = $2 WHERE id = $1`, id, now, now.Add(TaskExpiry))
		return err
	})
	if err != nil {
		if _, ok := AsError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("models: rerun task %s: %w", id, err)
	}
	task, err := t.GetTask(ctx, id)
	if err == nil {
		if err := t.jobs.TaskCreated(ctx, task); err != nil {
			t.warn("enqueue rollout", id, err)
		}
	}
	return task, err
}

// DeleteTask accepts the deletion of a task: from now on it is gone for
// readers; the workers tell the devices with unfinished sub-tasks (REMOVED)
// and delete the data, see RemoveBatch and PurgeTask.
func (t *Tasks) DeleteTask(ctx context.Context, id ID) error {
	now := t.now().UTC()
	tag, err := t.db.Pool.Exec(ctx, `UPDATE tasks SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL`, id, now)
	if err != nil {
		return fmt.Errorf("models: delete task %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return NotFound("task %s not found", id)
	}
	if err := t.jobs.TaskDeleted(ctx, id); err != nil {
		t.warn("enqueue delete", id, err)
	}
	return nil
}

// CancelBatch cancels up to limit unfinished sub-tasks of a CANCELLED task,
// telling the devices that had been sent theirs. It returns how many it
// cancelled; 0 means done.
func (t *Tasks) CancelBatch(ctx context.Context, id ID, n Notifier, limit int) (int, error) {
	return t.stopBatch(ctx, id, n, limit, SubCancelled, `status = 'CANCELLED'`)
}

// RemoveBatch is CancelBatch for a deleted task: sub-tasks become REMOVED.
func (t *Tasks) RemoveBatch(ctx context.Context, id ID, n Notifier, limit int) (int, error) {
	return t.stopBatch(ctx, id, n, limit, SubRemoved, `deleted_at IS NOT NULL`)
}

// stopBatch moves unfinished sub-tasks of a task matching taskCond to
// status, publishing a notify to those a device had been sent before the
// commit; sub-tasks whose notify failed stay for the next batch.
func (t *Tasks) stopBatch(ctx context.Context, id ID, n Notifier, limit int, status, taskCond string) (int, error) {
	now := t.now().UTC()
	done := 0
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		var qos byte
		err := tx.QueryRow(ctx, `SELECT qos FROM tasks WHERE id = $1 AND `+taskCond, id).Scan(&qos)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, device_id, product_key, device_name, status FROM subtasks
			WHERE task_id = $1 AND status IN ('QUEUED', 'SENT', 'IN_PROGRESS') ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, id, limit)
		if err != nil {
			return err
		}
		var was []string
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
			x := Notice{Status: status, QoS: qos}
			var s string
			err := r.Scan(&x.SubtaskID, &x.DeviceID, &x.ProductKey, &x.DeviceName, &s)
			was = append(was, s)
			return x, err
		})
		if err != nil {
			return err
		}
		// devices that were sent their sub-task are told; QUEUED ones never knew
		var told []int
		var notices []Notice
		for i, x := range all {
			if was[i] != SubQueued {
				told, notices = append(told, i), append(notices, x)
			}
		}
		nids := make([]*int64, len(all))
		failed := make([]bool, len(all))
		if len(notices) > 0 {
			msgIDs, err := n.NotifyIDs(ctx, len(notices))
			if err != nil {
				return err
			}
			for j := range notices {
				notices[j].MessageID = msgIDs[j]
			}
			// published before the commit: the sub-tasks are locked, and a
			// device that answers at once is refused as the task has ended
			errs := n.Publish(ctx, notices)
			for j, i := range told {
				if errs[j] != nil {
					failed[i] = true // left for the next batch
				} else {
					nids[i] = &msgIDs[j]
				}
			}
		}
		var ids []int64
		var idNids []*int64
		for i, x := range all {
			if !failed[i] {
				ids, idNids = append(ids, int64(x.SubtaskID)), append(idNids, nids[i])
			}
		}
		if len(ids) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE subtasks s SET status = $2, finished_at = $3, updated_at = $3,
			notify_id = coalesce(v.nid, s.notify_id)
			FROM unnest($4::bigint[], $5::bigint[]) AS v(id, nid)
			WHERE s.task_id = $1 AND s.id = v.id AND s.status IN ('QUEUED', 'SENT', 'IN_PROGRESS')`, id, status, now, ids, idNids)
		done = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("models: %s sub-tasks of task %s: %w", status, id, err)
	}
	return done, nil
}

// PurgeTask deletes a deleted task's sub-tasks (up to limit per call) and,
// once none are left, its counters and the task itself. It returns true
// when the task is gone.
func (t *Tasks) PurgeTask(ctx context.Context, id ID, limit int) (bool, error) {
	var gone bool
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM subtasks WHERE task_id = $1 AND id IN
			(SELECT id FROM subtasks WHERE task_id = $1 ORDER BY id LIMIT $2)
			AND EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND deleted_at IS NOT NULL)`, id, limit)
		if err != nil || tag.RowsAffected() == int64(limit) {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tasks WHERE id = $1 AND deleted_at IS NOT NULL`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM task_counters WHERE task_id = $1`, id)
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
