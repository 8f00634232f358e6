package browser_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// TestRolesInBrowser: anonymous visitors land on the sign-in page (and
// back where they were going after it); support staff see no buttons they
// may not use and get the 403 page when they try; signing out ends the
// session.
func TestRolesInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := browser(t)
	s.devices("d", 1)
	task := s.task("watched", []models.DeviceRef{{ProductKey: s.pk, DeviceName: sim.DeviceName("d", 1)}}, nil)

	s.signIn(ctx, models.RoleSupport)
	run(t, ctx, "a task page without actions",
		chromedp.Navigate(s.url+"/tasks/"+task.ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-summary"]`)),
	)
	buttons, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid^="action-"]').length`))
	if err != nil {
		t.Fatal(err)
	}
	if buttons != 0 {
		t.Fatalf("support sees %d task action buttons", buttons)
	}
	run(t, ctx, "the create page is refused",
		chromedp.Navigate(s.url+"/tasks/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-page"]`)),
	)
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="error-page"]`)))
	if !strings.Contains(text, "support role may not") {
		t.Fatalf("403 page says %q", text)
	}
	run(t, ctx, "sign out",
		chromedp.Navigate(s.url+"/tasks"),
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.Navigate(s.url+"/devices"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
	)
	next, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="next"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if next != "/devices" {
		t.Fatalf("after sign-out /devices leads to the sign-in page with next=%q", next)
	}
}
