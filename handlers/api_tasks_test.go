package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"fleettasks/handlers"
	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// taskBody is a valid create request for devices, as a map so that cases
// can break one field at a time.
func taskBody(devices []models.DeviceRef) map[string]any {
	return map[string]any{
		"name":        "upgrade-lamps",
		"type":        "CUSTOM",
		"description": "spring firmware",
		"target":      map[string]any{"type": "DEVICE_LIST", "devices": devices},
		"jobDocument": map[string]any{"version": "2.1", "url": "https://example.invalid/fw"},
	}
}

func TestCreateTaskValidation(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 3)
	empty := pk + "e"
	testenv.SeedDevices(t, s.Deps.DB, empty, 0)
	dynamic := testenv.SeedGroup(t, s.Deps.DB, "dyn-"+pk, "dynamic", "productKey = '"+pk+"'", nil)
	var ruleFileID models.ID
	if err := s.Deps.DB.Pool.QueryRow(context.Background(), `INSERT INTO files (kind, name, size, md5, sha256, storage_name)
		VALUES ('firmware', 'fw.bin', 1, 'a', 'b', $1) RETURNING id`, "s"+pk).Scan(&ruleFileID); err != nil {
		t.Fatal(err)
	}
	many := make([]models.DeviceRef, models.MaxTaskDevices+1)
	for i := range many {
		many[i] = models.DeviceRef{ProductKey: pk, DeviceName: fmt.Sprintf("x%d", i)}
	}
	big := `{"k":"` + strings.Repeat("a", models.MaxRuleSize) + `"}`

	cases := []struct {
		name   string
		change func(b map[string]any)
		status int
		field  string
		msg    string
	}{
		{"empty name", func(b map[string]any) { b["name"] = "  " }, 400, "name", "1 to 128"},
		{"long name", func(b map[string]any) { b["name"] = strings.Repeat("n", 129) }, 400, "name", "1 to 128"},
		{"wrong type", func(b map[string]any) { b["type"] = "OTA" }, 400, "type", "CUSTOM"},
		{"long description", func(b map[string]any) { b["description"] = strings.Repeat("d", 1001) }, 400, "description", "1000"},
		{"no target type", func(b map[string]any) { b["target"] = map[string]any{} }, 400, "target.type", "required"},
		{"bad target type", func(b map[string]any) { b["target"] = map[string]any{"type": "ALL"} }, 400, "target.type", "DEVICE_LIST"},
		{"empty device list", func(b map[string]any) { b["target"] = map[string]any{"type": "DEVICE_LIST"} }, 400, "target.devices", "empty"},
		{"100,001 devices", func(b map[string]any) { b["target"] = map[string]any{"type": "DEVICE_LIST", "devices": many} }, 400, "target.devices", "100000"},
		{"bad device name", func(b map[string]any) {
			b["target"] = map[string]any{"type": "DEVICE_LIST", "devices": []models.DeviceRef{devices[0], {ProductKey: pk, DeviceName: "a b"}}}
		}, 400, "target.devices[1].deviceName", "not allowed"},
		{"bad product key", func(b map[string]any) {
			b["target"] = map[string]any{"type": "DEVICE_LIST", "devices": []models.DeviceRef{{ProductKey: "p/1", DeviceName: "d1"}}}
		}, 400, "target.devices[0].productKey", "not allowed"},
		{"duplicate device", func(b map[string]any) {
			b["target"] = map[string]any{"type": "DEVICE_LIST", "devices": []models.DeviceRef{devices[0], devices[1], devices[0]}}
		}, 400, "target.devices[2]", "listed twice"},
		{"unknown device", func(b map[string]any) {
			b["target"] = map[string]any{"type": "DEVICE_LIST", "devices": []models.DeviceRef{devices[0], {ProductKey: pk, DeviceName: "ghost"}}}
		}, 422, "target.devices[1]", "not registered: " + pk + "/ghost"},
		{"unknown product", func(b map[string]any) { b["target"] = map[string]any{"type": "PRODUCT", "productKey": "nope" + pk} }, 422, "target.productKey", "does not exist"},
		{"product without devices", func(b map[string]any) { b["target"] = map[string]any{"type": "PRODUCT", "productKey": empty} }, 422, "target.productKey", "no devices"},
		{"group without id", func(b map[string]any) { b["target"] = map[string]any{"type": "GROUP"} }, 400, "target.groupId", "required"},
		{"unknown group", func(b map[string]any) { b["target"] = map[string]any{"type": "GROUP", "groupId": "999999"} }, 422, "target.groupId", "does not exist"},
		{"dynamic group", func(b map[string]any) { b["target"] = map[string]any{"type": "GROUP", "groupId": dynamic} }, 422, "target.groupId", "dynamic groups cannot be task targets"},
		{"no document", func(b map[string]any) { delete(b, "jobDocument") }, 400, "jobDocument", "required"},
		{"document and rule file", func(b map[string]any) { b["ruleFileId"] = "1" }, 400, "jobDocument", "not both"},
		{"document array", func(b map[string]any) { b["jobDocument"] = []int{1} }, 400, "jobDocument", "JSON object"},
		{"document string", func(b map[string]any) { b["jobDocument"] = "x" }, 400, "jobDocument", "JSON object"},
		{"document over 64 KB", func(b map[string]any) { b["jobDocument"] = json.RawMessage(big) }, 413, "jobDocument", "64 KB"},
		{"unknown rule file", func(b map[string]any) { delete(b, "jobDocument"); b["ruleFileId"] = "424242" }, 422, "ruleFileId", "does not exist"},
		{"firmware as rule file", func(b map[string]any) { delete(b, "jobDocument"); b["ruleFileId"] = ruleFileID }, 422, "ruleFileId", "firmware"},
		{"unknown job file", func(b map[string]any) { b["jobFile"] = map[string]any{"fileId": "424242", "signMethod": "MD5"} }, 422, "jobFile.fileId", "does not exist"},
		{"job file without id", func(b map[string]any) { b["jobFile"] = map[string]any{"signMethod": "MD5"} }, 400, "jobFile.fileId", "required"},
		{"bad sign method", func(b map[string]any) { b["jobFile"] = map[string]any{"fileId": ruleFileID, "signMethod": "CRC32"} }, 400, "jobFile.signMethod", "MD5 or SHA256"},
		{"rollout 0", func(b map[string]any) { b["rolloutPerMinute"] = 0 }, 400, "rolloutPerMinute", "1 to 100000"},
		{"rollout 100,001", func(b map[string]any) { b["rolloutPerMinute"] = 100001 }, 400, "rolloutPerMinute", "1 to 100000"},
		{"rollout not a number", func(b map[string]any) { b["rolloutPerMinute"] = "fast" }, 400, "rolloutPerMinute", "number"},
		{"qos 2", func(b map[string]any) { b["qos"] = 2 }, 400, "qos", "0 (at most once) or 1"},
		{"timeout 0", func(b map[string]any) { b["inProgressTimeoutMinutes"] = 0 }, 400, "inProgressTimeoutMinutes", "1 to 10080"},
		{"timeout 10,081", func(b map[string]any) { b["inProgressTimeoutMinutes"] = 10081 }, 400, "inProgressTimeoutMinutes", "1 to 10080"},
		{"scheduled in the past", func(b map[string]any) { b["scheduledAt"] = time.Now().Add(-time.Minute) }, 400, "scheduledAt", "future"},
		{"scheduled 31 days ahead", func(b map[string]any) { b["scheduledAt"] = time.Now().Add(31 * 24 * time.Hour) }, 400, "scheduledAt", "30 days"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := taskBody(devices)
			tc.change(body)
			var e apiErr
			status, raw := s.do(http.MethodPost, "/api/v1/tasks", body, &e)
			if status != tc.status || e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.msg) {
				t.Fatalf("got %d %s; want %d field %q message containing %q", status, raw, tc.status, tc.field, tc.msg)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		var e apiErr
		if status, raw := s.do(http.MethodPost, "/api/v1/tasks", "{name:", &e); status != 400 || e.Error.Code != "invalid_argument" {
			t.Fatalf("got %d %s", status, raw)
		}
	})
	var n int64
	if err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM tasks`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused requests left %d tasks (%v)", n, err)
	}
}

func TestCreateTaskTargets(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 5)
	other := testenv.SeedDevices(t, s.Deps.DB, pk+"o", 2)
	group := testenv.SeedGroup(t, s.Deps.DB, "g-"+pk, "static", "", []models.DeviceRef{devices[0], other[1]})

	cases := []struct {
		name    string
		target  map[string]any
		devices []string
	}{
		{"device list", map[string]any{"type": "DEVICE_LIST", "devices": []models.DeviceRef{devices[3], devices[1]}}, []string{"d4", "d2"}},
		{"product", map[string]any{"type": "product", "productKey": pk}, []string{"d1", "d2", "d3", "d4", "d5"}},
		{"static group", map[string]any{"type": "GROUP", "groupId": group}, []string{"d1", "d2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := taskBody(nil)
			body["target"] = tc.target
			var task models.Task
			if status, raw := s.do(http.MethodPost, "/api/v1/tasks", body, &task); status != 201 {
				t.Fatalf("create: %d %s", status, raw)
			}
			if task.Status != models.TaskInProgress || task.Target.DeviceCount != len(tc.devices) || task.ExpiresAt == nil {
				t.Fatalf("task = %+v", task)
			}
			var stats models.Statistics
			s.do(http.MethodGet, "/api/v1/tasks/"+task.ID.String()+"/statistics", nil, &stats)
			if stats.Total != int64(len(tc.devices)) || stats.Queued != stats.Total {
				t.Fatalf("statistics = %+v, want %d queued", stats, len(tc.devices))
			}
			var list models.List[models.Subtask]
			s.do(http.MethodGet, "/api/v1/tasks/"+task.ID.String()+"/subtasks", nil, &list)
			var names []string
			for _, st := range list.Items {
				names = append(names, st.DeviceName)
				if st.Status != models.SubQueued || st.Attempt != 1 {
					t.Fatalf("sub-task %+v", st)
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.devices, ",") || list.Total != int64(len(tc.devices)) {
				t.Fatalf("sub-tasks %v (total %d), want %v", names, list.Total, tc.devices)
			}
		})
	}
}

func TestTaskReadAndPatch(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 4)
	body := taskBody(devices)
	body["jobDocument"] = json.RawMessage(`{ "status": "x",  "version" : "2.1" }`)
	body["scheduledAt"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	body["qos"] = 0
	var task models.Task
	if status, raw := s.do(http.MethodPost, "/api/v1/tasks", body, &task); status != 201 {
		t.Fatalf("create: %d %s", status, raw)
	}
	if task.Status != models.TaskScheduled || task.StartedAt != nil || task.QoS != 0 || task.RolloutPerMinute != 1000 {
		t.Fatalf("scheduled task = %+v", task)
	}
	path := "/api/v1/tasks/" + task.ID.String()

	if status, raw := s.do(http.MethodGet, path+"/document", nil, nil); status != 200 || string(raw) != `{"status":"x","version":"2.1"}` {
		t.Fatalf("document: %d %s", status, raw)
	}
	var got models.Task
	if status, raw := s.do(http.MethodPatch, path, `{"description":"new","rolloutPerMinute":5,"inProgressTimeoutMinutes":30}`, &got); status != 200 {
		t.Fatalf("patch: %d %s", status, raw)
	}
	if got.Description != "new" || got.RolloutPerMinute != 5 || got.InProgressTimeoutMinutes == nil || *got.InProgressTimeoutMinutes != 30 {
		t.Fatalf("patched = %+v", got)
	}
	if s.do(http.MethodPatch, path, `{"inProgressTimeoutMinutes":null}`, &got); got.InProgressTimeoutMinutes != nil {
		t.Fatalf("timeout not cleared: %+v", got)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"name":"x"}`, "name"},
		{`{"rolloutPerMinute":0}`, "rolloutPerMinute"},
		{`{"inProgressTimeoutMinutes":10081}`, "inProgressTimeoutMinutes"},
		{`{"description":"` + strings.Repeat("d", 1001) + `"}`, "description"},
		{`{"qos":0}`, "qos"},
	} {
		var e apiErr
		if status, raw := s.do(http.MethodPatch, path, tc.body, &e); status != 400 || e.Error.Field != tc.field {
			t.Errorf("patch %s: %d %s, want 400 on %s", tc.body, status, raw, tc.field)
		}
	}
	// a finished task keeps its configuration but its description can change
	s.Deps.DB.Pool.Exec(context.Background(), `UPDATE tasks SET status = 'COMPLETED' WHERE id = $1`, task.ID)
	if status, raw := s.do(http.MethodPatch, path, `{"rolloutPerMinute":7}`, nil); status != 409 {
		t.Fatalf("patch of a finished task: %d %s", status, raw)
	}
	if status, _ := s.do(http.MethodPatch, path, `{"description":"after"}`, nil); status != 200 {
		t.Fatalf("description of a finished task: %d", status)
	}

	var list models.List[models.Task]
	for _, q := range []string{"?q=UPGRADE", "?status=completed", "?productKey=" + pk} {
		if status, raw := s.do(http.MethodGet, "/api/v1/tasks"+q, nil, &list); status != 200 || list.Total != 1 || list.Items[0].ID != task.ID {
			t.Fatalf("list %s: %d %s", q, status, raw)
		}
	}
	if s.do(http.MethodGet, "/api/v1/tasks?q=nothing", nil, &list); list.Total != 0 || list.Items == nil {
		t.Fatalf("empty list = %+v", list)
	}
	var e apiErr
	if status, _ := s.do(http.MethodGet, "/api/v1/tasks?status=DONE", nil, &e); status != 400 || e.Error.Field != "status" {
		t.Fatalf("bad status filter: %d %+v", status, e)
	}
	if status, _ := s.do(http.MethodGet, "/api/v1/tasks?pageSize=201", nil, &e); status != 400 || e.Error.Field != "pageSize" {
		t.Fatalf("bad pageSize: %d %+v", status, e)
	}
	for _, p := range []string{"/api/v1/tasks/999999", "/api/v1/tasks/abc", "/api/v1/tasks/999999/statistics", "/api/v1/tasks/999999/subtasks"} {
		if status, _ := s.do(http.MethodGet, p, nil, &e); status != 404 || e.Error.Code != "not_found" {
			t.Fatalf("%s: %d %+v", p, status, e)
		}
	}
}

