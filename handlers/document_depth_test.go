package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// TestJobDocumentDepth: a job document of MaxDocumentDepth levels is taken
// inline and as a rule file; one level more is refused, naming the
// document, inline (API and console), at a rule file's upload (API and
// console) and when a task names a rule file stored before the rule.
func TestJobDocumentDepth(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	deepest, tooDeep := nestedDocument(models.MaxDocumentDepth), nestedDocument(models.MaxDocumentDepth+1)
	withDocument := func(doc string) string {
		return `{"name":"deep","target":{"type":"DEVICE_LIST","devices":[{"productKey":"` + pk + `","deviceName":"d1"}]},"jobDocument":` + doc + `}`
	}

	if status, raw := s.do("POST", "/api/v1/tasks", withDocument(deepest), nil); status != http.StatusCreated {
		t.Fatalf("%d levels inline: %d %s", models.MaxDocumentDepth, status, raw)
	}
	for _, doc := range []string{tooDeep, nestedDocument(9000)} {
		var e apiErr
		status, raw := s.do("POST", "/api/v1/tasks", withDocument(doc), &e)
		if status != http.StatusBadRequest || e.Error.Field != "jobDocument" || !strings.Contains(e.Error.Message, "32 levels") {
			t.Errorf("%d bytes of nesting inline: %d %.300s", len(doc), status, raw)
		}
	}

	var rule models.File
	if status, raw := s.send(uploadRequest(t, "", kindPart("rule"), filePart("deep.json", []byte(deepest))), &rule); status != http.StatusCreated {
		t.Fatalf("%d-level rule upload: %d %s", models.MaxDocumentDepth, status, raw)
	}
	var e apiErr
	if status, raw := s.send(uploadRequest(t, "", kindPart("rule"), filePart("deep.json", []byte(tooDeep))), &e); status != http.StatusBadRequest ||
		e.Error.Field != "file" || !strings.Contains(e.Error.Message, "32 levels") {
		t.Errorf("%d-level rule upload: %d %s", models.MaxDocumentDepth+1, status, raw)
	}

	// the console: the rule upload of the create form, and an inline document
	form := createForm(pk)
	form.Set("devices", pk+",d1")
	form.Set("jobDocument", tooDeep)
	resp, doc := s.page("POST", "/tasks/new", form, true)
	if msg := testid(doc, "error-err-jobDocument").Text(); resp.StatusCode != 422 || !strings.Contains(msg, "32 levels") {
		t.Errorf("console inline: %d %q", resp.StatusCode, msg)
	}
	if got := doc.Find(`[name="jobDocument"]`).Text(); got != tooDeep {
		t.Errorf("console inline: document kept as %q", got)
	}
	body, contentType := multipartBody(t, formPart{name: "ruleFile", filename: "deep.json", body: []byte(tooDeep)})
	req := httptest.NewRequest("POST", "/console/files?kind=rule", body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("HX-Request", "true")
	resp, raw := s.fetch(req)
	if resp.StatusCode != 422 || !strings.Contains(string(raw), "32 levels") {
		t.Errorf("console rule upload: %d %.300s", resp.StatusCode, raw)
	}

	// a rule file stored before the rule existed
	storage := "old" + pk
	dir := filepath.Join(s.Deps.Config.DataDir, "files")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, storage), []byte(tooDeep), 0o640); err != nil {
		t.Fatal(err)
	}
	var old models.ID
	if err := s.Deps.DB.Pool.QueryRow(context.Background(), `INSERT INTO files (kind, name, size, md5, sha256, storage_name)
		VALUES ('rule', 'old.json', $1, 'a', 'b', $2) RETURNING id`, len(tooDeep), storage).Scan(&old); err != nil {
		t.Fatal(err)
	}
	fromRule := func(id models.ID) string {
		return `{"name":"from rule","target":{"type":"DEVICE_LIST","devices":[{"productKey":"` + pk + `","deviceName":"d1"}]},"ruleFileId":"` + id.String() + `"}`
	}
	e = apiErr{}
	if status, raw := s.do("POST", "/api/v1/tasks", fromRule(old), &e); status != http.StatusBadRequest || e.Error.Field != "ruleFileId" ||
		!strings.Contains(e.Error.Message, "32 levels") {
		t.Errorf("task from a %d-level rule file: %d %s", models.MaxDocumentDepth+1, status, raw)
	}
	if status, raw := s.do("POST", "/api/v1/tasks", fromRule(rule.ID), nil); status != http.StatusCreated {
		t.Errorf("task from a %d-level rule file: %d %s", models.MaxDocumentDepth, status, raw)
	}
}
