package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func newTasks(t *testing.T) (*models.DB, *models.Tasks) {
	t.Parallel()
	db := testenv.DB(t)
	files := models.NewFiles(db, t.TempDir(), []byte("0123456789abcdef0123456789abcdef"), "http://127.0.0.1:8080")
	return db, models.NewTasks(db, files)
}

func TestCreateTaskOf100000Devices(t *testing.T) {
	db, tasks := newTasks(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, db, pk, models.MaxTaskDevices)
	ctx := context.Background()
	for _, target := range []models.TargetInput{
		{Type: models.TargetDeviceList, Devices: devices},
		{Type: models.TargetProduct, ProductKey: pk},
	} {
		start := time.Now()
		task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "big", Target: target, JobDocument: []byte(`{"k":"v"}`)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("created a %d-device %s task in %v", task.Target.DeviceCount, target.Type, time.Since(start))
		stats, err := tasks.Statistics(ctx, task.ID)
		if err != nil || stats.Total != models.MaxTaskDevices || stats.Queued != models.MaxTaskDevices {
			t.Fatalf("statistics = %+v, %v", stats, err)
		}
		if task.Target.ProductKey == nil || *task.Target.ProductKey != pk {
			t.Fatalf("single-product target not recorded: %+v", task.Target)
		}
	}
}

// The maintained counters agree with a real count after inserts, updates
// in any mix (status and non-status columns) and deletes.
func TestCountersMatchCount(t *testing.T) {
	db, tasks := newTasks(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, db, pk, 500)
	ctx := context.Background()
	task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "c", Target: models.TargetInput{Type: "PRODUCT", ProductKey: pk}, JobDocument: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	steps := []string{
		`UPDATE subtasks SET status = 'SENT' WHERE task_id = $1 AND id % 2 = 0`,
		`UPDATE subtasks SET progress = 50 WHERE task_id = $1`,
		`UPDATE subtasks SET status = CASE WHEN id % 3 = 0 THEN 'FAILED' ELSE 'IN_PROGRESS' END WHERE task_id = $1 AND status = 'SENT'`,
		`DELETE FROM subtasks WHERE task_id = $1 AND id % 7 = 0`,
		`UPDATE subtasks SET status = 'SUCCEEDED' WHERE task_id = $1 AND status = 'IN_PROGRESS' AND id % 5 = 0`,
	}
	for _, step := range steps {
		if _, err := db.Pool.Exec(ctx, step, task.ID); err != nil {
			t.Fatal(err)
		}
		stats, err := tasks.Statistics(ctx, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Pool.Query(ctx, `SELECT status, count(*) FROM subtasks WHERE task_id = $1 GROUP BY status`, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[models.SubStatus]int64{}
		var total int64
		for rows.Next() {
			var s models.SubStatus
			var n int64
			rows.Scan(&s, &n)
			want[s] = n
			total += n
		}
		for _, s := range models.SubtaskStatuses {
			if stats.Of(s) != want[s] {
				t.Fatalf("after %q: %s = %d, count says %d", step, s, stats.Of(s), want[s])
			}
		}
		if stats.Total != total {
			t.Fatalf("after %q: total %d, count says %d", step, stats.Total, total)
		}
	}
}

func TestCreateTaskIsAllOrNothing(t *testing.T) {
	db, tasks := newTasks(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, db, pk, 1000)
	devices = append(devices, models.DeviceRef{ProductKey: pk, DeviceName: "missing"})
	_, err := tasks.CreateTask(context.Background(), models.TaskInput{Name: "x", Target: models.TargetInput{Type: "DEVICE_LIST", Devices: devices}, JobDocument: []byte(`{}`)})
	if e, ok := models.AsError(err); !ok || e.Field != fmt.Sprintf("target.devices[%d]", 1000) {
		t.Fatalf("err = %v", err)
	}
	var n int
	db.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM tasks) + (SELECT count(*) FROM subtasks)`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows left behind", n)
	}
}
