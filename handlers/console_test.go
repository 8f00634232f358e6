package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/assets"
	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// page sends a console request (htmx when hx) and parses the HTML answer.
func (s *testServer) page(method, path string, form url.Values, hx bool) (*http.Response, *goquery.Document) {
	s.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	resp, err := s.test(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, doc
}

func testid(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`[data-testid="` + id + `"]`)
}

// consoleTask creates a task of n devices through the service layer.
func (s *testServer) consoleTask(name string, n int) (*models.Task, []models.DeviceRef) {
	s.t.Helper()
	pk := testenv.Prefix(s.t)
	devices := testenv.SeedDevices(s.t, s.Deps.DB, pk, n)
	task, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: name,
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`)})
	if err != nil {
		s.t.Fatal(err)
	}
	return task, devices
}

func TestConsoleFullPageAndFragment(t *testing.T) {
	s := newTestServer(t)
	resp, doc := s.page("GET", "/tasks", nil, false)
	if resp.StatusCode != 200 || doc.Find("html").Length() != 1 || doc.Find(`nav[aria-label="Main"]`).Length() != 1 {
		t.Fatalf("GET /tasks: status %d, full page = %v", resp.StatusCode, doc.Find("html body nav").Length())
	}
	if testid(doc, "empty-state").Find(`a[href="/tasks/new"]`).Length() != 1 {
		t.Fatal("the empty state does not lead to Create Task")
	}
	if v, _ := doc.Find(`meta[name="htmx-config"]`).Attr("content"); !strings.Contains(v, `"422"`) {
		t.Fatalf("htmx-config = %q", v)
	}
	_, frag := s.page("GET", "/tasks", nil, true)
	if frag.Find("nav[aria-label=Main]").Length() != 0 || frag.Find("#task-results").Length() != 1 {
		t.Fatal("the htmx answer is not the fragment")
	}
	resp, _ = s.page("GET", "/", nil, false)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/tasks" {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// static files: hashed URL, a year of cache; plain names are not served
	href, _ := doc.Find(`link[rel="stylesheet"]`).Attr("href")
	if href != assets.URL("app.css") || !regexp.MustCompile(`^/static/app\.[0-9a-f]{8}\.css$`).MatchString(href) {
		t.Fatalf("stylesheet href %q", href)
	}
	code, body := s.do("GET", href, nil, nil)
	if code != 200 || len(body) < 1000 {
		t.Fatalf("GET %s = %d (%d bytes)", href, code, len(body))
	}
	req := httptest.NewRequest("GET", href, nil)
	r, _ := s.test(req)
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("Cache-Control %q, Content-Type %q", cc, r.Header.Get("Content-Type"))
	}
	if code, _ := s.do("GET", "/static/app.css", nil, nil); code != 404 {
		t.Fatalf("unhashed name: %d, want 404", code)
	}
}

func TestConsoleTaskListFilters(t *testing.T) {
	s := newTestServer(t)
	a, _ := s.consoleTask("alpha lamps", 3)
	s.consoleTask("beta", 1)
	if _, err := s.Deps.Tasks.CancelTask(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	_, doc := s.page("GET", "/tasks", nil, false)
	if n := testid(doc, "task-row").Length(); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
	_, doc = s.page("GET", "/tasks?q=ALPHA", nil, true)
	rows := testid(doc, "task-row")
	if rows.Length() != 1 || !strings.Contains(rows.Text(), "alpha lamps") || !strings.Contains(rows.Text(), "3 devices") {
		t.Fatalf("search: %q", rows.Text())
	}
	if rows.Find(`[data-testid="progress-bar"] div`).Length() == 0 {
		t.Fatal("no progress bar segments")
	}
	_, doc = s.page("GET", "/tasks?status=CANCELLED", nil, true)
	if testid(doc, "task-row").Length() != 1 || testid(doc, "status-badge").AttrOr("data-status", "") != "CANCELLED" {
		t.Fatal("status filter")
	}
	resp, _ := s.page("GET", "/tasks?status=NOPE", nil, false)
	if resp.StatusCode != 400 {
		t.Fatalf("bad status filter: %d", resp.StatusCode)
	}
}

func TestConsoleTaskPage(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("lamps", 60)
	id := task.ID.String()
	_, doc := s.page("GET", "/tasks/"+id, nil, false)
	if testid(doc, "task-name").Text() != "lamps" || testid(doc, "task-info").Length() != 1 {
		t.Fatal("task page")
	}
	if v := doc.Find("#task-live").AttrOr("sse-connect", ""); !strings.HasPrefix(v, "/tasks/"+id+"/events") {
		t.Fatalf("a running task's page streams its updates: sse-connect %q", v)
	}
	if testid(doc, "summary-total").Text() != "60" || testid(doc, "count-QUEUED").Text() != "60" {
		t.Fatal("summary counts")
	}
	// keyset pages of 50
	if n := testid(doc, "subtask-row").Length(); n != 50 {
		t.Fatalf("%d rows on the first page", n)
	}
	next, _ := testid(doc, "next-page").Attr("hx-get")
	if !strings.Contains(next, "after=") {
		t.Fatalf("next page %q has no keyset", next)
	}
	_, frag := s.page("GET", next, nil, true)
	if n := testid(frag, "subtask-row").Length(); n != 10 || testid(frag, "next-page").Length() != 0 {
		t.Fatalf("second page: %d rows", n)
	}
	_, frag = s.page("GET", "/tasks/"+id+"/subtasks?status=FAILED", nil, true)
	if testid(frag, "subtasks-empty").Length() != 1 || testid(frag, "filter-Failed").AttrOr("aria-current", "") != "true" {
		t.Fatal("Failed filter")
	}
	_, frag = s.page("GET", "/tasks/"+id+"/subtasks?q=d1", nil, true)
	if n := testid(frag, "subtask-row").Length(); n != 11 { // d1, d10..d19
		t.Fatalf("device search: %d rows", n)
	}
	sid, _ := testid(frag, "execution-details").First().Attr("hx-get")
	resp, frag := s.page("GET", sid, nil, true)
	if resp.StatusCode != 200 || testid(frag, "subtask-detail").Length() != 1 || testid(frag, "status-details").Text() != "—" {
		t.Fatalf("execution details: %d", resp.StatusCode)
	}

	// actions: rerun is disabled with its reason while the task runs
	if _, ok := testid(doc, "action-rerun").Attr("disabled"); !ok || !strings.Contains(testid(doc, "rerun-reason").Text(), "running") {
		t.Fatal("rerun is not disabled with a reason")
	}
	resp, _ = s.page("POST", "/tasks/"+id+"/rerun", url.Values{}, false)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(flash(resp), "error|") {
		t.Fatalf("rerun of a running task: %d, flash %q", resp.StatusCode, flash(resp))
	}
	resp, _ = s.page("POST", "/tasks/"+id+"/cancel", url.Values{}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tasks/"+id || !strings.Contains(flash(resp), "ok|") {
		t.Fatalf("cancel: %d %s", resp.StatusCode, flash(resp))
	}
	resp, _ = s.page("POST", "/tasks/"+id+"/cancel", url.Values{}, false)
	if !strings.Contains(flash(resp), "only a scheduled or processing task can be cancelled") {
		t.Fatalf("second cancel: flash %q", flash(resp))
	}
	_, frag = s.page("GET", "/tasks/"+id+"/summary", nil, true)
	if frag.Find(`#task-header[hx-swap-oob]`).Length() != 1 {
		t.Fatal("the summary does not refresh the header out of band")
	}

	// CSV export, streamed
	req := httptest.NewRequest("GET", "/tasks/"+id+"/subtasks.csv", nil)
	r, err := s.test(req)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = io.Copy(&body, r.Body)
	r.Body.Close()
	if lines := strings.Count(body.String(), "\n"); lines != 61 || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV: %d lines, %q", lines, r.Header.Get("Content-Disposition"))
	}

	resp, _ = s.page("POST", "/tasks/"+id+"/delete", url.Values{}, true)
	if resp.Header.Get("HX-Redirect") != "/tasks" || !strings.Contains(flash(resp), "Deleted") {
		t.Fatalf("delete: HX-Redirect %q", resp.Header.Get("HX-Redirect"))
	}
	resp, doc = s.page("GET", "/tasks/"+id, nil, false)
	if resp.StatusCode != 404 || testid(doc, "error-page").Length() != 1 {
		t.Fatalf("deleted task page: %d", resp.StatusCode)
	}
}

