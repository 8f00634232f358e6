package browser_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// TestExecutionDrawer: execution details opened from the last of 50 rows
// open beside it, in view (not 2,000 px down under the table); the row is
// marked, the focus moves into the drawer, and Escape closes it and gives
// the focus back to the link.
func TestExecutionDrawer(t *testing.T) {
	s := newStack(t)
	s.devices("d", 50)
	refs := make([]models.DeviceRef, 50)
	for i := range refs {
		refs[i] = models.DeviceRef{ProductKey: s.pk, DeviceName: sim.DeviceName("d", i+1)}
	}
	later := time.Now().Add(time.Hour)
	task := s.task("fifty", refs, &later)
	ctx := browser(t)
	s.signIn(ctx, models.RoleSupport)
	run(t, ctx, "open the task page, scroll to the last row, open its details",
		chromedp.EmulateViewport(1440, 900),
		chromedp.Navigate(s.url+"/tasks/"+task.ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)),
		chromedp.ScrollIntoView(chromedp.CSS(`[data-testid="subtask-row"]:last-of-type [data-testid="execution-details"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="subtask-row"]:last-of-type [data-testid="execution-details"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-detail"]`)),
	)
	waitJS(t, ctx, "the drawer is in view beside the row it was opened from, with the focus", `(() => {
		const d = document.getElementById('subtask-detail').getBoundingClientRect();
		const row = document.querySelector('[data-testid="subtask-row"]:last-of-type');
		const r = row.getBoundingClientRect();
		return d.top >= 0 && d.top < 10 && d.bottom <= innerHeight + 1 && Math.abs(d.right - document.documentElement.clientWidth) < 2 &&
			r.top >= 0 && r.bottom <= innerHeight && row.getAttribute('aria-current') === 'true' &&
			document.activeElement.id === 'subtask-detail-title';
	})()`, 5*time.Second)
	run(t, ctx, "Escape", chromedp.KeyEvent("\u001b"))
	waitJS(t, ctx, "the drawer is closed and the focus is back on the link", `!document.querySelector('[data-testid="subtask-detail"]') &&
		document.activeElement.dataset.testid === 'execution-details' &&
		!document.querySelector('[data-drawer-row]')`, 5*time.Second)
}
