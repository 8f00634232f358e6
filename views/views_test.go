package views_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"fleettasks/models"
	"fleettasks/views"
)

// doc renders c for an admin (who is shown every action) and parses it.
func doc(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var b bytes.Buffer
	ctx := views.WithViewer(context.Background(), views.Viewer{Role: models.RoleAdmin})
	if err := c.Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func byID(d *goquery.Document, id string) *goquery.Selection {
	return d.Find(`[data-testid="` + id + `"]`)
}

func TestTaskSummaryCounts(t *testing.T) {
	stats := &models.Statistics{Total: 4, Succeeded: 2, Failed: 1, InProgress: 1}
	for _, c := range []struct {
		status models.TaskStatus
	}{{models.TaskScheduled}, {models.TaskInProgress}, {models.TaskCompleted}, {models.TaskCancelled}} {
		d := doc(t, views.TaskSummary(&models.Task{ID: 7, Status: c.status}, stats))
		if _, polls := byID(d, "task-summary").Attr("hx-trigger"); polls {
			t.Errorf("%s: the summary polls on its own", c.status)
		}
		if byID(d, "summary-done").Text() != "75.0" || byID(d, "count-FAILED").Text() != "1" {
			t.Errorf("%s: done %q failed %q", c.status, byID(d, "summary-done").Text(), byID(d, "count-FAILED").Text())
		}
		if href := byID(d, "count-FAILED").AttrOr("hx-get", ""); href != "/tasks/7/subtasks?status=FAILED" {
			t.Errorf("failed count links to %q", href)
		}
	}
}

func TestLiveLink(t *testing.T) {
	l := views.Live{ID: "task-live", Stream: "/tasks/7/events?v=1", Poll: "/tasks/7/live"}
	d := doc(t, views.LiveLink(l, false))
	el := d.Find("#task-live")
	if el.AttrOr("sse-connect", "") != l.Stream || el.AttrOr("data-poll-url", "") != l.Poll || el.AttrOr("sse-close", "") != "done" {
		t.Error("stream")
	}
	if _, oob := el.Attr("hx-swap-oob"); oob {
		t.Error("swapped out of band in the page")
	}
	l.Polling = true
	el = doc(t, views.LiveLink(l, true)).Find("#task-live")
	if el.AttrOr("hx-get", "") != l.Poll || el.AttrOr("hx-trigger", "") != "every 3s" || el.AttrOr("hx-swap-oob", "") != "true" {
		t.Error("polling")
	}
	l.Settled = true
	el = doc(t, views.LiveLink(l, true)).Find("#task-live")
	if _, polls := el.Attr("hx-trigger"); polls || el.AttrOr("sse-connect", "") != "" {
		t.Error("a settled page still follows its task")
	}
}

func TestTaskHeaderActions(t *testing.T) {
	d := doc(t, views.TaskHeader(&models.Task{ID: 1, Name: "n", Status: models.TaskCompleted}, &models.Statistics{Total: 3, Succeeded: 3}, false))
	if _, dis := byID(d, "action-cancel").Attr("disabled"); !dis {
		t.Error("cancel of a completed task is enabled")
	}
	if !strings.Contains(byID(d, "rerun-reason").Text(), "has no failed or timed-out sub-tasks to rerun") {
		t.Errorf("rerun reason %q", byID(d, "rerun-reason").Text())
	}
	d = doc(t, views.TaskHeader(&models.Task{ID: 1, Name: "n", Status: models.TaskCompleted}, &models.Statistics{Total: 3, Failed: 1}, true))
	if _, dis := byID(d, "action-rerun").Attr("disabled"); dis {
		t.Error("rerun with a failed sub-task is disabled")
	}
	if d.Find("#task-header[hx-swap-oob]").Length() != 1 {
		t.Error("no out-of-band swap")
	}
}

func TestTaskListEmptyAndRows(t *testing.T) {
	d := doc(t, views.TaskResults(views.TaskList{Query: views.TaskListQuery{Page: 1}, Pages: 1}))
	if byID(d, "empty-state").Find(`a[href="/tasks/new"]`).Length() != 1 {
		t.Error("empty state without Create Task")
	}
	task := models.Task{ID: 3, Name: "lamps", Status: models.TaskInProgress, Target: models.Target{Type: models.TargetDeviceList, DeviceCount: 2}}
	d = doc(t, views.TaskResults(views.TaskList{Tasks: []models.Task{task}, Stats: map[models.ID]*models.Statistics{3: {Total: 2, Succeeded: 1, Queued: 1}}, Query: views.TaskListQuery{Page: 1}, Pages: 2, Total: 21}))
	row := byID(d, "task-row")
	if row.Length() != 1 || row.Find(`[data-testid="progress-bar"] > div`).Length() != 2 || !strings.Contains(row.Text(), "2 devices") {
		t.Errorf("row %q", row.Text())
	}
	if d.Find(`a[rel="next"]`).AttrOr("href", "") != "/tasks?page=2" {
		t.Error("pager")
	}
}

func TestCreateFormKeepsValuesAndErrors(t *testing.T) {
	f := views.TaskForm{Step: 2, Values: map[string]string{"name": "lamps", "devices": "p,d1", "rolloutPerMinute": "0"},
		Errors: map[string]string{"rolloutPerMinute": "must be 1 to 100000"}}
	d := doc(t, views.TaskCreatePage(f))
	if d.Find(`input[type=hidden][name="devices"]`).AttrOr("value", "") != "p,d1" {
		t.Error("step 1 values are not carried")
	}
	in := d.Find("#f-rolloutPerMinute")
	if in.AttrOr("value", "") != "0" || in.AttrOr("aria-invalid", "") != "true" || !strings.Contains(in.AttrOr("aria-describedby", ""), "err-rolloutPerMinute") {
		t.Error("the field does not carry its error")
	}
	if byID(d, "error-err-rolloutPerMinute").Text() != "must be 1 to 100000" {
		t.Error("error text")
	}
}

// A topic wraps after each "/", never inside a name, and its text is kept.
func TestTopicWrapsAtSlashes(t *testing.T) {
	var b bytes.Buffer
	if err := views.Topic("/sys/lamp&co/d1/thing/job/notify").Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "/<wbr>sys/<wbr>lamp&amp;co/<wbr>d1/<wbr>thing/<wbr>job/<wbr>notify" {
		t.Fatalf("rendered %q", got)
	}
}

// The CSV example of the import page is three lines, as a file has them.
func TestDeviceImportExampleLines(t *testing.T) {
	d := doc(t, views.DeviceImportPage(views.DeviceImport{}))
	if got := byID(d, "import-example").Text(); got != "productKey,deviceName\nlamp,lamp-0001\nlamp,lamp-0002" {
		t.Fatalf("the example reads %q", got)
	}
}

// TestReasonWords: a device's statusDetails read as words in the Reason
// column, in the device's order; nested values and other JSON compacted.
func TestReasonWords(t *testing.T) {
	for raw, want := range map[string]string{
		`{"step": "download", "free": 12, "ok": false}`: "step: download, free: 12, ok: false",
		`{"error": {"code": 5, "msg": "disk"}}`:         `error: {"code":5,"msg":"disk"}`,
		`[1, 2]`:                                        "[1,2]",
		`{}`:                                            "{}",
		`"just text"`:                                   `"just text"`,
	} {
		if got := views.Reason(models.Subtask{StatusDetails: models.RawJSON(raw)}); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
