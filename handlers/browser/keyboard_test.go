package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"fleettasks/models"
)

// TestKeyboardInBrowser: the task page with the keyboard alone. Tab
// reaches the Cancel button with a visible focus ring; Enter opens its
// dialog with the focus inside, and the page's live updates leave it so;
// Escape closes it and the focus is back on Cancel (and stays there
// through the next update); Tab goes on to the status filters, and Enter on one filters
// the sub-tasks with the focus kept on it.
func TestKeyboardInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("d", 2)
	later := time.Now().Add(time.Hour)
	task := s.task("keyboard", []models.DeviceRef{{ProductKey: s.pk, DeviceName: "d1"}, {ProductKey: s.pk, DeviceName: "d2"}}, &later)
	ctx := browser(t)
	s.signIn(ctx, models.RoleOperator)
	run(t, ctx, "the task page", chromedp.Navigate(s.url+"/tasks/"+task.ID.String()), chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)))

	// the page follows the task (live updates, or polls where a stream is
	// not possible) and brings a new header, with the actions and their
	// dialogs, out of band: count the headers that arrive
	waitJS(t, ctx, "count the header updates", `(() => {
		window.headers = 0;
		document.body.addEventListener('htmx:oobBeforeSwap', e => { if (e.detail.target.id === 'task-header') window.headers++; });
		return true;
	})()`, time.Second)
	change := func(description string) {
		t.Helper()
		if _, err := s.app.DB.Pool.Exec(context.Background(), `UPDATE tasks SET description = $2 WHERE id = $1`, task.ID, description); err != nil {
			t.Fatal(err)
		}
	}

	tabTo(t, ctx, "action-cancel")
	run(t, ctx, "Enter on Cancel", chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, "the dialog is open with the focus inside",
		`document.querySelector('#cancel-dialog').open && document.activeElement.closest('#cancel-dialog') !== null && (window.since = window.headers, true)`, 5*time.Second)
	change("changed while the dialog is open")
	waitJS(t, ctx, "an update while the dialog is open leaves it open, the focus inside",
		`window.headers > window.since && document.querySelector('#cancel-dialog').open && document.activeElement.closest('#cancel-dialog') !== null`, 10*time.Second)
	run(t, ctx, "Escape", chromedp.KeyEvent(kb.Escape))
	waitJS(t, ctx, "the dialog is closed, the focus back on Cancel",
		`!document.querySelector('#cancel-dialog').open && document.activeElement.dataset.testid === 'action-cancel' && (window.since = window.headers, true)`, 5*time.Second)
	change("changed again")
	waitJS(t, ctx, "an update keeps the focus on Cancel",
		`window.headers > window.since && document.activeElement.dataset.testid === 'action-cancel'`, 10*time.Second)

	tabTo(t, ctx, "filter-All")
	tabTo(t, ctx, "filter-Queued")
	run(t, ctx, "Enter on Queued", chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, "the Queued filter applies, the focus stays on it",
		`location.search.includes('status=QUEUED') && document.querySelector('[data-testid="filter-Queued"]').getAttribute('aria-current') === 'true' &&
		 document.activeElement.dataset.testid === 'filter-Queued'`, 5*time.Second)
	tabTo(t, ctx, "filter-Sent")
}

// TestFocusShowsInBrowser: Tab goes through the whole of the busiest
// pages, and every control it reaches shows that it has the focus.
func TestFocusShowsInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	d := s.consoleData()
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)
	for _, p := range []consolePage{
		{"task page", "/tasks/" + d.done.ID.String(), `[data-testid="subtask-table"]`},
		{"task page, scheduled", "/tasks/" + d.scheduled.ID.String(), `[data-testid="subtask-table"]`},
		{"create step 1", "/tasks/new", `[data-testid="create-step-1"]`},
		{"device log", "/devices/" + s.pk + "/bad1/log", `[data-testid="log-table"]`},
		{"user", "/users/" + d.user.ID.String(), `[data-testid="user-info"]`},
		{"audit log", "/audit", `[data-testid="audit-table"]`},
	} {
		run(t, ctx, p.name, chromedp.Navigate(s.url+p.url), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		tabThrough(t, ctx, p.name)
	}
}

// tabThrough presses Tab from the top of the page until the focus leaves
// it, failing the test for each control that does not show its focus.
func tabThrough(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	reached := 0
	for range 400 {
		run(t, ctx, "Tab", chromedp.KeyEvent(kb.Tab))
		at, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const e = document.activeElement;
			if (!e || e === document.body) return '';
			const s = getComputedStyle(e);
			const shown = (s.boxShadow !== 'none' || (s.outlineStyle !== 'none' && s.outlineWidth !== '0px'));
			const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.dataset.testid ? '[' + e.dataset.testid + ']' : '') +
				' "' + (e.textContent || e.value || '').trim().slice(0, 30) + '"';
			return (shown ? 'ok ' : 'hidden ') + name;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if at == "" {
			break // past the last control
		}
		reached++
		if strings.HasPrefix(at, "hidden ") {
			t.Errorf("%s: %s has the focus but does not show it", page, strings.TrimPrefix(at, "hidden "))
		}
	}
	if reached < 5 {
		t.Errorf("%s: Tab reached %d controls", page, reached)
	}
}

// tabTo presses Tab until the element with data-testid id has the focus,
// and checks that the focus shows (an outline or a ring).
func tabTo(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	for range 80 {
		run(t, ctx, "Tab", chromedp.KeyEvent(kb.Tab))
		at, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.activeElement.dataset || {}).testid || ''`))
		if err != nil {
			t.Fatal(err)
		}
		if at != id {
			continue
		}
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const s = getComputedStyle(document.activeElement);
			return document.activeElement.matches(':focus-visible') && (s.boxShadow !== 'none' || (s.outlineStyle !== 'none' && s.outlineWidth !== '0px'));
		})()`))
		if err != nil || !shown {
			t.Errorf("%s has the focus but does not show it (%v)", id, err)
		}
		return
	}
	t.Fatalf("80 presses of Tab did not reach %s", id)
}
