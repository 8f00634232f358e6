package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// filesPageUpload posts parts to POST /files (htmx when hx) and parses the answer.
func (s *testServer) filesPageUpload(hx bool, parts ...formPart) (*http.Response, *goquery.Document) {
	s.t.Helper()
	body, contentType := multipartBody(s.t, parts...)
	req := httptest.NewRequest(http.MethodPost, "/files", body)
	req.Header.Set("Content-Type", contentType)
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	resp, err := s.test(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, doc
}

func TestConsoleFilesUpload(t *testing.T) {
	s := newTestServer(t)
	_, doc := s.page("GET", "/files", nil, false)
	if testid(doc, "empty-state").Length() != 1 || testid(doc, "file-upload").AttrOr("data-progress", "") != "file-progress" ||
		doc.Find(`nav[aria-label="Main"] a[href="/files"][aria-current="page"]`).Length() != 1 {
		t.Fatalf("empty library: %q", doc.Find("main").Text())
	}

	resp, _ := s.filesPageUpload(true, kindPart("rule"), filePart("rule.json", []byte(`{"b":[1,2],"a":"x"}`)))
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("HX-Redirect") != "/files" || !strings.Contains(flash(resp), "rule.json") {
		t.Fatalf("htmx upload: %d %v %q", resp.StatusCode, resp.Header, flash(resp))
	}
	resp, _ = s.filesPageUpload(false, kindPart("firmware"), filePart("fw.bin", []byte("0123456789")))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(flash(resp), "ok|Uploaded “fw.bin”") {
		t.Fatalf("form upload: %d %q", resp.StatusCode, flash(resp))
	}

	refused := []struct {
		name  string
		parts []formPart
		want  string
	}{
		{"not JSON", []formPart{kindPart("rule"), filePart("r.json", []byte("nope"))}, "JSON"},
		{"not firmware", []formPart{kindPart("firmware"), filePart("fw.exe", []byte("x"))}, "not a firmware file"},
		{"empty", []formPart{kindPart("rule"), filePart("r.json", nil)}, "is empty"},
		{"no kind", []formPart{filePart("r.json", []byte(`{}`))}, "is required"},
		{"no file", []formPart{kindPart("rule")}, "choose a file"},
		{"too large", []formPart{kindPart("rule"), filePart("big.json", []byte(`{"a":"`+strings.Repeat("x", models.MaxRuleSize)+`"}`))}, "larger than the limit"},
	}
	for _, tc := range refused {
		resp, frag := s.filesPageUpload(true, tc.parts...)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testid(frag, "file-upload-error").Text(), tc.want) {
			t.Errorf("%s: %d %q", tc.name, resp.StatusCode, frag.Text())
		}
	}
	resp, _ = s.filesPageUpload(false, kindPart("rule"), filePart("r.json", []byte("nope")))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(flash(resp), "error|Upload refused") {
		t.Fatalf("refused form upload: %d %q", resp.StatusCode, flash(resp))
	}

	_, doc = s.page("GET", "/files", nil, false)
	rows := testid(doc, "file-row")
	if rows.Length() != 2 || rows.First().AttrOr("data-file", "") != "fw.bin" {
		t.Fatalf("list after uploads: %d rows", rows.Length())
	}
	fw := rows.First()
	if !strings.Contains(fw.Text(), "Firmware") || !strings.Contains(fw.Text(), "10 bytes") ||
		fw.Find(`[data-testid="file-md5"]`).Text() != "781e5e245d69b566979b86e28d23f2c7" ||
		fw.Find(`[data-testid="file-sha256"]`).Text() != "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882" ||
		testid(doc, "file-unused").Length() != 2 {
		t.Fatalf("firmware row: %q", fw.Text())
	}
	if _, doc = s.page("GET", "/files?kind=rule", nil, false); testid(doc, "file-row").Length() != 1 ||
		testid(doc, "file-row").AttrOr("data-file", "") != "rule.json" {
		t.Fatal("kind filter")
	}
	if resp, _ := s.page("GET", "/files?kind=script", nil, false); resp.StatusCode != 400 {
		t.Fatalf("bad kind: %d", resp.StatusCode)
	}
}

