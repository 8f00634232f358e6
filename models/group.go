package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Group kinds: a static group lists its devices; a dynamic group's members
// are the devices its query matches.
const (
	GroupStatic  = "static"
	GroupDynamic = "dynamic"
)

// MaxGroupQueryLen bounds a dynamic group's query, in characters.
const MaxGroupQueryLen = 4000

// Group is a named set of devices, possibly of several products.
type Group struct {
	ID          ID        `gorm:"column:id;primaryKey" json:"id"`
	Name        string    `gorm:"column:name" json:"name"`
	Kind        string    `gorm:"column:kind" json:"kind"`
	Query       string    `gorm:"column:query" json:"query"`
	DeviceCount int64     `gorm:"-" json:"deviceCount"`
	CreatedAt   time.Time `gorm:"column:created_at" json:"createdAt"`
}

func (Group) TableName() string { return "groups" }

// GroupInput is what a client sends to create a group.
type GroupInput struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Query string `json:"query"`
}

// Validate checks every field, names the first bad one and, for a dynamic
// group, returns the parsed query.
func (in GroupInput) Validate() (*GroupQuery, error) {
	if strings.TrimSpace(in.Name) == "" {
		return nil, Invalid("name", "is required")
	}
	if err := checkText("name", in.Name, 1, 128); err != nil {
		return nil, err
	}
	query := strings.TrimSpace(in.Query)
	switch in.Kind {
	case GroupStatic:
		if query != "" {
			return nil, Invalid("query", "a static group has no query; add its devices with POST /api/v1/groups/{id}/devices")
		}
		return nil, nil
	case GroupDynamic:
		if query == "" {
			return nil, Invalid("query", "a dynamic group needs a query, e.g. productKey = 'p1' AND deviceName LIKE 'lamp-%%'")
		}
		if n := utf8.RuneCountInString(query); n > MaxGroupQueryLen {
			return nil, Invalid("query", "is %d characters long; the limit is %d", n, MaxGroupQueryLen)
		}
		q, err := ParseGroupQuery(query)
		if err != nil {
			return nil, Invalid("query", "%s", err.Error())
		}
		return q, nil
	case "":
		return nil, Invalid("kind", "is required: static or dynamic")
	}
	return nil, Invalid("kind", "%q is not a group kind; use static or dynamic", in.Kind)
}

// CreateGroup creates a group; its name must be new.
func (r *Registry) CreateGroup(ctx context.Context, in GroupInput) (*Group, error) {
	if _, err := in.Validate(); err != nil {
		return nil, err
	}
	g := Group{Name: in.Name, Kind: in.Kind, Query: strings.TrimSpace(in.Query)}
	err := r.db.Pool.QueryRow(ctx, `INSERT INTO groups (name, kind, query) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING RETURNING id, created_at`, g.Name, g.Kind, g.Query).Scan(&g.ID, &g.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, conflictOn("name", "a group named %q already exists", in.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("models: create group %q: %w", in.Name, err)
	}
	g.CreatedAt = g.CreatedAt.UTC()
	if err := r.countMembers(ctx, []*Group{&g}); err != nil {
		return nil, err
	}
	return &g, nil
}

const groupColumns = `g.id, g.name, g.kind, g.query, g.created_at`

func scanGroups(rows pgx.Rows) ([]Group, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Group, error) {
		var g Group
		err := row.Scan(&g.ID, &g.Name, &g.Kind, &g.Query, &g.CreatedAt)
		g.CreatedAt = g.CreatedAt.UTC()
		return g, err
	})
}

// GetGroup returns group id with its device count.
func (r *Registry) GetGroup(ctx context.Context, id ID) (*Group, error) {
	rows, err := r.db.Pool.Query(ctx, `SELECT `+groupColumns+` FROM groups g WHERE g.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("models: get group %s: %w", id, err)
	}
	gs, err := scanGroups(rows)
	if err != nil {
		return nil, fmt.Errorf("models: get group %s: %w", id, err)
	}
	if len(gs) == 0 {
		return nil, NotFound("no group %s", id)
	}
	if err := r.countMembers(ctx, []*Group{&gs[0]}); err != nil {
		return nil, err
	}
	return &gs[0], nil
}

// ListGroups returns one page of groups, oldest first, with their device
// counts, and how many groups there are.
func (r *Registry) ListGroups(ctx context.Context, pg Page) ([]Group, int64, error) {
	pg = pageOf(pg)
	var total int64
	if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM groups`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("models: count groups: %w", err)
	}
	rows, err := r.db.Pool.Query(ctx, `SELECT `+groupColumns+` FROM groups g ORDER BY g.id LIMIT $1 OFFSET $2`, pg.Size, pg.Offset())
	if err != nil {
		return nil, 0, fmt.Errorf("models: list groups: %w", err)
	}
	gs, err := scanGroups(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("models: list groups: %w", err)
	}
	ptrs := make([]*Group, len(gs))
	for i := range gs {
		ptrs[i] = &gs[i]
	}
	if err := r.countMembers(ctx, ptrs); err != nil {
		return nil, 0, err
	}
	return gs, total, nil
}

