package models_test

import (
	"context"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// TestTaskFileKept: a task keeps what its task file was (from its creation,
// or filled in by migration 0017 for the tasks made before it), and says
// so once the file is deleted.
func TestTaskFileKept(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	files := models.NewFiles(db, t.TempDir(), []byte("0123456789abcdef-secret"), "http://dev.example/")
	tasks := models.NewTasks(db, files)
	ctx := context.Background()
	devices := testenv.SeedDevices(t, db, testenv.Prefix(t), 1)
	fw := store(t, files, models.FileFirmware, "fw-1.2.bin", []byte("firmware"))
	var made []*models.Task
	for _, sign := range []string{"MD5", "SHA256"} {
		task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "uses " + sign, JobDocument: []byte(`{"a":1}`),
			JobFile: &models.JobFileInput{FileID: fw.ID, SignMethod: sign},
			Target:  models.TargetInput{Type: models.TargetDeviceList, Devices: devices}})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, task)
	}
	// the second as a task made before the migration: filled in by it
	if _, err := db.Pool.Exec(ctx, `UPDATE tasks SET job_file = NULL, status = 'COMPLETED'`); err != nil {
		t.Fatal(err)
	}
	migrations, err := models.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		if m.Name == "task_file_snapshot" {
			if _, err := db.Pool.Exec(ctx, `ALTER TABLE tasks DROP COLUMN job_file; DROP INDEX files_sha256_idx`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Pool.Exec(ctx, m.SQL); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := files.Delete(ctx, fw.ID); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{fw.MD5, fw.SHA256} {
		got, err := tasks.GetTask(ctx, made[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if f := got.JobFile; f == nil || f.FileID != fw.ID || f.Name != "fw-1.2.bin" || f.Size != 8 || f.Sign != want || f.DeletedAt == nil {
			t.Errorf("%s: task file after the delete: %+v", got.Name, f)
		}
	}
}
