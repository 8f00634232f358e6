package handlers_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"

	"fleettasks/handlers"
)

// listen serves app on a free port until the test ends; it returns the
// base URL.
func listen(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.ShutdownWithTimeout(10 * time.Second) })
	return "http://" + ln.Addr().String()
}

// sseEvent is one server-sent event.
type sseEvent struct{ name, data string }

// eventStream reads the events of one open stream.
type eventStream struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

// openStream GETs url with session's cookie and checks it is a stream.
func openStream(t *testing.T, url, session string) *eventStream {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &eventStream{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads the next event (comments and retry fields skipped); ok is
// false at the end of the stream.
func (s *eventStream) next() (ev sseEvent, ok bool) {
	s.t.Helper()
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if ev.name != "" {
				s.t.Fatalf("stream ended inside event %q", ev.name)
			}
			return ev, false
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.name != "" {
				ev.data = strings.Join(data, "\n")
				return ev, true
			}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

// expect reads the next event and checks its name.
func (s *eventStream) expect(name string) *goquery.Document {
	s.t.Helper()
	ev, ok := s.next()
	if !ok || ev.name != name {
		s.t.Fatalf("want event %q, got %q (stream open: %v)", name, ev.name, ok)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(ev.data))
	if err != nil {
		s.t.Fatal(err)
	}
	return doc
}

// expectEnd checks that the stream ends.
func (s *eventStream) expectEnd() {
	s.t.Helper()
	if ev, ok := s.next(); ok {
		s.t.Fatalf("the stream goes on: event %q", ev.name)
	}
}

func TestTaskEventsStream(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("lamps", 3)
	id := task.ID.String()
	base := listen(t, s.App)
	ctx := context.Background()

	// signed out: sent to sign in, no stream
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(base + "/tasks/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 3 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// the page's live element streams with its filter and version
	_, doc := s.page("GET", "/tasks/"+id+"?status=QUEUED", nil, false)
	live := doc.Find("#task-live")
	stream := live.AttrOr("sse-connect", "")
	if live.AttrOr("data-live", "") != "stream" || !strings.Contains(stream, "status=QUEUED") || !strings.Contains(stream, "v=") {
		t.Fatalf("live element %q streams %q", live.AttrOr("data-live", ""), stream)
	}
	if _, polls := testid(doc, "task-summary").Attr("hx-trigger"); polls {
		t.Fatal("the summary polls beside the stream")
	}

	// the page's version: nothing is sent until the task moves
	ev := openStream(t, base+stream, s.As.Session)
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE subtasks SET status = 'IN_PROGRESS', progress = 40
		WHERE task_id = $1 AND id = (SELECT min(id) FROM subtasks WHERE task_id = $1)`, task.ID); err != nil {
		t.Fatal(err)
	}
	up := ev.expect("update")
	if up.Find(`#task-summary[hx-swap-oob]`).Length() != 1 || up.Find(`#task-header[hx-swap-oob]`).Length() != 1 ||
		up.Find(`#task-info[hx-swap-oob]`).Length() != 1 || up.Find(`#subtasks[hx-swap-oob]`).Length() != 1 {
		t.Fatal("the update lacks a part of the page")
	}
	if testid(up, "count-IN_PROGRESS").Text() != "1" || testid(up, "filter-Queued").AttrOr("aria-current", "") != "true" ||
		testid(up, "subtask-row").Length() != 2 {
		t.Fatalf("update: in progress %q, %d queued rows", testid(up, "count-IN_PROGRESS").Text(), testid(up, "subtask-row").Length())
	}
	// a progress report alone is a change too
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE subtasks SET progress = 70 WHERE task_id = $1 AND status = 'IN_PROGRESS'`, task.ID); err != nil {
		t.Fatal(err)
	}
	ev.expect("update")

	// cancelled: the task first, its sub-tasks after; the last update has
	// them all cancelled, then the stream ends
	if _, err := s.Deps.Tasks.CancelTask(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	up = ev.expect("update")
	if testid(up, "task-summary").AttrOr("data-task-status", "") != "CANCELLED" || testid(up, "action-cancel").AttrOr("disabled", "no") == "no" {
		t.Fatal("the cancel is not shown with the actions")
	}
	if _, _, err := s.Deps.Tasks.StopStep(ctx, task.ID, false, 100); err != nil {
		t.Fatal(err)
	}
	for testid(up, "count-CANCELLED").Text() != "3" {
		up = ev.expect("update")
	}
	if up.Find(`#task-live[data-live="settled"]`).Length() != 1 {
		t.Fatal("the last update does not settle the page")
	}
	ev.expect("done")
	ev.expectEnd()

	// a settled task's stream sends its state once and ends
	ev = openStream(t, base+"/tasks/"+id+"/events", s.As.Session)
	ev.expect("update")
	ev.expect("done")
	ev.expectEnd()
	_, doc = s.page("GET", "/tasks/"+id, nil, false)
	if doc.Find(`#task-live[data-live="settled"]`).Length() != 1 {
		t.Fatal("a settled task's page still follows it")
	}
}

// Over the cap (FLEETTASKS_SSE_MAX_STREAMS), pages poll.
func TestLivePagesOverTheCapPoll(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("lamps", 2)
	cfg := *s.Deps.Config
	cfg.SSEMaxStreams = 0
	d := s.Deps
	d.Config = &cfg
	s.App = handlers.New(d)
	base := listen(t, s.App)
	_, doc := s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	live := doc.Find("#task-live")
	if live.AttrOr("data-live", "") != "poll" || live.AttrOr("hx-get", "") != "/tasks/"+task.ID.String()+"/live" {
		t.Fatalf("task page: %q %q", live.AttrOr("data-live", ""), live.AttrOr("hx-get", ""))
	}
	// a stream asked for all the same turns the page to polling
	ev := openStream(t, base+"/tasks/"+task.ID.String()+"/events", s.As.Session)
	up := ev.expect("update")
	if up.Find(`#task-live[data-live="poll"][hx-swap-oob]`).Length() != 1 {
		t.Fatal("over the cap, the stream does not turn the page to polling")
	}
	ev.expectEnd()
	_, frag := s.page("GET", "/tasks/"+task.ID.String()+"/live?status=QUEUED", nil, true)
	if testid(frag, "count-QUEUED").Text() != "2" || frag.Find(`#task-live[data-live="poll"]`).AttrOr("hx-get", "") != "/tasks/"+task.ID.String()+"/live?status=QUEUED" {
		t.Fatal("the polled update")
	}
	_, doc = s.page("GET", "/tasks", nil, false)
	if doc.Find(`#tasks-live[data-live="poll"]`).AttrOr("hx-get", "") != "/tasks/live" {
		t.Fatal("the task list does not poll")
	}
}

// The task list streams its moving rows, with its filter kept.
func TestTaskListEvents(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("alpha", 2)
	s.consoleTask("beta", 1)
	base := listen(t, s.App)
	_, doc := s.page("GET", "/tasks?q=alpha", nil, false)
	stream := doc.Find(`#tasks-live[data-live="stream"]`).AttrOr("sse-connect", "")
	if stream != "/tasks/events?q=alpha" {
		t.Fatalf("list stream %q", stream)
	}
	ev := openStream(t, base+stream, s.As.Session)
	up := ev.expect("update") // the page as of the stream's start
	if testid(up, "task-row").Length() != 1 {
		t.Fatal("the filter is not kept")
	}
	if _, err := s.Deps.DB.Pool.Exec(context.Background(), `UPDATE subtasks SET status = 'SUCCEEDED' WHERE task_id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	up = ev.expect("update")
	if !strings.Contains(testid(up, "task-row").Text(), "2 / 2 done") {
		t.Fatalf("row: %q", testid(up, "task-row").Text())
	}
	if _, err := s.Deps.Tasks.CancelTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	up = ev.expect("update")
	if testid(up, "status-badge").AttrOr("data-status", "") != "CANCELLED" || up.Find(`#tasks-live[data-live="settled"]`).Length() != 1 {
		t.Fatal("the last update")
	}
	ev.expect("done")
	ev.expectEnd()
}

// An open stream does not hold the server's shutdown: it ends with it.
func TestTaskEventsEndAtShutdown(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("lamps", 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.App.Listener(ln)
	ev := openStream(t, "http://"+ln.Addr().String()+"/tasks/"+task.ID.String()+"/events", s.As.Session)
	ev.expect("update")
	done := make(chan error, 1)
	go func() { done <- s.App.ShutdownWithTimeout(10 * time.Second) }()
	if err := <-done; err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	ev.expectEnd()
}
