package models

import (
	"context"
	"fmt"
)

// CopyName is the name a duplicate of the task named name starts with:
// "Copy of " and the name, cut to MaxTaskNameLen characters.
func CopyName(name string) string {
	r := []rune("Copy of " + name)
	if len(r) > MaxTaskNameLen {
		r = r[:MaxTaskNameLen]
	}
	return string(r)
}

// JobFileDeleted reports whether the task was created with a task file
// that has since been deleted (a duplicate cannot have it).
func (t *Task) JobFileDeleted() bool { return t.fileGone() }

// TaskDevices lists the devices of task id's sub-tasks in the order they
// were made: for a device-list task, its list, to start a duplicate from.
func (t *Tasks) TaskDevices(ctx context.Context, id ID) ([]DeviceRef, error) {
	if err := t.exists(ctx, id); err != nil {
		return nil, err
	}
	rows, err := t.db.Pool.Query(ctx, `SELECT product_key, device_name FROM subtasks WHERE task_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("models: devices of task %s: %w", id, err)
	}
	defer rows.Close()
	var refs []DeviceRef
	for rows.Next() {
		var r DeviceRef
		if err := rows.Scan(&r.ProductKey, &r.DeviceName); err != nil {
			return nil, fmt.Errorf("models: devices of task %s: %w", id, err)
		}
		refs = append(refs, r)
	}
	return refs, rows.Err()
}
