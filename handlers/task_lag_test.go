package handlers_test

import (
	"context"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A task whose rollout fell behind its rate says so, on its page and in the
// API; one that keeps its rate says nothing.
func TestRolloutLagShown(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	devices := testenv.SeedDevices(t, s.Deps.DB, testenv.Prefix(t), 2)
	task, err := s.Deps.Tasks.CreateTask(ctx, models.TaskInput{Name: "lag", JobDocument: []byte(`{}`),
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}})
	if err != nil {
		t.Fatal(err)
	}
	path := "/tasks/" + task.ID.String()
	if _, doc := s.page("GET", path, nil, false); testid(doc, "rollout-lag").Length() != 0 {
		t.Fatal("a lag shown for a task that keeps its rate")
	}
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE tasks SET rollout_lag_seconds = 12.4 WHERE id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	_, doc := s.page("GET", path, nil, false)
	if got := testid(doc, "rollout-lag").Text(); !strings.Contains(got, "12s behind schedule") {
		t.Fatalf("lag on the page: %q", got)
	}
	var got models.Task
	if code, body := s.do("GET", "/api/v1/tasks/"+task.ID.String(), nil, &got); code != 200 || got.RolloutLagSeconds != 12.4 {
		t.Fatalf("API: %d %s", code, body)
	}
}
