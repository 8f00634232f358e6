package models_test

import (
	"strings"
	"testing"

	"fleettasks/models"
)

func TestTaskRules(t *testing.T) {
	method := "SHA256"
	for _, c := range []struct {
		status            models.TaskStatus
		failed            int64
		fileGone          bool
		cancel, rerun, cf bool
	}{
		{models.TaskScheduled, 0, false, true, false, true},
		{models.TaskInProgress, 3, false, true, false, true},
		{models.TaskCompleted, 0, false, false, false, false},
		{models.TaskCompleted, 2, false, false, true, false},
		{models.TaskCompleted, 2, true, false, false, false},
		{models.TaskTimedOut, 1, false, false, true, false},
		{models.TaskCancelled, 5, false, false, false, false},
	} {
		task := &models.Task{ID: 7, Status: c.status}
		if c.fileGone {
			task.SignMethod = &method // created with a file whose id is now NULL
		}
		s := &models.Statistics{Failed: c.failed}
		if got := task.CanCancel() == nil; got != c.cancel {
			t.Errorf("%s: cancel allowed = %v, want %v", c.status, got, c.cancel)
		}
		if got := task.CanRerun(s.Rerunnable()) == nil; got != c.rerun {
			t.Errorf("%s with %d failed, file gone %v: rerun allowed = %v, want %v", c.status, c.failed, c.fileGone, got, c.rerun)
		}
		if got := task.CanChangeConfig() == nil; got != c.cf {
			t.Errorf("%s: configuration editable = %v, want %v", c.status, got, c.cf)
		}
	}
}

// A scheduled task's Rerun says it has not started, not that it runs.
func TestRerunScheduledReason(t *testing.T) {
	task := &models.Task{ID: 7, Status: models.TaskScheduled}
	if err := task.CanRerun(0); err == nil || !strings.Contains(err.Error(), "has not started yet") {
		t.Errorf("a scheduled task's rerun: %v", err)
	}
}
