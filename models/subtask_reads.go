package models

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// StatisticsOf counts the sub-tasks by status of every task in ids with one
// query on the maintained counters (the task list's progress bars). Tasks
// without counters get zero statistics.
func (t *Tasks) StatisticsOf(ctx context.Context, ids []ID) (map[ID]*Statistics, error) {
	out := make(map[ID]*Statistics, len(ids))
	raw := make([]int64, len(ids))
	for i, id := range ids {
		out[id], raw[i] = &Statistics{}, int64(id)
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.db.Pool.Query(ctx, `SELECT task_id, status, sum(n)::bigint FROM task_counters
		WHERE task_id = ANY($1) GROUP BY task_id, status`, raw)
	if err != nil {
		return nil, fmt.Errorf("models: statistics of %d tasks: %w", len(ids), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id ID
		var status SubStatus
		var n int64
		if err := rows.Scan(&id, &status, &n); err != nil {
			return nil, fmt.Errorf("models: statistics of %d tasks: %w", len(ids), err)
		}
		if s := out[id]; s != nil {
			*s.field(status) += n
			s.Total += n
		}
	}
	return out, rows.Err()
}

// GetSubtask returns sub-task id of task taskID (the console's execution
// details).
func (t *Tasks) GetSubtask(ctx context.Context, taskID, id ID) (*Subtask, error) {
	if err := t.exists(ctx, taskID); err != nil {
		return nil, err
	}
	items, err := t.scanSubtasks(ctx, `SELECT `+subtaskColumns+` FROM subtasks WHERE task_id = $1 AND id = $2`, taskID, id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("models: get sub-task %s of task %s: %w", id, taskID, err)
	}
	if len(items) == 0 {
		return nil, NotFound("sub-task %s of task %s not found", id, taskID)
	}
	return &items[0], nil
}