// countMembers fills DeviceCount of every group in one round trip: the
// member rows of a static group, the matching devices of a dynamic one.
func (r *Registry) countMembers(ctx context.Context, gs []*Group) error {
	var b pgx.Batch
	for _, g := range gs {
		sql, args := `SELECT count(*) FROM group_members WHERE group_id = $1`, []any{g.ID}
		if g.Kind == GroupDynamic {
			cond, condArgs, err := membersSQL(g.ID, g.Kind, g.Query, 0)
			if err != nil {
				return err
			}
			sql, args = `SELECT count(*) FROM devices d WHERE `+cond, condArgs
		}
		b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
			return row.Scan(&g.DeviceCount)
		})
	}
	if len(gs) == 0 {
		return nil
	}
	if err := r.db.Pool.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("models: count group members: %w", err)
	}
	return nil
}

// membersSQL is a condition on devices d that holds for the members of a
// group, with placeholders from $argOffset+1.
func membersSQL(id ID, kind, query string, argOffset int) (string, []any, error) {
	if kind == GroupStatic {
		return fmt.Sprintf("EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = $%d AND m.device_id = d.id)", argOffset+1), []any{id}, nil
	}
	q, err := ParseGroupQuery(query)
	if err != nil {
		return "", nil, fmt.Errorf("models: group %s has a bad query %q: %w", id, query, err)
	}
	sql, args := q.SQL(argOffset)
	return sql, args, nil
}

// membersCondition is membersSQL for group id, looked up; a missing group
// is reported on the groupId filter.
func (r *Registry) membersCondition(ctx context.Context, id ID, argOffset int) (string, []any, error) {
	var kind, query string
	err := r.db.Pool.QueryRow(ctx, `SELECT kind, query FROM groups WHERE id = $1`, id).Scan(&kind, &query)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, &Error{Kind: KindNotFound, Field: "groupId", Message: fmt.Sprintf("no group %s", id)}
	}
	if err != nil {
		return "", nil, fmt.Errorf("models: get group %s: %w", id, err)
	}
	return membersSQL(id, kind, query, argOffset)
}

// AddGroupDevices adds up to 10,000 registered devices to static group id
// and returns how many were not members yet. Devices already in the group
// are skipped; a device that does not exist fails the whole call.
func (r *Registry) AddGroupDevices(ctx context.Context, id ID, refs []DeviceRef) (int64, error) {
	if len(refs) == 0 {
		return 0, Invalid("devices", "is empty; send at least one device")
	}
	if len(refs) > MaxDevicesPerCall {
		return 0, Invalid("devices", "has %d entries; the limit is 10,000 per call", len(refs))
	}
	pks, dns := make([]string, len(refs)), make([]string, len(refs))
	for i, ref := range refs {
		if err := checkProductKey(fmt.Sprintf("devices[%d].productKey", i), ref.ProductKey); err != nil {
			return 0, err
		}
		if err := checkDeviceName(fmt.Sprintf("devices[%d].deviceName", i), ref.DeviceName); err != nil {
			return 0, err
		}
		pks[i], dns[i] = ref.ProductKey, ref.DeviceName
	}
	var added int64
	err := pgx.BeginFunc(ctx, r.db.Pool, func(tx pgx.Tx) error {
		if err := lockStaticGroup(ctx, tx, id, "added to"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT d.id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r (pk, dn, i)
			LEFT JOIN devices d ON d.product_key = r.pk AND d.device_name = r.dn ORDER BY r.i`, pks, dns)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[*int64])
		if err != nil {
			return err
		}
		for i, id := range ids {
			if id == nil {
				return Unprocessable(fmt.Sprintf("devices[%d]", i), "no device %s/%s", pks[i], dns[i])
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO group_members (group_id, device_id) SELECT $1, unnest($2::bigint[])
			ON CONFLICT DO NOTHING`, id, ids)
		added = tag.RowsAffected()
		return err
	})
	if _, ok := AsError(err); err != nil && !ok {
		return 0, fmt.Errorf("models: add %d devices to group %s: %w", len(refs), id, err)
	}
	return added, err
}

// lockStaticGroup locks group id against deletion for the transaction and
// refuses a dynamic group, whose members its query decides: their devices
// cannot be <verb> it ("added to", "removed from").
func lockStaticGroup(ctx context.Context, tx pgx.Tx, id ID, verb string) error {
	var kind string
	err := tx.QueryRow(ctx, `SELECT kind FROM groups WHERE id = $1 FOR SHARE`, id).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return NotFound("no group %s", id)
	} else if err != nil {
		return err
	}
	if kind == GroupDynamic {
		return Unprocessable("devices", "devices cannot be %s a dynamic group: its members are the devices matching its query", verb)
	}
	return nil
}

// RenameGroup gives group id a new name, which must be 1..128 characters
// and not taken by another group.
func (r *Registry) RenameGroup(ctx context.Context, id ID, name string) (*Group, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, Invalid("name", "is required")
	}
	if err := checkText("name", name, 1, 128); err != nil {
		return nil, err
	}
	var got ID
	err := r.db.Pool.QueryRow(ctx, `UPDATE groups SET name = $2 WHERE id = $1 RETURNING id`, id, name).Scan(&got)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, NotFound("group %s not found", id)
	case pgCode(err) == "23505":
		return nil, conflictOn("name", "a group named %q already exists", name)
	case err != nil:
		return nil, fmt.Errorf("models: rename group %s: %w", id, err)
	}
	return r.GetGroup(ctx, id)
}