func TestSubtaskFiltersAndPaging(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 30)
	var task models.Task
	if status, raw := s.do(http.MethodPost, "/api/v1/tasks", taskBody(devices), &task); status != 201 {
		t.Fatalf("create: %d %s", status, raw)
	}
	// d1..d10 failed, d11..d15 timed out, the rest queued
	ctx := context.Background()
	s.Deps.DB.Pool.Exec(ctx, `UPDATE subtasks SET status = 'FAILED' WHERE task_id = $1 AND device_name IN ('d1','d2','d3','d4','d5','d6','d7','d8','d9','d10')`, task.ID)
	s.Deps.DB.Pool.Exec(ctx, `UPDATE subtasks SET status = 'TIMED_OUT' WHERE task_id = $1 AND device_name IN ('d11','d12','d13','d14','d15')`, task.ID)
	path := "/api/v1/tasks/" + task.ID.String()

	var stats models.Statistics
	s.do(http.MethodGet, path+"/statistics", nil, &stats)
	if stats.Failed != 10 || stats.TimedOut != 5 || stats.Queued != 15 || stats.Total != 30 || stats.Done() != 15 {
		t.Fatalf("statistics = %+v", stats)
	}
	// keyset paging through FAILED,TIMED_OUT by 4
	var seen []string
	after := ""
	for i := 0; i < 10; i++ {
		var list models.List[models.Subtask]
		if status, raw := s.do(http.MethodGet, path+"/subtasks?status=failed,TIMED_OUT&pageSize=4"+after, nil, &list); status != 200 {
			t.Fatalf("page: %d %s", status, raw)
		}
		if list.Total != 15 {
			t.Fatalf("total = %d", list.Total)
		}
		if len(list.Items) == 0 {
			break
		}
		for _, st := range list.Items {
			seen = append(seen, st.DeviceName)
		}
		after = "&after=" + list.Items[len(list.Items)-1].ID.String()
	}
	want := "d1,d2,d3,d4,d5,d6,d7,d8,d9,d10,d11,d12,d13,d14,d15"
	if strings.Join(seen, ",") != want {
		t.Fatalf("keyset pages = %v", seen)
	}
	// OFFSET paging and name search
	var list models.List[models.Subtask]
	s.do(http.MethodGet, path+"/subtasks?page=2&pageSize=10", nil, &list)
	if len(list.Items) != 10 || list.Items[0].DeviceName != "d11" || list.Total != 30 {
		t.Fatalf("page 2 = %+v", list)
	}
	s.do(http.MethodGet, path+"/subtasks?q=d2&status=QUEUED", nil, &list)
	if list.Total != 10 || len(list.Items) != 10 { // d20..d29 are queued; d2 failed
		t.Fatalf("search = %d items, total %d", len(list.Items), list.Total)
	}
	var e apiErr
	if status, _ := s.do(http.MethodGet, path+"/subtasks?status=DONE", nil, &e); status != 400 || e.Error.Field != "status" {
		t.Fatalf("bad status: %d %+v", status, e)
	}
	// a device's history across tasks
	var dl models.List[models.Subtask]
	if status, raw := s.do(http.MethodGet, "/api/v1/devices/"+pk+"/d3/subtasks", nil, &dl); status != 200 || dl.Total != 1 || dl.Items[0].TaskName != "upgrade-lamps" {
		t.Fatalf("device sub-tasks: %d %s", status, raw)
	}
	if status, _ := s.do(http.MethodGet, "/api/v1/devices/"+pk+"/ghost/subtasks", nil, &e); status != 404 {
		t.Fatalf("unknown device: %d", status)
	}
}

func TestReadyzNamesWhatIsDown(t *testing.T) {
	s := newTestServer(t)
	d := s.Deps
	d.Ready = []handlers.ReadyCheck{
		{Name: "postgres", Check: func(ctx context.Context) error { return d.DB.Pool.Ping(ctx) }},
		{Name: "mqtt", Check: func(context.Context) error { return fmt.Errorf("dial tcp 127.0.0.1:1: connection refused") }},
	}
	app := handlers.New(d)
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 503 || body["postgres"] != "ok" || !strings.Contains(body["mqtt"], "refused") {
		t.Fatalf("readyz: %d %v", resp.StatusCode, body)
	}
}

// Every response carries the security headers; the CSP allows no inline
// script and no framing.
func TestSecurityHeaders(t *testing.T) {
	s := newTestServer(t)
	for _, path := range []string{"/tasks", "/tasks/new", "/devices", "/groups", "/files", "/users", "/audit", "/login", "/api/v1/tasks", "/healthz", "/tasks/999"} {
		resp, err := s.test(httptest.NewRequest(http.MethodGet, path, nil))
		if err != nil {
			t.Fatal(err)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "same-origin" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
}
