package browser_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/models"
)

// TestDeviceSecretInBrowser adds a device by the list page's form, which
// answers its secret in the form's place, then makes it a new secret from
// the device's page behind the confirmation dialog.
func TestDeviceSecretInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := browser(t)
	s.signIn(ctx, models.RoleOperator)
	if _, err := s.app.Registry.CreateProduct(context.Background(), models.ProductInput{ProductKey: s.pk, Name: "meters"}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "add a device",
		chromedp.Navigate(s.url+"/devices"),
		chromedp.WaitVisible(chromedp.CSS(`#add-name`)),
		chromedp.SendKeys(chromedp.CSS(`#add-name`), "m1"),
		chromedp.Click(chromedp.CSS(`[data-testid="device-add"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-secret-value"]`)),
	)
	first := text(t, ctx, `[data-testid="device-secret-value"]`)
	axeRun(t, ctx, "a new device's secret")
	if got, err := s.app.Registry.DeviceSecret(context.Background(), s.pk, "m1"); err != nil || got != first || len(first) != models.DeviceSecretLength {
		t.Fatalf("the secret shown %q is not the device's: %v", first, err)
	}
	run(t, ctx, "open the device and ask for a new secret",
		chromedp.Click(chromedp.CSS(`[data-testid="device-added-open"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-overview"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="device-rotate-secret"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-secret-dialog"]`)),
	)
	axeRun(t, ctx, "the new secret's confirmation")
	run(t, ctx, "confirm",
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-device-secret"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-secret-value"]`)),
	)
	waitJS(t, ctx, "a new secret, shown once", `(() => {
		const v = document.querySelector('[data-testid="device-secret-value"]').textContent;
		return /^[A-Za-z0-9]{32}$/.test(v) && v !== '`+first+`';
	})()`, 5*time.Second)
	next := text(t, ctx, `[data-testid="device-secret-value"]`)
	axeRun(t, ctx, "a device's new secret")
	if got, err := s.app.Registry.DeviceSecret(context.Background(), s.pk, "m1"); err != nil || got != next {
		t.Fatalf("the new secret shown is not the device's: %v", err)
	}
	run(t, ctx, "back on the device page",
		chromedp.Navigate(s.url+"/devices/"+s.pk+"/m1"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-overview"]`)),
	)
	waitJS(t, ctx, "no secret shown again", `!document.querySelector('[data-testid="device-secret-value"]') && !document.body.innerHTML.includes('`+next+`')`, 5*time.Second)
}

// text is the text of the element sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}