func TestConsoleFilesShowAndDelete(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	rule := s.upload("rule", "rule.json", []byte(`{"b":[1,2],"a":"x"}`))
	fw := s.upload("firmware", "fw.bin", []byte("firmware"))
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	task, err := s.Deps.Tasks.CreateTask(ctx, models.TaskInput{Name: "uses both", RuleFileID: &rule.ID,
		JobFile: &models.JobFileInput{FileID: fw.ID, SignMethod: "MD5"},
		Target:  models.TargetInput{Type: models.TargetDeviceList, Devices: devices}})
	if err != nil {
		t.Fatal(err)
	}

	_, doc := s.page("GET", "/files/"+rule.ID.String(), nil, false)
	if got := testid(doc, "file-json").Text(); got != "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": \"x\"\n}" {
		t.Fatalf("rule JSON: %q", got)
	}
	if testid(doc, "file-download").AttrOr("href", "") != "/files/"+rule.ID.String()+"/content" ||
		testid(doc, "file-user").AttrOr("data-task-id", "") != task.ID.String() || testid(doc, "file-busy").Length() != 1 {
		t.Fatalf("rule page: %q", doc.Find("main").Text())
	}
	_, doc = s.page("GET", "/files/"+fw.ID.String(), nil, false)
	if testid(doc, "file-json").Length() != 0 || !strings.Contains(testid(doc, "file-user").Text(), "task file") {
		t.Fatalf("firmware page: %q", doc.Find("main").Text())
	}
	_, doc = s.page("GET", "/files", nil, false)
	if n := testid(doc, "file-user").Length(); n != 2 || testid(doc, "file-delete-dialog").Length() != 2 {
		t.Fatalf("list: %d users", n)
	}
	if resp, _ := s.page("GET", "/files/999999", nil, false); resp.StatusCode != 404 {
		t.Fatalf("unknown file: %d", resp.StatusCode)
	}

	// refused while the task is not finished: console and API
	resp, _ := s.page("POST", "/files/"+rule.ID.String()+"/delete", url.Values{"next": {"/files"}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/files" ||
		!strings.Contains(flash(resp), "used by the unfinished task “uses both”") {
		t.Fatalf("refused delete: %d %q", resp.StatusCode, flash(resp))
	}
	resp, _ = s.page("POST", "/files/"+fw.ID.String()+"/delete", url.Values{}, false)
	if resp.Header.Get("Location") != "/files/"+fw.ID.String() || !strings.HasPrefix(flash(resp), "error|") {
		t.Fatalf("refused delete from the file page: %s %q", resp.Header.Get("Location"), flash(resp))
	}
	status, raw := s.do("DELETE", "/api/v1/files/"+fw.ID.String(), nil, nil)
	if status != http.StatusConflict || !strings.Contains(string(raw), `"code":"conflict"`) || !strings.Contains(string(raw), "uses both") {
		t.Fatalf("API delete while used: %d %s", status, raw)
	}

	if _, err := s.Deps.Tasks.CancelTask(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	resp, _ = s.page("POST", "/files/"+rule.ID.String()+"/delete", url.Values{"next": {"/files?kind=rule"}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/files?kind=rule" || !strings.Contains(flash(resp), "Deleted the file “rule.json”") {
		t.Fatalf("delete: %d %s %q", resp.StatusCode, resp.Header.Get("Location"), flash(resp))
	}
	if status, raw := s.do("DELETE", "/api/v1/files/"+fw.ID.String(), nil, nil); status != http.StatusNoContent {
		t.Fatalf("API delete: %d %s", status, raw)
	}
	if status, _ := s.do("DELETE", "/api/v1/files/"+fw.ID.String(), nil, nil); status != http.StatusNotFound {
		t.Fatalf("API delete again: %d", status)
	}
	s.assertNoUploads("after the deletes")
	// the finished task still says which task file it ran with
	var doc2 struct {
		RuleFileID *models.ID      `json:"ruleFileId"`
		JobFile    *models.JobFile `json:"jobFile"`
	}
	if status, raw := s.do("GET", "/api/v1/tasks/"+task.ID.String(), nil, &doc2); status != 200 || doc2.RuleFileID != nil || doc2.JobFile == nil ||
		doc2.JobFile.FileID != fw.ID || doc2.JobFile.Name != "fw.bin" || doc2.JobFile.SignMethod != "MD5" || doc2.JobFile.Sign != fw.MD5 ||
		doc2.JobFile.Size != 8 || doc2.JobFile.DeletedAt == nil {
		t.Fatalf("task after its files were deleted: %d %s", status, raw)
	}
	_, doc = s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	if got := testid(doc, "task-file").Text(); !strings.Contains(got, "fw.bin") || !strings.Contains(got, "MD5: "+fw.MD5) ||
		!strings.Contains(testid(doc, "task-file-deleted").Text(), "deleted on "+doc2.JobFile.DeletedAt.UTC().Format("2006-01-02")) {
		t.Errorf("task page after its file was deleted: %q", got)
	}
}
