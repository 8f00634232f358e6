package models

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// materializeLockSpace keeps the materialize locks apart from other
// advisory locks.
const materializeLockSpace = int64(0x6d61) << 48

// Preparing lists the tasks whose sub-tasks are still being created.
func (t *Tasks) Preparing(ctx context.Context) ([]ID, error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT id FROM tasks WHERE materialize_cursor IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("models: tasks being prepared: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[ID])
}

// MaterializeStep creates the next chunk of a large product task's
// sub-tasks (see CreateTask) in one transaction, and reports whether more
// remain. One step at a time runs per task (a transaction advisory lock;
// a concurrent step returns at once), and the task row is locked only for
// the moment of the final update, so the rollout of the sub-tasks made so
// far goes on meanwhile. A cancelled task gets its sub-tasks all the same
// (the stop cancels them, as for any QUEUED sub-task); a deleted one gets
// no more.
func (t *Tasks) MaterializeStep(ctx context.Context, id ID) (more bool, err error) {
	now := t.now().UTC()
	err = pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, materializeLockSpace|int64(id)).Scan(&mine); err != nil || !mine {
			return err
		}
		var (
			cursor, until *int64
			pk            *string
			deleted       bool
			bounds        []int64
			made          int64
		)
		err := tx.QueryRow(ctx, `SELECT materialize_cursor, materialize_until, target_product_key, deleted_at IS NOT NULL, wave_bounds,
			(SELECT coalesce(sum(n), 0)::bigint FROM task_counters WHERE task_id = $1)
			FROM tasks WHERE id = $1`, id).Scan(&cursor, &until, &pk, &deleted, &bounds, &made)
		if err == pgx.ErrNoRows || (err == nil && cursor == nil) {
			return nil
		} else if err != nil {
			return err
		}
		if deleted || until == nil || pk == nil {
			_, err := tx.Exec(ctx, `UPDATE tasks SET materialize_cursor = NULL WHERE id = $1`, id)
			return err
		}
		last, n, err := insertChunk(ctx, tx, id, *pk, *cursor, *until, materializeChunk, now, made, bounds)
		if err != nil {
			return err
		}
		next := &last
		if n < materializeChunk {
			next = nil
		}
		more = next != nil
		// new QUEUED sub-tasks: the rollout goes on (or resumes)
		_, err = tx.Exec(ctx, `UPDATE tasks SET materialize_cursor = $2,
			rollout_next_at = CASE WHEN status = 'IN_PROGRESS' THEN coalesce(rollout_next_at, $3) ELSE rollout_next_at END
			WHERE id = $1`, id, next, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("models: create sub-tasks of task %s: %w", id, err)
	}
	return more, nil
}
