package handlers_test

import (
	"regexp"
	"testing"
	"time"

	"fleettasks/views"
)

// Every page that shows a moment writes it as <time datetime="…Z"
// title="… UTC"> for console.js to show in the browser's time zone.
func TestConsoleTimesForTheBrowser(t *testing.T) {
	s := newTestServer(t)
	task, devs := s.consoleTask("lamps", 1)
	created := task.CreatedAt.UTC()
	pages := map[string]string{
		"task list":     views.TasksURL("", "", 0),
		"task page":     views.TaskURL(task.ID),
		"sub-tasks":     views.SubtasksURL(task.ID, "", "", 0),
		"device page":   views.DeviceURL(devs[0].ProductKey, devs[0].DeviceName),
		"device tasks":  views.DeviceTabURL(devs[0].ProductKey, devs[0].DeviceName, "tasks"),
		"audit log":     views.AuditURL(""),
		"templates":     views.TemplatesURL("", 0),
		"products list": views.ProductsURL(),
	}
	// something in the audit log and a template
	s.page("POST", views.TaskURL(task.ID)+"/template", map[string][]string{"name": {"lamps"}}, true)
	utc := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`)
	for name, path := range pages {
		resp, doc := s.page("GET", path, nil, false)
		times := doc.Find(`main time[data-local-time]`)
		if resp.StatusCode != 200 || times.Length() == 0 {
			t.Errorf("%s: %d, %d times for the browser", name, resp.StatusCode, times.Length())
			continue
		}
		at, err := time.Parse(time.RFC3339, times.First().AttrOr("datetime", ""))
		title := times.First().AttrOr("title", "")
		if err != nil || at.Location() != time.UTC || !utc.MatchString(title) || title != at.Format("2006-01-02 15:04:05")+" UTC" {
			t.Errorf("%s: datetime %q, title %q", name, times.First().AttrOr("datetime", ""), title)
		}
	}
	_, doc := s.page("GET", views.TaskURL(task.ID), nil, false)
	if got := doc.Find(`main time[data-local-time]`).First().AttrOr("datetime", ""); got != created.Format(time.RFC3339) {
		t.Errorf("task page: the first time is %q, want the creation %s", got, created.Format(time.RFC3339))
	}
}
