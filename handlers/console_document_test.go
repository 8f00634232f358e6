package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A job document with variables is stored and shown as written (the API,
// the download); the task page adds a preview of it as the device of the
// first sub-task gets it. A document without variables has no preview.
func TestConsoleDocumentPreview(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	template := `{"url":"https://x/fw/${productKey}/${deviceName}.bin","id":"${subtaskId}","n":3}`
	var task struct {
		ID          models.ID       `json:"id"`
		JobDocument json.RawMessage `json:"jobDocument"`
	}
	code, body := s.do("POST", "/api/v1/tasks", map[string]any{"name": "vars", "jobDocument": json.RawMessage(template),
		"target": map[string]any{"type": "DEVICE_LIST", "devices": devices}}, &task)
	if code != 201 || string(task.JobDocument) != template {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := s.do("GET", "/api/v1/tasks/"+task.ID.String(), nil, &task); code != 200 || string(task.JobDocument) != template {
		t.Fatalf("the API shows %d %s, not the template", code, body)
	}
	first := s.firstSubtask(task.ID)
	_, doc := s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	preview := testid(doc, "document-preview")
	want := "{\n  \"url\": \"https://x/fw/" + pk + "/d1.bin\",\n  \"id\": \"" + first.String() + "\",\n  \"n\": 3\n}"
	if got := testid(doc, "document-preview-json").Text(); got != want {
		t.Fatalf("preview:\n%s\nwant\n%s", got, want)
	}
	if text := strings.Join(strings.Fields(preview.Text()), " "); !strings.Contains(text, "variables replaced for "+pk+"/d1, sub-task "+first.String()) {
		t.Fatalf("preview says %q", text)
	}

	plain, _ := s.consoleTask("plain", 1)
	if _, doc := s.page("GET", "/tasks/"+plain.ID.String(), nil, false); testid(doc, "document-preview").Length() != 0 {
		t.Fatal("a preview of a document without variables")
	}
}
