package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

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
