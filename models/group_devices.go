package models

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// PreviewGroupQuery parses a dynamic group query and returns the first
// limit devices it matches and how many it matches in all. A query that
// does not parse returns a *QueryError saying where.
func (r *Registry) PreviewGroupQuery(ctx context.Context, query string, limit int) ([]Device, int64, error) {
	query = strings.TrimSpace(query)
	if n := utf8.RuneCountInString(query); n > MaxGroupQueryLen {
		return nil, 0, &QueryError{Pos: MaxGroupQueryLen + 1, Msg: fmt.Sprintf("the query is %d characters long; the limit is %d", n, MaxGroupQueryLen)}
	}
	q, err := ParseGroupQuery(query)
	if err != nil {
		return nil, 0, err
	}
	cond, args := q.SQL(0)
	var total int64
	if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM devices d WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("models: preview group query: %w", err)
	}
	rows, err := r.db.Pool.Query(ctx, `SELECT `+deviceColumns+` FROM devices d WHERE `+cond+
		fmt.Sprintf(` ORDER BY d.product_key, d.device_name COLLATE natural_order LIMIT %d`, limit), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("models: preview group query: %w", err)
	}
	ds, err := r.scanDevices(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("models: preview group query: %w", err)
	}
	return ds, total, nil
}

// RemoveGroupDevices takes devices out of static group id and returns how
// many were members. A dynamic group is refused: its query decides.
func (r *Registry) RemoveGroupDevices(ctx context.Context, id ID, refs []DeviceRef) (int64, error) {
	if len(refs) == 0 {
		return 0, Invalid("devices", "is empty; name at least one device")
	}
	pks, dns := make([]string, len(refs)), make([]string, len(refs))
	for i, ref := range refs {
		pks[i], dns[i] = ref.ProductKey, ref.DeviceName
	}
	var removed int64
	err := pgx.BeginFunc(ctx, r.db.Pool, func(tx pgx.Tx) error {
		if err := lockStaticGroup(ctx, tx, id, "removed from"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM group_members m USING devices d, unnest($2::text[], $3::text[]) AS r (pk, dn)
			WHERE m.group_id = $1 AND m.device_id = d.id AND d.product_key = r.pk AND d.device_name = r.dn`, id, pks, dns)
		removed = tag.RowsAffected()
		return err
	})
	if _, ok := AsError(err); err != nil && !ok {
		return 0, fmt.Errorf("models: remove %d devices from group %s: %w", len(refs), id, err)
	}
	return removed, err
}
