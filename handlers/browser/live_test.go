package browser_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// refs are the devices prefix1..prefixN of the stack's product.
func (s *stack) refs(prefix string, n int) []models.DeviceRef {
	out := make([]models.DeviceRef, n)
	for i := range out {
		out[i] = models.DeviceRef{ProductKey: s.pk, DeviceName: sim.DeviceName(prefix, i+1)}
	}
	return out
}

// markPage sets a marker on the page's window: it survives as long as the
// page is not reloaded or left.
func markPage(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.liveMarker = 'same page'; true`)); err != nil {
		t.Fatal(err)
	}
}

const samePage = `window.liveMarker === 'same page'`

// rows is a JavaScript expression: the sub-task rows' values of attr (or
// of the cell with data-testid cell), joined.
func rows(cell string) string {
	return `[...document.querySelectorAll('[data-testid="subtask-row"]')].map(r => r.querySelector('[data-testid="` + cell + `"]').textContent.trim()).join()`
}

func rowStatuses() string {
	return `[...document.querySelectorAll('[data-testid="subtask-row"]')].map(r => r.dataset.status).join()`
}

// An operator keeps a running task's page open: the table, the summary
// and the actions follow the devices to the end without a reload, and so
// does the task list's progress bar.
func TestLivePagesFollowTheTask(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("ok", 5)
	task := s.task("live lamps", s.refs("ok", 5), nil)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)

	// the list first: its progress bar moves
	run(t, ctx, "open the task list",
		chromedp.Navigate(s.url+"/tasks"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-row"]`)),
		chromedp.WaitReady(chromedp.CSS(`#tasks-live[data-live="stream"]`)),
	)
	markPage(t, ctx)
	waitJS(t, ctx, "the list's stream is open", `document.querySelector('#tasks-live').dataset.live === 'stream'`, 5*time.Second)
	fleet := s.simulate("ok", 5, sim.Succeed)
	waitJS(t, ctx, "the list shows the task completed, without a reload",
		samePage+` && document.querySelector('[data-testid="task-row"] [data-testid="status-badge"]').dataset.status === 'COMPLETED' &&
		document.querySelector('[data-testid="task-row"]').textContent.includes('5 / 5 done')`, 40*time.Second)
	fleet.Close()

	// a second task, its page open before the devices start
	s.devices("go", 5)
	second := s.task("live page", s.refs("go", 5), nil)
	run(t, ctx, "open the task page",
		chromedp.Navigate(s.url+"/tasks/"+second.ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)),
	)
	markPage(t, ctx)
	waitJS(t, ctx, "five rows, none finished", rows("subtask-finished")+` === '—,—,—,—,—'`, 5*time.Second)
	s.simulate("go", 5, sim.Succeed)
	waitJS(t, ctx, "every row succeeded at 100 %, and the summary says completed, without a reload",
		samePage+` && `+rowStatuses()+` === 'SUCCEEDED,SUCCEEDED,SUCCEEDED,SUCCEEDED,SUCCEEDED' &&
		`+rows("subtask-progress")+` === '100%,100%,100%,100%,100%' && !`+rows("subtask-finished")+`.includes('—') &&
		document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'COMPLETED' &&
		document.querySelector('[data-testid="summary-done"]').textContent === '100.0' && `+count("SUCCEEDED")+` === '5'`, 40*time.Second)
	waitJS(t, ctx, "the actions follow: cancel is off, the page stops following",
		samePage+` && document.querySelector('[data-testid="action-cancel"]').disabled &&
		document.querySelector('#task-live').dataset.live === 'settled'`, 10*time.Second)
	_ = task
}

