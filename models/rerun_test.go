package models_test

import (
	"context"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A finished task whose task file has since been deleted cannot be rerun:
// its devices would get a notify without the file.
func TestRerunRefusedWhenTheFileIsGone(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	files := models.NewFiles(db, t.TempDir(), []byte("0123456789abcdef0123456789abcdef"), "http://127.0.0.1:8080")
	tasks := models.NewTasks(db, files)
	ctx := context.Background()
	fw := store(t, files, models.FileFirmware, "fw.bin", []byte("firmware"))
	devices := testenv.SeedDevices(t, db, testenv.Prefix(t), 2)
	var ids []models.ID
	for _, withFile := range []bool{true, false} {
		in := models.TaskInput{Name: "fw", Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`)}
		if withFile {
			in.JobFile = &models.JobFileInput{FileID: fw.ID, SignMethod: "SHA256"}
		}
		task, err := tasks.CreateTask(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE subtasks SET status = 'FAILED' WHERE task_id = $1`, task.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE tasks SET status = 'COMPLETED' WHERE id = $1`, task.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	if err := files.Delete(ctx, fw.ID); err != nil {
		t.Fatalf("delete the file of a finished task: %v", err)
	}
	_, err := tasks.RerunTask(ctx, ids[0])
	if e, ok := models.AsError(err); !ok || e.Kind != models.KindConflict || !strings.Contains(e.Message, "task file") {
		t.Fatalf("rerun without its file: %v", err)
	}
	if task, err := tasks.RerunTask(ctx, ids[1]); err != nil || task.Status != models.TaskInProgress {
		t.Fatalf("rerun of a task without a file: %+v %v", task, err)
	}
}
