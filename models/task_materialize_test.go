package models_test

import (
	"context"
	"encoding/json"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A task for a product of more devices than CreateTask makes sub-tasks for
// itself: it is created with the first 100,000, the workers' steps make the
// rest in device order, devices registered after the creation are not part
// of it, and it cannot complete before every sub-task exists.
func TestLargeProductTaskPrepared(t *testing.T) {
	db, tasks := newTasks(t)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	const n = models.MaxTaskDevices + 1_234
	testenv.SeedDevices(t, db, pk, n)
	task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "big", Target: models.TargetInput{Type: "PRODUCT", ProductKey: pk},
		JobDocument: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tasks.Statistics(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !task.Preparing || task.Target.DeviceCount != n || st.Total != models.MaxTaskDevices {
		t.Fatalf("created: preparing %v, %d devices, %d sub-tasks", task.Preparing, task.Target.DeviceCount, st.Total)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO devices (product_key, device_name) VALUES ($1, 'late')`, pk); err != nil {
		t.Fatal(err)
	}
	// nothing finishes a task whose sub-tasks do not all exist yet
	if _, err := db.Pool.Exec(ctx, `UPDATE subtasks SET status = 'SUCCEEDED' WHERE task_id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	if done, err := tasks.CompleteFinished(ctx); err != nil || len(done) != 0 {
		t.Fatalf("completed while preparing: %v %v", done, err)
	}
	more, err := tasks.MaterializeStep(ctx, task.ID)
	if err != nil || more {
		t.Fatalf("step: more %v, %v", more, err)
	}
	task, _ = tasks.GetTask(ctx, task.ID)
	st, _ = tasks.Statistics(ctx, task.ID)
	if task.Preparing || st.Total != n || st.Queued != 1_234 {
		t.Fatalf("after the step: preparing %v, %+v", task.Preparing, st)
	}
	var late int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM subtasks WHERE task_id = $1 AND device_name = 'late'`, task.ID).Scan(&late)
	if late != 0 {
		t.Fatal("a device registered after the task was created is part of it")
	}
	if more, err := tasks.MaterializeStep(ctx, task.ID); err != nil || more {
		t.Fatalf("a step after the last: %v %v", more, err)
	}
	if st, _ := tasks.Statistics(ctx, task.ID); st.Total != n {
		t.Fatalf("a step after the last made sub-tasks: %+v", st)
	}
}
