package models

import (
	"context"
	"fmt"
)

// TaskVersion tells whether a task changed since it was last read: the row
// version of the task itself (any update of it) and how many writes its
// sub-tasks have had. Two reads of an unchanged task give equal versions.
type TaskVersion struct {
	Row     int64 // the task row's xmin: it moves with every update of the row
	Changes int64 // writes of the task's sub-tasks (task_changes)
	Gone    bool  // deleted, or no such task
}

// TaskVersions reads the versions of the tasks ids in one query: a few
// index rows per task whatever its size (the console's live pages read it
// once a second for every watched task together). A task that does not
// exist or was deleted is Gone.
func (t *Tasks) TaskVersions(ctx context.Context, ids []ID) (map[ID]TaskVersion, error) {
	out := make(map[ID]TaskVersion, len(ids))
	raw := make([]int64, len(ids))
	for i, id := range ids {
		out[id], raw[i] = TaskVersion{Gone: true}, int64(id)
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.db.Pool.Query(ctx, `SELECT t.id, t.xmin::text::bigint, t.deleted_at IS NOT NULL,
		coalesce((SELECT sum(c.n) FROM task_changes c WHERE c.task_id = t.id), 0)::bigint
		FROM tasks t WHERE t.id = ANY($1)`, raw)
	if err != nil {
		return nil, fmt.Errorf("models: versions of %d tasks: %w", len(ids), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id ID
		var v TaskVersion
		if err := rows.Scan(&id, &v.Row, &v.Gone, &v.Changes); err != nil {
			return nil, fmt.Errorf("models: versions of %d tasks: %w", len(ids), err)
		}
		out[id] = v
	}
	return out, rows.Err()
}

// Settled reports whether nothing about the task moves any more: it has
// finished and so have its sub-tasks (a cancelled task's are cancelled
// after it, by the workers). s is the task's statistics.
func (t *Task) Settled(s *Statistics) bool {
	return t.Finished() && s != nil && s.Queued+s.Sent+s.InProgress == 0
}