func flash(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == "flash" {
			v, _ := url.QueryUnescape(c.Value)
			return v
		}
	}
	return ""
}

func TestConsoleEditInPlace(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("lamps", 1)
	base := "/tasks/" + task.ID.String() + "/edit/"
	_, frag := s.page("GET", base+"config", nil, true)
	if testid(frag, "config-form").Length() != 1 || frag.Find("#edit-rollout").AttrOr("value", "") != "1000" {
		t.Fatal("config form")
	}
	resp, frag := s.page("POST", base+"config", url.Values{"rolloutPerMinute": {"0"}, "inProgressTimeoutMinutes": {"abc"}}, true)
	if resp.StatusCode != 422 || !strings.Contains(testid(frag, "error-edit-timeout-error").Text(), "whole number") ||
		frag.Find("#edit-timeout").AttrOr("value", "") != "abc" || frag.Find("#edit-rollout").AttrOr("value", "") != "0" {
		t.Fatalf("config errors: %d %q", resp.StatusCode, frag.Text())
	}
	_, frag = s.page("POST", base+"config", url.Values{"rolloutPerMinute": {"0"}, "inProgressTimeoutMinutes": {"30"}}, true)
	if !strings.Contains(testid(frag, "error-edit-rollout-error").Text(), "must be 1 to 100000") {
		t.Fatalf("rollout error: %q", frag.Text())
	}
	resp, frag = s.page("POST", base+"config", url.Values{"rolloutPerMinute": {"50"}, "inProgressTimeoutMinutes": {"20000"}}, true)
	if resp.StatusCode != 422 || !strings.Contains(testid(frag, "error-edit-timeout-error").Text(), "1 to 10080") {
		t.Fatalf("timeout error: %d %q", resp.StatusCode, frag.Text())
	}
	resp, frag = s.page("POST", base+"config", url.Values{"rolloutPerMinute": {"50"}, "inProgressTimeoutMinutes": {"30"}}, true)
	if resp.StatusCode != 200 || !strings.Contains(testid(frag, "config-view").Text(), "30 minutes") {
		t.Fatalf("config saved: %d %q", resp.StatusCode, frag.Text())
	}
	long := strings.Repeat("x", 1001)
	resp, frag = s.page("POST", base+"description", url.Values{"description": {long}}, true)
	if resp.StatusCode != 422 || testid(frag, "error-edit-description-error").Length() != 1 || frag.Find("textarea").Text() != long {
		t.Fatal("description error")
	}
	resp, _ = s.page("POST", base+"description", url.Values{"description": {"spring"}}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("description without htmx: %d", resp.StatusCode)
	}
	got, _ := s.Deps.Tasks.GetTask(context.Background(), task.ID)
	if got.Description != "spring" || got.RolloutPerMinute != 50 || *got.InProgressTimeoutMinutes != 30 {
		t.Fatalf("patched task %+v", got)
	}
}
