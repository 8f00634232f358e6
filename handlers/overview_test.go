package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/views"
)

// exec runs SQL on the test's database.
func (s *testServer) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.Deps.DB.Pool.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}

func TestOverviewEmptyState(t *testing.T) {
	s := newTestServer(t)
	resp, doc := s.page("GET", "/", nil, false)
	if resp.StatusCode != 200 {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	empty := testid(doc, "empty-state")
	if !strings.Contains(empty.Text(), "no devices are registered and no task has been created") ||
		empty.Find(`a[href="/tasks/new"]`).Length() != 1 || empty.Find(`a[href="/products"]`).Length() != 1 {
		t.Fatalf("empty state for an admin: %q", empty.Text())
	}
	for _, id := range []string{"success-day", "success-week"} {
		if got := testid(doc, id).Find(`[data-testid="counts"]`).Text(); got != "No sub-task finished in this time." {
			t.Errorf("%s: %q", id, got)
		}
	}
	if testid(doc, "online-count").Text() != "0" || testid(doc, "active-empty").Length() != 1 ||
		testid(doc, "failures-empty").Length() != 1 || testid(doc, "activity-empty").Length() != 1 {
		t.Fatal("a fresh install shows figures")
	}

	// support may not create tasks: the page says who does
	s.As = s.user(models.RoleSupport)
	_, doc = s.page("GET", "/", nil, false)
	empty = testid(doc, "empty-state")
	if empty.Find(`a[href="/tasks/new"]`).Length() != 0 || empty.Find(`a[href="/products"]`).Length() != 0 ||
		!strings.Contains(empty.Text(), "Tasks are created by operators and administrators.") {
		t.Fatalf("empty state for support: %q", empty.Text())
	}
	if nav := doc.Find(`nav[aria-label="Main"] a`).First(); nav.Text() != "Overview" || nav.AttrOr("aria-current", "") != "page" {
		t.Fatalf("first navigation item %q", nav.Text())
	}
}

func TestOverviewFigures(t *testing.T) {
	s := newTestServer(t)
	rate := 2
	pk := testenv.Prefix(t)
	devs := testenv.SeedDevices(t, s.Deps.DB, pk, 10)
	task, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: "lamps",
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devs}, JobDocument: []byte(`{"k":"v"}`), RolloutPerMinute: &rate})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	scheduled, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: "tonight",
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devs[:1]}, JobDocument: []byte(`{"k":"v"}`), ScheduledAt: &later})
	if err != nil {
		t.Fatal(err)
	}

	// the devices d1..d10: Five minutes ago three
	// succeeded and one failed (four notifies that minute); one timed out
	// 30 hours ago, one was rejected 8 days ago; four are still queued.
	base := time.Now().UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	outcome := func(dn string, status models.SubStatus, sent, finished time.Time, msg string) {
		s.exec(`UPDATE subtasks SET status = $3, sent_at = $4, finished_at = $5, message = $6 WHERE task_id = $1 AND device_name = $2`,
			task.ID, dn, status, sent, finished, msg)
	}
	for _, dn := range []string{"d1", "d2", "d3"} {
		outcome(dn, models.SubSucceeded, base.Add(5*time.Second), base.Add(10*time.Second), "")
	}
	outcome("d4", models.SubFailed, base.Add(5*time.Second), base.Add(20*time.Second), "disk full")
	outcome("d5", models.SubTimedOut, base.Add(-31*time.Hour), base.Add(-30*time.Hour), "timed out")
	outcome("d6", models.SubRejected, base.Add(-8*24*time.Hour), base.Add(-8*24*time.Hour), "")
	s.exec(`UPDATE subtasks SET status_details = '{"reason": "busy"}' WHERE task_id = $1 AND device_name = 'd6'`, task.ID)
	// two devices online, one seen ten minutes ago
	s.exec(`UPDATE devices SET last_seen = CASE device_name WHEN 'd8' THEN now() - interval '10 minutes' ELSE now() END
		WHERE product_key = $1 AND device_name IN ('d1', 'd2', 'd8')`, pk)

	resp, doc := s.page("GET", "/", nil, false)
	if resp.StatusCode != 200 {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	if testid(doc, "empty-state").Length() != 0 || testid(doc, "create-task").Length() != 1 {
		t.Fatal("the overview of a fleet at work shows the empty state or no Create Task")
	}
	day, week := testid(doc, "success-day"), testid(doc, "success-week")
	if got := day.Find(`[data-testid="rate"]`).Text(); got != "75.0 %" {
		t.Errorf("24 h rate %q", got)
	}
	if got := day.Find(`[data-testid="counts"]`).Text(); got != "3 of 4 finished sub-tasks succeeded; 1 failed." {
		t.Errorf("24 h counts %q", got)
	}
	if got := week.Find(`[data-testid="rate"]`).Text(); got != "60.0 %" {
		t.Errorf("7 days rate %q", got)
	}
	if got := week.Find(`[data-testid="counts"]`).Text(); got != "3 of 5 finished sub-tasks succeeded; 1 failed, 1 timed out." {
		t.Errorf("7 days counts %q", got)
	}
	if got := testid(doc, "online-count").Text(); got != "2" {
		t.Errorf("online %q", got)
	}

	// the running task: 4 queued at 2 a minute; the scheduled one: its start
	rows := testid(doc, "active-task")
	if rows.Length() != 2 || rows.First().AttrOr("data-task-id", "") != task.ID.String() {
		t.Fatalf("%d active tasks", rows.Length())
	}
	run := rows.First()
	if got := run.Find(`[data-testid="eta"]`).Text(); got != "about 2 min" {
		t.Errorf("ETA %q", got)
	}
	if got := run.Find(`[data-testid="rate"]`).Text(); got != "2 per minute" {
		t.Errorf("rate %q", got)
	}
	if !strings.Contains(run.Text(), "6 / 10 done") {
		t.Errorf("progress %q", run.Text())
	}
	sched := rows.Last()
	tm := sched.Find(`[data-testid="eta"] time`)
	if sched.AttrOr("data-task-id", "") != scheduled.ID.String() || tm.AttrOr("datetime", "") != later.Format(time.RFC3339) ||
		tm.AttrOr("title", "") != later.Format("2006-01-02 15:04:05")+" UTC" {
		t.Errorf("scheduled row %q (time %v)", sched.Text(), tm.AttrOr("datetime", ""))
	}

	// failures newest first, each to its details and its device
	var got []string
	testid(doc, "failure").Each(func(_ int, r *goquery.Selection) {
		got = append(got, r.Find(`[data-testid="failure-device"]`).Text()+" "+r.Find(`[data-testid="status-badge"]`).AttrOr("data-status", "")+
			" "+r.Find(`[data-testid="failure-details"]`).AttrOr("href", ""))
	})
	sub := func(dn string) models.ID {
		var id models.ID
		if err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT id FROM subtasks WHERE task_id = $1 AND device_name = $2`, task.ID, dn).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	want := []string{
		pk + "/d4 FAILED " + views.SubtaskURL(task.ID, sub("d4")),
		pk + "/d5 TIMED_OUT " + views.SubtaskURL(task.ID, sub("d5")),
		pk + "/d6 REJECTED " + views.SubtaskURL(task.ID, sub("d6")),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failures:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if href := testid(doc, "failure").First().Find(`[data-testid="failure-device"]`).AttrOr("href", ""); href != views.DeviceURL(pk, "d4") {
		t.Errorf("device link %q", href)
	}
	var reasons []string
	testid(doc, "failure-reason").Each(func(_ int, c *goquery.Selection) { reasons = append(reasons, c.Text()) })
	if strings.Join(reasons, "|") != `disk full|timed out|reason: busy` {
		t.Errorf("reasons %q", reasons)
	}
	if testid(doc, "more-failures").Length() != 0 {
		t.Error("a link to more failures with three")
	}

	// the chart: the minute five minutes ago, in its table and its bars
	minute := testid(doc, "activity-table").Find(`[data-minute="` + base.Format("15:04") + `"]`)
	figures := fmt.Sprint(minute.Find(`[data-testid="notifies"]`).Text(), " ", minute.Find(`[data-testid="succeeded"]`).Text(), " ",
		minute.Find(`[data-testid="failed"]`).Text())
	if figures != "4 3 1" || testid(doc, "activity-row").Length() != 1 {
		t.Errorf("chart table: %q in %d rows", figures, testid(doc, "activity-row").Length())
	}
	chart := testid(doc, "activity-chart")
	if chart.Find(`rect[data-kind="notifies"]`).Length() != 1 || chart.Find(`rect[data-kind="succeeded"]`).Length() != 1 ||
		chart.Find(`rect[data-kind="failed"]`).Length() != 1 ||
		!strings.Contains(chart.Find("desc").Text(), "4 notifies sent, 3 sub-tasks succeeded, 1 failed") {
		t.Errorf("chart: %q", chart.Find("desc").Text())
	}

	// a rerun takes the failures back out of the figures
	s.exec(`UPDATE subtasks SET status = 'CANCELLED' WHERE task_id = $1 AND status = 'QUEUED'`, task.ID)
	s.exec(`UPDATE tasks SET status = 'COMPLETED', finished_at = now() WHERE id = $1`, task.ID)
	if _, err := s.Deps.Tasks.RerunTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	_, doc = s.page("GET", "/", nil, true)
	if got := testid(doc, "success-day").Find(`[data-testid="counts"]`).Text(); got != "3 of 3 finished sub-tasks succeeded." {
		t.Errorf("after a rerun, 24 h counts %q", got)
	}
}

func TestOverviewMoreFailures(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("many", 12)
	s.exec(`UPDATE subtasks SET status = 'FAILED', sent_at = now() - interval '1 hour',
		finished_at = now() - (id - (SELECT min(id) FROM subtasks WHERE task_id = $1)) * interval '1 minute' WHERE task_id = $1`, task.ID)
	_, doc := s.page("GET", "/", nil, false)
	more := testid(doc, "more-failures")
	if testid(doc, "failure").Length() != 10 || more.AttrOr("href", "") != views.FailuresURL("") {
		t.Fatalf("%d failures, more %q", testid(doc, "failure").Length(), more.AttrOr("href", ""))
	}
	resp, doc := s.page("GET", views.FailuresURL(""), nil, false)
	if resp.StatusCode != 200 || testid(doc, "failure").Length() != 12 || testid(doc, "more-failures").Length() != 0 {
		t.Fatalf("failures page: %d, %d rows", resp.StatusCode, testid(doc, "failure").Length())
	}
	if resp, _ := s.page("GET", "/failures?after=x", nil, false); resp.StatusCode != 400 {
		t.Fatalf("a bad cursor: %d", resp.StatusCode)
	}
}
