package models_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func TestFileDeleteRules(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	dir := t.TempDir()
	files := models.NewFiles(db, dir, []byte("0123456789abcdef-secret"), "http://dev.example/")
	tasks := models.NewTasks(db, files)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, db, pk, 2)

	rule := store(t, files, models.FileRule, "rule.json", []byte(`{"a": 1}`))
	fw := store(t, files, models.FileFirmware, "fw.bin", []byte("firmware"))
	unused := store(t, files, models.FileFirmware, "unused.bin", []byte("x"))
	newTask := func(name string) *models.Task {
		t.Helper()
		task, err := tasks.CreateTask(ctx, models.TaskInput{Name: name, RuleFileID: &rule.ID,
			JobFile: &models.JobFileInput{FileID: fw.ID, SignMethod: "SHA256"},
			Target:  models.TargetInput{Type: models.TargetDeviceList, Devices: devices}})
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
	done, running := newTask("done"), newTask("running")
	if _, err := db.Pool.Exec(ctx, `UPDATE tasks SET status = 'COMPLETED' WHERE id = $1`, done.ID); err != nil {
		t.Fatal(err)
	}

	usage, err := files.UsageOf(ctx, []models.ID{rule.ID, fw.ID, unused.ID}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if u := usage[rule.ID]; u == nil || u.Total != 2 || len(u.Tasks) != 1 || u.Tasks[0].TaskID != running.ID || u.Tasks[0].Use != "rule" {
		t.Fatalf("usage of the rule file: %+v", u)
	}
	if u := usage[fw.ID]; u == nil || u.Total != 2 || u.Tasks[0].Use != "firmware" || !u.Tasks[0].Unfinished() {
		t.Fatalf("usage of the firmware: %+v", u)
	}
	if usage[unused.ID] != nil {
		t.Fatalf("usage of an unused file: %+v", usage[unused.ID])
	}

	// refused while "running" (SCHEDULED or IN_PROGRESS) uses them
	for _, f := range []*models.File{rule, fw} {
		err := files.Delete(ctx, f.ID)
		e, ok := models.AsError(err)
		if !ok || e.Kind != models.KindConflict || !strings.Contains(e.Message, "“running”") || strings.Contains(e.Message, "“done”") {
			t.Fatalf("delete of %s while used: %v", f.Name, err)
		}
		if _, err := files.Get(ctx, f.ID); err != nil {
			t.Fatalf("%s after a refused delete: %v", f.Name, err)
		}
	}

	// once the task is deleted (even before the purge) the files can go
	if err := tasks.DeleteTask(ctx, running.ID); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*models.File{rule, fw, unused} {
		if err := files.Delete(ctx, f.ID); err != nil {
			t.Fatalf("delete %s: %v", f.Name, err)
		}
		if _, err := files.Get(ctx, f.ID); !models.IsNotFound(err) {
			t.Fatalf("%s after delete: %v", f.Name, err)
		}
	}
	stored, _ := os.ReadDir(filepath.Join(dir, "files"))
	if len(stored) != 0 {
		t.Fatalf("%d stored files left", len(stored))
	}
	got, err := tasks.GetTask(ctx, done.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RuleFileID != nil || got.JobFileID != nil || got.JobFile == nil || got.JobFile.DeletedAt == nil || string(got.JobDocument) != `{"a":1}` {
		t.Fatalf("finished task after the delete: rule %v job %v doc %s", got.RuleFileID, got.JobFileID, got.JobDocument)
	}
	if err := files.Delete(ctx, rule.ID); !models.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}