// Cancelled while its page is open: the page shows the task cancelled and
// then each sub-task as the workers cancel it.
func TestLivePageShowsTheCancel(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("hang", 3)
	s.simulate("hang", 3, sim.Hang)
	task := s.task("hanging", s.refs("hang", 3), nil)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)
	run(t, ctx, "open the task page",
		chromedp.Navigate(s.url+"/tasks/"+task.ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)),
	)
	markPage(t, ctx)
	waitJS(t, ctx, "the devices work on it", samePage+` && `+rowStatuses()+` === 'IN_PROGRESS,IN_PROGRESS,IN_PROGRESS'`, 40*time.Second)
	// another operator (or the API) cancels it
	if _, err := s.app.Tasks.CancelTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the summary and the table show the cancel, without a reload",
		samePage+` && document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'CANCELLED' &&
		`+count("CANCELLED")+` === '3' && `+count("IN_PROGRESS")+` === '0' && `+rowStatuses()+` === 'CANCELLED,CANCELLED,CANCELLED'`, 40*time.Second)
	waitJS(t, ctx, "the page stops following", `document.querySelector('#task-live').dataset.live === 'settled'`, 10*time.Second)
}

// A filtered table stays filtered while it follows the task.
func TestLivePageKeepsTheFilter(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("ok", 3)
	s.devices("hang", 2)
	task := s.task("filtered", append(s.refs("ok", 3), s.refs("hang", 2)...), nil)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)
	run(t, ctx, "open the task page, filter Succeeded",
		chromedp.Navigate(s.url+"/tasks/"+task.ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="filter-Succeeded"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtasks-empty"]`)),
	)
	markPage(t, ctx)
	waitJS(t, ctx, "the stream follows the filter",
		`document.querySelector('#task-live').getAttribute('sse-connect').includes('status=SUCCEEDED')`, 5*time.Second)
	s.simulate("ok", 3, sim.Succeed)
	s.simulate("hang", 2, sim.Hang)
	waitJS(t, ctx, "the three succeeded rows come in, and only they",
		samePage+` && `+rowStatuses()+` === 'SUCCEEDED,SUCCEEDED,SUCCEEDED' && `+count("IN_PROGRESS")+` === '2' &&
		document.querySelector('[data-testid="filter-Succeeded"]').getAttribute('aria-current') === 'true' &&
		location.search.includes('status=SUCCEEDED')`, 40*time.Second)
}

// Over the cap of open streams (here 0) the page polls instead, follows the
// task all the same and stops polling once it has settled.
func TestLivePagePollsOverTheCap(t *testing.T) {
	t.Parallel()
	s := newStack(t, "FLEETTASKS_SSE_MAX_STREAMS=0")
	s.devices("ok", 3)
	task := s.task("polled", s.refs("ok", 3), nil)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)
	run(t, ctx, "open the task page",
		chromedp.Navigate(s.url+"/tasks/"+task.ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)),
	)
	markPage(t, ctx)
	waitJS(t, ctx, "the page polls", `document.querySelector('#task-live').dataset.live === 'poll'`, 5*time.Second)
	s.simulate("ok", 3, sim.Succeed)
	waitJS(t, ctx, "every row succeeded and the summary says completed, without a reload",
		samePage+` && `+rowStatuses()+` === 'SUCCEEDED,SUCCEEDED,SUCCEEDED' && `+rows("subtask-progress")+` === '100%,100%,100%' &&
		document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'COMPLETED'`, 40*time.Second)
	waitJS(t, ctx, "the polling stops", `document.querySelector('#task-live').dataset.live === 'settled'`, 10*time.Second)
}

// A stream that fails again and again (here: its URL answers 404) turns the
// page to polling, which follows the task.
func TestLivePagePollsWhenTheStreamFails(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("ok", 2)
	task := s.task("failing stream", s.refs("ok", 2), nil)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)
	run(t, ctx, "open the task page",
		chromedp.Navigate(s.url+"/tasks/"+task.ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)),
	)
	markPage(t, ctx)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () {
		var el = document.querySelector('#task-live');
		var bad = el.cloneNode(false);
		bad.setAttribute('sse-connect', '/tasks/999999999/events');
		htmx.swap(el, bad.outerHTML, {swapStyle: 'outerHTML'});
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page turns to polling", samePage+` && document.querySelector('#task-live').dataset.live === 'poll'`, 20*time.Second)
	s.simulate("ok", 2, sim.Succeed)
	waitJS(t, ctx, "the polls follow the task to its end, without a reload",
		samePage+` && `+rowStatuses()+` === 'SUCCEEDED,SUCCEEDED' && document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'COMPLETED' &&
		document.querySelector('#task-live').dataset.live === 'settled'`, 40*time.Second)
}
