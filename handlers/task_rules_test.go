package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A completed task whose task file was deleted offers no Rerun: the button
// is disabled with the very message the service refuses the rerun with, in
// the console and in the API.
func TestRerunButtonFollowsTheServiceRule(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	fw := s.upload(models.FileFirmware, "fw.bin", []byte("firmware"))
	devices := testenv.SeedDevices(t, s.Deps.DB, testenv.Prefix(t), 2)
	task, err := s.Deps.Tasks.CreateTask(ctx, models.TaskInput{Name: "fw", JobDocument: []byte(`{"k":"v"}`),
		Target:  models.TargetInput{Type: models.TargetDeviceList, Devices: devices},
		JobFile: &models.JobFileInput{FileID: fw.ID, SignMethod: "SHA256"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE subtasks SET status = 'FAILED' WHERE task_id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE tasks SET status = 'COMPLETED' WHERE id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	path := "/tasks/" + task.ID.String()

	// with its file, the rerun is offered
	_, doc := s.page("GET", path, nil, false)
	if _, disabled := testid(doc, "action-rerun").Attr("disabled"); disabled {
		t.Fatalf("rerun disabled for a completed task with failed sub-tasks: %q", testid(doc, "rerun-reason").Text())
	}

	if err := s.Deps.Files.Delete(ctx, fw.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Deps.Tasks.RerunTask(ctx, task.ID)
	refused, ok := models.AsError(err)
	if !ok || refused.Kind != models.KindConflict || !strings.Contains(refused.Message, "task file") {
		t.Fatalf("RerunTask without its file: %v", err)
	}
	_, doc = s.page("GET", path, nil, false)
	if _, disabled := testid(doc, "action-rerun").Attr("disabled"); !disabled {
		t.Fatal("rerun enabled although the task file was deleted")
	}
	if got := testid(doc, "rerun-reason").Text(); got != refused.Message {
		t.Fatalf("rerun reason %q, the service says %q", got, refused.Message)
	}
	// the polled header says the same
	_, frag := s.page("GET", path+"/summary", nil, true)
	if got := testid(frag, "rerun-reason").Text(); got != refused.Message {
		t.Fatalf("polled rerun reason %q, the service says %q", got, refused.Message)
	}

	resp, _ := s.page("POST", path+"/rerun", url.Values{}, false)
	if resp.StatusCode != http.StatusSeeOther || flash(resp) != "error|"+refused.Message {
		t.Fatalf("console rerun: %d, flash %q", resp.StatusCode, flash(resp))
	}
	var e apiErr
	if status, raw := s.do("POST", "/api/v1/tasks/"+task.ID.String()+"/rerun", nil, &e); status != http.StatusConflict || e.Error.Message != refused.Message {
		t.Fatalf("API rerun: %d %s", status, raw)
	}
}

// The Cancel button and the configuration's Edit follow CanCancel and
// CanChangeConfig: offered while the task runs, gone or disabled with the
// service's message once it has finished.
func TestCancelAndEditFollowTheServiceRules(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	task, _ := s.consoleTask("lamps", 1)
	path := "/tasks/" + task.ID.String()
	_, doc := s.page("GET", path, nil, false)
	if _, disabled := testid(doc, "action-cancel").Attr("disabled"); disabled || testid(doc, "edit-config").Length() != 1 {
		t.Fatal("a running task offers no cancel or no configuration edit")
	}
	if _, err := s.Deps.Tasks.CancelTask(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Deps.Tasks.CancelTask(ctx, task.ID)
	refused, ok := models.AsError(err)
	if !ok || refused.Kind != models.KindConflict {
		t.Fatalf("second cancel: %v", err)
	}
	_, doc = s.page("GET", path, nil, false)
	if _, disabled := testid(doc, "action-cancel").Attr("disabled"); !disabled || testid(doc, "cancel-reason").Text() != refused.Message {
		t.Fatalf("cancel reason %q, the service says %q", testid(doc, "cancel-reason").Text(), refused.Message)
	}
	if testid(doc, "edit-config").Length() != 0 {
		t.Fatal("a cancelled task offers to edit its configuration")
	}
	rate := 5
	if _, err := s.Deps.Tasks.PatchTask(ctx, task.ID, models.TaskPatch{RolloutPerMinute: &rate}); err == nil || err.Error() != (&models.Task{ID: task.ID, Status: models.TaskCancelled}).CanChangeConfig().Error() {
		t.Fatalf("patch of a cancelled task: %v", err)
	}
}
