package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// templateBody is a valid template body, as a map so that cases can break
// one field at a time.
func templateBody(name string) map[string]any {
	return map[string]any{
		"name":                     name,
		"description":              "spring firmware",
		"jobDocument":              map[string]any{"version": "2.1"},
		"qos":                      0,
		"inProgressTimeoutMinutes": 30,
		"rolloutPerMinute":         60,
		"policy":                   json.RawMessage(`{"waves":[{"count":1},{}],"abort":[{"failureType":"any","thresholdPercent":10,"minFinished":5,"action":"pause"}]}`),
	}
}

// lastAudit is the newest audit entry of action.
func (s *testServer) lastAudit(action string) (target string, changes map[string]models.Change) {
	s.t.Helper()
	var raw []byte
	err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT target, changes FROM audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1`,
		action).Scan(&target, &raw)
	if err != nil {
		s.t.Fatalf("no %s audit entry: %v", action, err)
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &changes); err != nil {
			s.t.Fatal(err)
		}
	}
	return target, changes
}

func TestTemplatesAPI(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 3)
	up, err := s.Deps.Files.Receive("fw.bin", strings.NewReader("firmware"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := s.Deps.Files.Create(context.Background(), models.FileFirmware, up)
	if err != nil {
		t.Fatal(err)
	}

	// create: 201, the template as stored, audited
	b := templateBody("Lamp firmware")
	b["jobFile"] = map[string]any{"fileId": fw.ID.String(), "signMethod": "md5"}
	var tpl models.Template
	if status, raw := s.do("POST", "/api/v1/templates", b, &tpl); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	if tpl.Name != "Lamp firmware" || string(tpl.JobDocument) != `{"version":"2.1"}` || tpl.QoS != 0 || tpl.RolloutPerMinute != 60 ||
		*tpl.InProgressTimeoutMinutes != 30 || tpl.JobFile == nil || tpl.JobFile.SignMethod != "MD5" || tpl.JobFile.Name != "fw.bin" ||
		tpl.Policy == nil || tpl.Policy.Abort[0].Action != "PAUSE" || tpl.Policy.Waves[1].Approval != "auto" {
		t.Errorf("created: %+v", tpl)
	}
	if target, _ := s.lastAudit("template.create"); target != "template:"+tpl.ID.String() {
		t.Errorf("template.create audited on %q", target)
	}
	path := "/api/v1/templates/" + tpl.ID.String()

	// refusals name the field, like the rest of the API
	for _, c := range []struct {
		name   string
		change func(b map[string]any)
		status int
		field  string
		msg    string
	}{
		{"no name", func(b map[string]any) { b["name"] = " " }, 400, "name", "1 to 128"},
		{"long name", func(b map[string]any) { b["name"] = strings.Repeat("n", 129) }, 400, "name", "1 to 128"},
		{"name taken, other case", func(b map[string]any) { b["name"] = "LAMP FIRMWARE" }, 409, "name", "already exists"},
		{"no document", func(b map[string]any) { delete(b, "jobDocument") }, 400, "jobDocument", "is required"},
		{"unknown rule file", func(b map[string]any) { delete(b, "jobDocument"); b["ruleFileId"] = "999999" }, 422, "ruleFileId", "does not exist"},
		{"firmware as rule file", func(b map[string]any) { delete(b, "jobDocument"); b["ruleFileId"] = fw.ID }, 422, "ruleFileId", "not a rule file"},
		{"unknown task file", func(b map[string]any) { b["jobFile"] = map[string]any{"fileId": "999999"} }, 422, "jobFile.fileId", "does not exist"},
		{"qos of the wrong type", func(b map[string]any) { b["qos"] = "one" }, 400, "qos", "must be of JSON type number"},
		{"qos 2", func(b map[string]any) { b["qos"] = 2 }, 400, "qos", "must be 0"},
		{"rate 0", func(b map[string]any) { b["rolloutPerMinute"] = 0 }, 400, "rolloutPerMinute", "1 to 100000"},
		{"timeout too long", func(b map[string]any) { b["inProgressTimeoutMinutes"] = 10081 }, 400, "inProgressTimeoutMinutes", "1 to 10080"},
		{"bad policy", func(b map[string]any) {
			b["policy"] = map[string]any{"waves": []any{map[string]any{"percent": 60}, map[string]any{"percent": 50}, map[string]any{}}}
		}, 400, "policy.waves[1].percent", "at most 100"},
		{"policy past its end", func(b map[string]any) { b["policy"] = map[string]any{"endAt": "2001-01-01T00:00:00Z"} }, 400, "policy.endAt", "future"},
	} {
		body := templateBody("other")
		c.change(body)
		var e apiErr
		status, raw := s.do("POST", "/api/v1/templates", body, &e)
		if status != c.status || e.Error.Field != c.field || !strings.Contains(e.Error.Message, c.msg) {
			t.Errorf("%s: %d %s, want %d on %s saying %q", c.name, status, raw, c.status, c.field, c.msg)
		}
	}

	// a file a template uses is not deleted
	var e apiErr
	if status, raw := s.do("DELETE", "/api/v1/files/"+fw.ID.String(), nil, &e); status != 409 || !strings.Contains(e.Error.Message, "the template “Lamp firmware” uses it") {
		t.Errorf("delete the template's file: %d %s", status, raw)
	}

	// get, list (by name, q any case, paged)
	var got models.Template
	if status, raw := s.do("GET", path, nil, &got); status != 200 || got.ID != tpl.ID || got.Policy == nil {
		t.Fatalf("get: %d %s", status, raw)
	}
	if status, _ := s.do("GET", "/api/v1/templates/999999", nil, nil); status != 404 {
		t.Errorf("get an unknown template: %d", status)
	}
	if status, _ := s.do("POST", "/api/v1/templates", templateBody("Another"), nil); status != 201 {
		t.Fatalf("create another: %d", status)
	}
	var list models.List[models.Template]
	if status, raw := s.do("GET", "/api/v1/templates?pageSize=1&page=2", nil, &list); status != 200 || list.Total != 2 ||
		len(list.Items) != 1 || list.Items[0].Name != "Lamp firmware" || list.Page != 2 || list.PageSize != 1 {
		t.Errorf("list page 2: %d %s", status, raw)
	}
	if s.do("GET", "/api/v1/templates?q=LAMP", nil, &list); list.Total != 1 || list.Items[0].ID != tpl.ID {
		t.Errorf("list q=LAMP: %+v", list)
	}
	if status, _ := s.do("GET", "/api/v1/templates?pageSize=500", nil, &e); status != 400 || e.Error.Field != "pageSize" {
		t.Errorf("pageSize 500: %d %+v", status, e)
	}

	// patch: the fields given; null removes; others refused by name
	if status, raw := s.do("PATCH", path, `{"description":"autumn","rolloutPerMinute":90,"inProgressTimeoutMinutes":null}`, &got); status != 200 ||
		got.Description != "autumn" || got.RolloutPerMinute != 90 || got.InProgressTimeoutMinutes != nil || got.QoS != 0 || got.JobFile == nil {
		t.Fatalf("patch: %d %s", status, raw)
	}
	if target, ch := s.lastAudit("template.update"); target != "template:"+tpl.ID.String() || ch["description"].After != "autumn" ||
		ch["rolloutPerMinute"].Before != float64(60) || ch["inProgressTimeoutMinutes"].After != nil || len(ch) != 3 {
		t.Errorf("template.update audited on %q: %+v", target, ch)
	}
	for _, c := range []struct {
		body, field string
		status      int
	}{
		{`{"target":{"type":"PRODUCT"}}`, "target", 400},
		{`{"name":"another"}`, "name", 409},
		{`{"policy":{"waves":[{"percent":150}]}}`, "policy.waves[0].percent", 400},
		{`{"jobDocument":[1]}`, "jobDocument", 400},
	} {
		if status, raw := s.do("PATCH", path, c.body, &e); status != c.status || e.Error.Field != c.field {
			t.Errorf("patch %s: %d %s, want %d on %s", c.body, status, raw, c.status, c.field)
		}
	}
	if status, _ := s.do("PATCH", "/api/v1/templates/999999", `{"description":"x"}`, &e); status != 404 {
		t.Errorf("patch an unknown template: %d", status)
	}

	// a task from the template: its settings, the request's name and
	// target, and the fields the request gives
	var task models.Task
	body := map[string]any{"name": "from template", "templateId": tpl.ID.String(), "target": map[string]any{"type": "DEVICE_LIST", "devices": devices}}
	if status, raw := s.do("POST", "/api/v1/tasks", body, &task); status != http.StatusCreated {
		t.Fatalf("task from a template: %d %s", status, raw)
	}
	if task.Name != "from template" || task.Description != "autumn" || string(task.JobDocument) != `{"version":"2.1"}` ||
		task.QoS != 0 || task.RolloutPerMinute != 90 || task.InProgressTimeoutMinutes != nil || task.JobFile == nil ||
		task.JobFile.FileID != fw.ID || task.JobFile.SignMethod != "MD5" || task.Policy == nil || len(task.Policy.Waves) != 2 {
		t.Errorf("task from the template: %+v", task)
	}
	body = map[string]any{"name": "overridden", "templateId": tpl.ID, "target": map[string]any{"type": "PRODUCT", "productKey": pk},
		"jobDocument": map[string]any{"mine": true}, "qos": 1, "rolloutPerMinute": 5, "inProgressTimeoutMinutes": 15,
		"jobFile": map[string]any{"fileId": fw.ID}, "policy": map[string]any{"waves": []any{map[string]any{"percent": 50}, map[string]any{}}}}
	if status, raw := s.do("POST", "/api/v1/tasks", body, &task); status != http.StatusCreated {
		t.Fatalf("task from a template with overrides: %d %s", status, raw)
	}
	if task.Target.Type != "PRODUCT" || string(task.JobDocument) != `{"mine":true}` || task.QoS != 1 || task.RolloutPerMinute != 5 ||
		*task.InProgressTimeoutMinutes != 15 || task.JobFile.SignMethod != "SHA256" || *task.Policy.Waves[0].Percent != 50 {
		t.Errorf("task with overrides: %+v", task)
	}
	body["templateId"] = "999999"
	if status, raw := s.do("POST", "/api/v1/tasks", body, &e); status != 422 || e.Error.Field != "templateId" {
		t.Errorf("unknown templateId: %d %s", status, raw)
	}

	// delete: 204, then 404; its tasks stay
	if status, raw := s.do("DELETE", path, nil, nil); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, raw)
	}
	if target, _ := s.lastAudit("template.delete"); target != "template:"+tpl.ID.String() {
		t.Errorf("template.delete audited on %q", target)
	}
	if status, _ := s.do("DELETE", path, nil, nil); status != 404 {
		t.Errorf("delete twice: %d", status)
	}
	if status, _ := s.do("GET", "/api/v1/tasks/"+task.ID.String(), nil, nil); status != 200 {
		t.Errorf("a task of the deleted template: %d", status)
	}
}
