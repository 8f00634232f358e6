package handlers_test

import (
	"context"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// listTasks creates tasks named names (in that order, so the last is the
// newest) of one device each, and returns them.
func (s *testServer) listTasks(names ...string) []*models.Task {
	s.t.Helper()
	pk := testenv.Prefix(s.t)
	devices := testenv.SeedDevices(s.t, s.Deps.DB, pk, 1)
	var out []*models.Task
	for _, n := range names {
		task, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: n,
			Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`)})
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, task)
	}
	return out
}

func TestAPITaskListSort(t *testing.T) {
	s := newTestServer(t)
	s.listTasks("bravo", "alpha", "charlie")
	var list models.List[models.Task]
	if code, body := s.do("GET", "/api/v1/tasks?sort=name&pageSize=2", nil, &list); code != 200 || len(list.Items) != 2 ||
		list.Items[0].Name != "alpha" || list.Items[1].Name != "bravo" || list.PageSize != 2 || list.Total != 3 {
		t.Fatalf("sort=name: %d %s", code, body)
	}
	if code, body := s.do("GET", "/api/v1/tasks?sort=name&order=desc", nil, &list); code != 200 || list.Items[0].Name != "charlie" {
		t.Fatalf("sort=name&order=desc: %d %s", code, body)
	}
	if code, body := s.do("GET", "/api/v1/tasks", nil, &list); code != 200 || list.Items[0].Name != "charlie" || list.Items[2].Name != "bravo" {
		t.Fatalf("default: %d %s", code, body)
	}
	var e apiErr
	if code, body := s.do("GET", "/api/v1/tasks?sort=size", nil, &e); code != 400 || !strings.Contains(string(body), `"sort"`) {
		t.Fatalf("sort=size: %d %s", code, body)
	}
	if code, body := s.do("GET", "/api/v1/tasks?order=sideways", nil, &e); code != 400 || !strings.Contains(string(body), `"order"`) {
		t.Fatalf("order=sideways: %d %s", code, body)
	}
}
