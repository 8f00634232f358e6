package testenv

import (
	"context"
	"fmt"
	"testing"

	"fleettasks/models"
)

// SeedDevices registers product pk with n devices named d1..dn straight in
// the database and returns their references.
func SeedDevices(t testing.TB, db *models.DB, pk string, n int) []models.DeviceRef {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO products (product_key, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, pk); err != nil {
		t.Fatalf("testenv: seed product %s: %v", pk, err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO devices (product_key, device_name)
		SELECT $1, 'd' || g FROM generate_series(1, $2::int) g`, pk, n); err != nil {
		t.Fatalf("testenv: seed %d devices of %s: %v", n, pk, err)
	}
	refs := make([]models.DeviceRef, n)
	for i := range refs {
		refs[i] = models.DeviceRef{ProductKey: pk, DeviceName: fmt.Sprintf("d%d", i+1)}
	}
	return refs
}

// SeedGroup creates a group of kind ("static" or "dynamic") holding the
// given devices (static only) and returns its id.
func SeedGroup(t testing.TB, db *models.DB, name, kind, query string, members []models.DeviceRef) models.ID {
	t.Helper()
	ctx := context.Background()
	var id models.ID
	if err := db.Pool.QueryRow(ctx, `INSERT INTO groups (name, kind, query) VALUES ($1, $2, $3) RETURNING id`, name, kind, query).Scan(&id); err != nil {
		t.Fatalf("testenv: seed group %s: %v", name, err)
	}
	for _, m := range members {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO group_members (group_id, device_id)
			SELECT $1, id FROM devices WHERE product_key = $2 AND device_name = $3`, id, m.ProductKey, m.DeviceName); err != nil {
			t.Fatalf("testenv: seed group member: %v", err)
		}
	}
	return id
}
