package models

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// SubtaskFilter narrows a task's sub-task list.
type SubtaskFilter struct {
	Statuses []SubStatus // any of these; empty for all
	Q        string      // device name prefix
	After    ID          // keyset: only sub-tasks with a larger id
}

// ParseStatuses reads a comma list of sub-task statuses (field names the input).
func ParseStatuses(field, list string) ([]SubStatus, error) {
	var out []SubStatus
	for _, s := range strings.Split(list, ",") {
		s = strings.ToUpper(strings.TrimSpace(s))
		if s == "" || s == "ALL" {
			continue
		}
		if !ValidSubtaskStatus(s) {
			return nil, Invalid(field, "%q is not a sub-task status; use %s", s, JoinStatuses(SubtaskStatuses, ", "))
		}
		out = append(out, SubStatus(s))
	}
	return out, nil
}

const subtaskColumns = `id, task_id, device_id, product_key, device_name, status, progress, status_details, message,
	attempt, queued_at, sent_at, delivered_at, started_at, finished_at, updated_at, timeout_at, wave`

// ListSubtasks lists a task's sub-tasks in creation order. Each status
// filter reads its own (task_id, status, id) index range and the ranges are
// merged, so any page of any filter costs about one page of index reads when
// paged by After (keyset); Page.Number > 1 without After falls back to OFFSET.
func (t *Tasks) ListSubtasks(ctx context.Context, taskID ID, f SubtaskFilter, p Page) (List[Subtask], error) {
	if err := checkStorable("q", f.Q); err != nil {
		return List[Subtask]{}, err
	}
	stats, err := t.Statistics(ctx, taskID)
	if err != nil {
		return List[Subtask]{}, err
	}
	offset := 0
	if f.After == 0 {
		offset = p.Offset()
	}
	args := []any{taskID, int64(f.After), offset + p.Size}
	where := "task_id = $1 AND id > $2"
	if f.Q != "" {
		args = append(args, escapeLike(f.Q)+"%")
		where += fmt.Sprintf(" AND device_name LIKE $%d", len(args))
	}
	var sql string
	switch len(f.Statuses) {
	case 0:
		sql = fmt.Sprintf("SELECT %s FROM subtasks WHERE %s ORDER BY id LIMIT $3", subtaskColumns, where)
	case 1:
		args = append(args, f.Statuses[0])
		sql = fmt.Sprintf("SELECT %s FROM subtasks WHERE %s AND status = $%d ORDER BY id LIMIT $3", subtaskColumns, where, len(args))
	default:
		parts := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			args = append(args, s)
			parts[i] = fmt.Sprintf("(SELECT %s FROM subtasks WHERE %s AND status = $%d ORDER BY id LIMIT $3)", subtaskColumns, where, len(args))
		}
		sql = strings.Join(parts, " UNION ALL ") + " ORDER BY id LIMIT $3"
	}
	items, err := t.scanSubtasks(ctx, sql, args...)
	if err != nil {
		return List[Subtask]{}, fmt.Errorf("models: list sub-tasks of task %s: %w", taskID, err)
	}
	if offset < len(items) {
		items = items[offset:]
	} else {
		items = nil
	}
	var total int64
	if f.Q != "" {
		total, err = t.countSubtasks(ctx, taskID, f)
		if err != nil {
			return List[Subtask]{}, err
		}
	} else if len(f.Statuses) == 0 {
		total = stats.Total
	} else {
		for _, s := range f.Statuses {
			total += stats.Of(s)
		}
	}
	return NewList(items, total, p), nil
}

func (t *Tasks) countSubtasks(ctx context.Context, taskID ID, f SubtaskFilter) (int64, error) {
	args := []any{taskID, escapeLike(f.Q) + "%"}
	sql := `SELECT count(*) FROM subtasks WHERE task_id = $1 AND device_name LIKE $2`
	if len(f.Statuses) > 0 {
		args = append(args, f.Statuses)
		sql += ` AND status = ANY($3)`
	}
	var n int64
	err := t.db.Pool.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// DeviceSubtasks lists every sub-task of one device across tasks, newest first.
func (t *Tasks) DeviceSubtasks(ctx context.Context, pk, dn string, p Page) (List[Subtask], error) {
	if !(DeviceRef{ProductKey: pk, DeviceName: dn}).Registrable() { // cannot exist; PostgreSQL may refuse the bytes
		return List[Subtask]{}, NotFound("device %s/%s not found", pk, dn)
	}
	var deviceID ID
	err := t.db.Pool.QueryRow(ctx, `SELECT id FROM devices WHERE product_key = $1 AND device_name = $2`, pk, dn).Scan(&deviceID)
	if err == pgx.ErrNoRows {
		return List[Subtask]{}, NotFound("device %s/%s not found", pk, dn)
	} else if err != nil {
		return List[Subtask]{}, err
	}
	var total int64
	if err := t.db.Pool.QueryRow(ctx, `SELECT count(*) FROM subtasks s JOIN tasks t ON t.id = s.task_id WHERE s.device_id = $1 AND t.deleted_at IS NULL`, deviceID).Scan(&total); err != nil {
		return List[Subtask]{}, err
	}
	cols := strings.ReplaceAll("s."+subtaskColumns, ", ", ", s.")
	items, err := t.scanSubtasks(ctx, `SELECT `+cols+`, t.name FROM subtasks s JOIN tasks t ON t.id = s.task_id
		WHERE s.device_id = $1 AND t.deleted_at IS NULL ORDER BY s.id DESC OFFSET $2 LIMIT $3`, deviceID, p.Offset(), p.Size)
	if err != nil {
		return List[Subtask]{}, fmt.Errorf("models: sub-tasks of device %s/%s: %w", pk, dn, err)
	}
	return NewList(items, total, p), nil
}

func (t *Tasks) scanSubtasks(ctx context.Context, sql string, args ...any) ([]Subtask, error) {
	rows, err := t.db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	withName := len(rows.FieldDescriptions()) > 18
	var out []Subtask
	for rows.Next() {
		var s Subtask
		dest := []any{&s.ID, &s.TaskID, &s.DeviceID, &s.ProductKey, &s.DeviceName, &s.Status, &s.Progress, &s.StatusDetails,
			&s.Message, &s.Attempt, &s.QueuedAt, &s.SentAt, &s.DeliveredAt, &s.StartedAt, &s.FinishedAt, &s.UpdatedAt, &s.TimeoutAt, &s.Wave}
		if withName {
			dest = append(dest, &s.TaskName)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
