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

// taskRows is the JavaScript list of the task list's names, in order.
const taskRows = `[...document.querySelectorAll('[data-testid="task-row"]')].map(r => r.querySelector('td a.link').textContent).join()`

// TestTaskListInBrowser: an operator sorts and filters the task list and
// reloads it as it is; a row's Cancel dialog works from the keyboard; two
// running tasks are cancelled together through the confirmation; a task
// is duplicated and the copy created through the wizard.
func TestTaskListInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("d", 3)
	dev := func(n string) []models.DeviceRef { return []models.DeviceRef{{ProductKey: s.pk, DeviceName: n}} }
	// no device answers: the tasks stay in progress
	s.task("bravo", dev("d1"), nil)
	s.task("alpha", dev("d2"), nil)
	charlie := s.task("charlie", []models.DeviceRef{{ProductKey: s.pk, DeviceName: "d1"}, {ProductKey: s.pk, DeviceName: "d3"}}, nil)
	later := time.Now().Add(time.Hour)
	s.task("delta", dev("d3"), &later)
	ctx := browser(t)
	s.signIn(ctx, models.RoleOperator)

	// --- sort by name, both ways; filter; reload ---
	run(t, ctx, "sort by name",
		chromedp.Navigate(s.url+"/tasks"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-table"]`)),
		clickNow(`[data-testid="sort-name"]`),
	)
	waitJS(t, ctx, "sorted A to Z, in the URL", taskRows+` === 'alpha,bravo,charlie,delta' && location.search === '?sort=name' &&
		document.querySelector('th[aria-sort]').getAttribute('aria-sort') === 'ascending'`, 10*time.Second)
	run(t, ctx, "sort Z to A", clickNow(`[data-testid="sort-name"]`))
	waitJS(t, ctx, "sorted Z to A, in the URL", taskRows+` === 'delta,charlie,bravo,alpha' && location.search === '?order=desc&sort=name' &&
		document.querySelector('th[aria-sort]').getAttribute('aria-sort') === 'descending'`, 10*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector('#task-status');
		s.value = 'IN_PROGRESS'; s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "filtered In progress, still Z to A",
		taskRows+` === 'charlie,bravo,alpha' && location.search.includes('status=IN_PROGRESS') && location.search.includes('sort=name') && location.search.includes('order=desc')`, 10*time.Second)
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-table"]`)))
	waitJS(t, ctx, "the reloaded list keeps the filter and the sort",
		taskRows+` === 'charlie,bravo,alpha' && document.querySelector('#task-status').value === 'IN_PROGRESS' &&
		 document.querySelector('th[aria-sort]').getAttribute('aria-sort') === 'descending'`, 5*time.Second)

	// --- a row's Cancel from the keyboard: focus goes into the dialog, Escape closes it, focus comes back ---
	cancelBtn := `[data-testid="task-row"][data-task-id="` + charlie.ID.String() + `"] [data-testid="row-cancel"]`
	run(t, ctx, "open a row's Cancel with Enter", chromedp.Focus(chromedp.CSS(cancelBtn)), chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, "the dialog is open with focus inside it",
		`document.querySelector('#cancel-dialog-`+charlie.ID.String()+`').open && document.activeElement.closest('dialog') === document.querySelector('#cancel-dialog-`+charlie.ID.String()+`')`, 5*time.Second)
	run(t, ctx, "Escape", chromedp.KeyEvent(kb.Escape))
	waitJS(t, ctx, "closed, focus back on the row's Cancel",
		`!document.querySelector('#cancel-dialog-`+charlie.ID.String()+`').open && document.activeElement === document.querySelector('`+cancelBtn+`')`, 5*time.Second)
	// a live update swaps the list in again: the focus stays on the row's
	// Cancel (a keyboard user is not thrown back to the top of the page)
	swapAgain(t, ctx, "task-results", "location.href", "swapped in again, focus still on the row's Cancel",
		`document.activeElement === document.querySelector('`+cancelBtn+`')`)

	// --- bulk cancel of two ---
	if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="bulk-cancel"]').disabled`)); err != nil || !disabled {
		t.Errorf("Cancel selected is enabled with nothing selected (%v)", err)
	}
	run(t, ctx, "select alpha and bravo",
		clickNow(`[data-testid="task-row"]:nth-child(2) [data-testid="row-select"]`),
		clickNow(`[data-testid="task-row"]:nth-child(3) [data-testid="row-select"]`),
	)
	waitJS(t, ctx, "two selected", `!document.querySelector('[data-testid="bulk-cancel"]').disabled &&
		document.querySelector('[data-testid="bulk-count"]').textContent === '2 tasks selected' &&
		document.querySelector('[data-testid="select-all"]').indeterminate`, 5*time.Second)
	screenshot(t, ctx, "task-list-actions")
	run(t, ctx, "Cancel selected", clickNow(`[data-testid="bulk-cancel"]`))
	waitJS(t, ctx, "the confirmation counts them", `document.querySelector('#bulk-cancel-dialog').open &&
		document.querySelector('#bulk-cancel-dialog-title').textContent === 'Cancel 2 tasks?'`, 5*time.Second)
	run(t, ctx, "confirm",
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-bulk-cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	if !strings.Contains(flash, "2 cancelled.") {
		t.Errorf("flash %q", flash)
	}
	waitJS(t, ctx, "back on the list as it was: only charlie is in progress",
		taskRows+` === 'charlie' && location.search.includes('status=IN_PROGRESS') && location.search.includes('order=desc')`, 5*time.Second)
	for _, name := range []string{"alpha", "bravo"} {
		var status string
		if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT status FROM tasks WHERE name = $1`, name).Scan(&status); err != nil || status != "CANCELLED" {
			t.Errorf("%s: %s %v", name, status, err)
		}
	}

	// --- duplicate charlie and complete the wizard ---
	run(t, ctx, "duplicate",
		clickNow(`[data-testid="row-duplicate"]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)),
	)
	waitJS(t, ctx, "the form holds charlie's settings", `document.querySelector('#f-name').value === 'Copy of charlie' &&
		document.querySelector('#f-devices').value.trim().split('\n').length === 2 &&
		document.querySelector('#f-jobDocument').value.includes('"k": "v"')`, 5*time.Second)
	run(t, ctx, "step 2, complete",
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="complete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-summary"]`)),
	)
	var devices int
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT device_count FROM tasks WHERE name = 'Copy of charlie'`).Scan(&devices); err != nil || devices != 2 {
		t.Fatalf("the copy has %d devices (%v)", devices, err)
	}
}
