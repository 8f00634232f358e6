package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
	screenshot(t, ctx, "sign-in")
	next, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="next"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if next != "/devices" {
		t.Fatalf("after sign-out /devices leads to the sign-in page with next=%q", next)
	}
}

// TestAdminInBrowser: an admin creates an operator, gives them an API
// token (shown once), revokes it through the confirmation dialog, and
// reads all of it in the audit log.
func TestAdminInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)
	email := "ops@" + s.pk + ".example.com"
	run(t, ctx, "create an operator",
		chromedp.Navigate(s.url+"/users"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-create"]`)),
		chromedp.SendKeys(chromedp.CSS(`#user-email`), email),
		chromedp.SetValue(chromedp.CSS(`#user-role`), "operator"),
		chromedp.SendKeys(chromedp.CSS(`#user-password`), "operator-password"),
		chromedp.Click(chromedp.CSS(`[data-testid="create-user"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-info"]`)),
		chromedp.SendKeys(chromedp.CSS(`#token-name`), "deploy pipeline"),
		chromedp.Click(chromedp.CSS(`[data-testid="create-token"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="token-secret-value"]`)),
	)
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="token-secret-value"]`)))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(secret), "ftk_") {
		t.Fatalf("token secret %q: %v", secret, err)
	}
	if u, err := s.app.Accounts.TokenUser(context.Background(), strings.TrimSpace(secret)); err != nil || u.Email != email || u.Role != models.RoleOperator {
		t.Fatalf("the shown token: %+v %v", u, err)
	}
	screenshot(t, ctx, "user")
	run(t, ctx, "revoke it",
		chromedp.Click(chromedp.CSS(`[data-testid="revoke-token"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="revoke-dialog"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-revoke"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="token-revoked"]`)),
	)
	if _, err := s.app.Accounts.TokenUser(context.Background(), strings.TrimSpace(secret)); err == nil {
		t.Fatal("the revoked token still works")
	}
	run(t, ctx, "the user list", chromedp.Navigate(s.url+"/users"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-table"]`)))
	screenshot(t, ctx, "users")
	run(t, ctx, "the audit log", chromedp.Navigate(s.url+"/audit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-table"]`)))
	waitJS(t, ctx, "the audit log shows the changes in order",
		`Array.from(document.querySelectorAll('[data-testid="audit-action-name"]')).map(e => e.textContent.trim()).join(' ').startsWith('token.revoke token.create user.create auth.login')`, 5*time.Second)
	screenshot(t, ctx, "audit")
}
