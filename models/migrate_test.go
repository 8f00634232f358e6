package models_test

import (
	"context"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func TestMigrateFromEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := models.Open(ctx, testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err == nil {
		t.Fatalf("empty database reports version %d", v)
	}
	all, _ := models.Migrations()
	// two migrators at once: each migration is applied exactly once
	errs := make(chan error, 2)
	applied := make(chan []int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			a, err := db.Migrate(ctx)
			applied <- a
			errs <- err
		}()
	}
	total := 0
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		total += len(<-applied)
	}
	if total != len(all) {
		t.Fatalf("applied %d migrations in all, want %d", total, len(all))
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != all[len(all)-1].Version {
		t.Fatalf("version %d, %v", v, err)
	}
	if again, err := db.Migrate(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v, %v", again, err)
	}
	for _, table := range []string{"products", "devices", "groups", "group_members", "files", "tasks", "subtasks", "task_counters", "device_messages", "notify_batches", "device_log_usage"} {
		var ok bool
		db.Pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok)
		if !ok {
			t.Errorf("table %s missing", table)
		}
	}
}

func TestMessagePartitions(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if err := db.EnsureMessagePartitions(ctx, now.AddDate(0, 0, -40), 45); err != nil {
		t.Fatal(err)
	}
	if err := db.EnsureMessagePartitions(ctx, now, 7); err != nil { // idempotent
		t.Fatal(err)
	}
	for _, at := range []time.Time{now.AddDate(0, 0, -35), now.AddDate(0, 0, -31), now.AddDate(0, 0, -29), now} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO device_messages (time, device_id, direction, topic, payload) VALUES ($1, 1, 'd2c', 't', '{}')`, at); err != nil {
			t.Fatal(err)
		}
	}
	dropped, err := db.DropMessagePartitions(ctx, now.AddDate(0, 0, -30))
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 10 { // 2026-01-29 .. 2026-02-07
		t.Fatalf("dropped %d partitions: %v", len(dropped), dropped)
	}
	var n int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM device_messages`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d rows kept, want 2", n)
	}
}

// Processes starting together create the same partitions at the same time
// without an "already exists" error.
func TestMessagePartitionsConcurrently(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	now := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- db.EnsureMessagePartitions(context.Background(), now, 14) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
