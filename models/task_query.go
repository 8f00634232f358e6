package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// GetTask returns one task with its file information.
func (t *Tasks) GetTask(ctx context.Context, id ID) (*Task, error) {
	var task Task
	err := t.db.Gorm.WithContext(ctx).Where("deleted_at IS NULL").First(&task, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, NotFound("task %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("models: get task %s: %w", id, err)
	}
	task.Target.DeviceCount = task.DeviceCount
	if task.JobFileID != nil {
		f, err := t.files.Get(ctx, *task.JobFileID)
		if err != nil {
			return nil, fmt.Errorf("models: task %s file: %w", id, err)
		}
		task.JobFile = &JobFile{FileID: f.ID, Name: f.Name, Size: f.Size, SignMethod: *task.SignMethod, Sign: f.Sign(*task.SignMethod)}
	} else if task.JobFileKept != nil && task.JobFileKept.DeletedAt != nil {
		task.JobFile = task.JobFileKept // the file was deleted: what it was
	}
	if err := t.rolloutOf(ctx, &task); err != nil {
		return nil, err
	}
	return &task, nil
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	Status     string // one task status, or empty for all
	Q          string // part of the name, case-insensitive
	ProductKey string
	TargetType string   // DEVICE_LIST, PRODUCT or GROUP, or empty for all
	Sort       TaskSort // newest first unless set
}

// ListTasks lists tasks in the filter's order, newest first by default.
func (t *Tasks) ListTasks(ctx context.Context, f TaskFilter, p Page) (List[Task], error) {
	if err := checkAllStorable("q", f.Q, "productKey", f.ProductKey); err != nil {
		return List[Task]{}, err
	}
	q := t.db.Gorm.WithContext(ctx).Model(&Task{}).Where("deleted_at IS NULL")
	if f.Status != "" {
		f.Status = strings.ToUpper(f.Status)
		if !ValidTaskStatus(f.Status) {
			return List[Task]{}, Invalid("status", "must be one of %s", JoinStatuses(TaskStatuses, ", "))
		}
		q = q.Where("status = ?", f.Status)
	}
	if f.Q != "" {
		q = q.Where("lower(name) LIKE ?", "%"+escapeLike(strings.ToLower(f.Q))+"%")
	}
	if f.ProductKey != "" {
		q = q.Where("target_product_key = ?", f.ProductKey)
	}
	switch t := strings.ToUpper(f.TargetType); t {
	case "":
	case TargetDeviceList, TargetProduct, TargetGroup:
		q = q.Where("target_type = ?", t)
	default:
		return List[Task]{}, Invalid("targetType", "must be DEVICE_LIST, PRODUCT or GROUP, not %q", f.TargetType)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return List[Task]{}, fmt.Errorf("models: count tasks: %w", err)
	}
	var tasks []Task
	if err := q.Order(f.Sort.orderSQL()).Offset(p.Offset()).Limit(p.Size).Find(&tasks).Error; err != nil {
		return List[Task]{}, fmt.Errorf("models: list tasks: %w", err)
	}
	for i := range tasks {
		tasks[i].Target.DeviceCount = tasks[i].DeviceCount
	}
	return NewList(tasks, total, p), nil
}

// Statistics counts the task's sub-tasks by status from the maintained
// counters: a handful of rows whatever the task's size.
func (t *Tasks) Statistics(ctx context.Context, id ID) (*Statistics, error) {
	if err := t.exists(ctx, id); err != nil {
		return nil, err
	}
	rows, err := t.db.Pool.Query(ctx, `SELECT status, sum(n)::bigint FROM task_counters WHERE task_id = $1 GROUP BY status`, id)
	if err != nil {
		return nil, fmt.Errorf("models: statistics of task %s: %w", id, err)
	}
	defer rows.Close()
	var s Statistics
	for rows.Next() {
		var status SubStatus
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		*s.field(status) += n
		s.Total += n
	}
	return &s, rows.Err()
}

func (t *Tasks) exists(ctx context.Context, id ID) error {
	var ok bool
	if err := t.db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND deleted_at IS NULL)`, id).Scan(&ok); err != nil {
		return fmt.Errorf("models: task %s: %w", id, err)
	}
	if !ok {
		return NotFound("task %s not found", id)
	}
	return nil
}

// Document returns the task's job document (compact JSON).
func (t *Tasks) Document(ctx context.Context, id ID) ([]byte, error) {
	var doc string
	err := t.db.Pool.QueryRow(ctx, `SELECT job_document::text FROM tasks WHERE id = $1 AND deleted_at IS NULL`, id).Scan(&doc)
	if err != nil {
		if err := t.exists(ctx, id); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("models: document of task %s: %w", id, err)
	}
	return []byte(doc), nil
}

// escapeLike escapes the LIKE wildcards of s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
