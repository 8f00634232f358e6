package models

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DeleteDevice deletes device pk/dn, its group memberships and, in the
// same transaction, its sub-tasks (they carry no foreign key). Its message
// log is left to expire with its partitions.
func (r *Registry) DeleteDevice(ctx context.Context, pk, dn string) error {
	dev, err := r.device(ctx, pk, dn)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, r.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM subtasks WHERE device_id = $1`, dev.ID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM devices WHERE id = $1`, dev.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return NotFound("no device %s/%s", pk, dn)
		}
		return nil
	})
	if _, ok := AsError(err); err != nil && !ok {
		return fmt.Errorf("models: delete device %s/%s: %w", pk, dn, err)
	}
	return err
}

// DeviceSubtaskCounts counts the sub-tasks of device id by status, over
// the tasks not deleted.
func (r *Registry) DeviceSubtaskCounts(ctx context.Context, id ID) (*Statistics, error) {
	rows, err := r.db.Pool.Query(ctx, `SELECT s.status, count(*) FROM subtasks s JOIN tasks t ON t.id = s.task_id
		WHERE s.device_id = $1 AND t.deleted_at IS NULL GROUP BY s.status`, id)
	if err != nil {
		return nil, fmt.Errorf("models: count sub-tasks of device %s: %w", id, err)
	}
	s := &Statistics{}
	var status SubStatus
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		*s.field(status) += n
		s.Total += n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("models: count sub-tasks of device %s: %w", id, err)
	}
	return s, nil
}

// DeviceGroups lists the groups device d belongs to: the static groups
// listing it and the dynamic groups whose query matches it.
func (r *Registry) DeviceGroups(ctx context.Context, d *Device) ([]Group, error) {
	rows, err := r.db.Pool.Query(ctx, `SELECT `+groupColumns+` FROM groups g
		WHERE g.kind = 'dynamic' OR EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.device_id = $1)
		ORDER BY g.name`, d.ID)
	if err != nil {
		return nil, fmt.Errorf("models: groups of device %s: %w", d.ID, err)
	}
	all, err := scanGroups(rows)
	if err != nil {
		return nil, fmt.Errorf("models: groups of device %s: %w", d.ID, err)
	}
	var b pgx.Batch
	member := make([]bool, len(all))
	for i, g := range all {
		if g.Kind == GroupStatic {
			member[i] = true
			continue
		}
		cond, args, err := membersSQL(g.ID, g.Kind, g.Query, 1)
		if err != nil {
			continue // a stored query that no longer parses matches nothing
		}
		b.Queue(`SELECT EXISTS (SELECT 1 FROM devices d WHERE d.id = $1 AND `+cond+`)`, append([]any{d.ID}, args...)...).
			QueryRow(func(row pgx.Row) error { return row.Scan(&member[i]) })
	}
	if b.Len() > 0 {
		if err := r.db.Pool.SendBatch(ctx, &b).Close(); err != nil {
			return nil, fmt.Errorf("models: groups of device %s: %w", d.ID, err)
		}
	}
	out := []Group{}
	for i, g := range all {
		if member[i] {
			out = append(out, g)
		}
	}
	return out, nil
}
