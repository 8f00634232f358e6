package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// timezone makes the browser's clock read in zone.
func timezone(zone string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	})
}

// The overview of a fleet at work, read from Tokyo: the figures of the
// simulated devices, and every time in Tokyo's time with the UTC one on
// hover, also after an htmx swap.
func TestOverviewInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("ok", 2)
	s.devices("bad", 1)
	s.devices("slow", 1)
	s.simulate("ok", 2, sim.Succeed)
	s.simulate("bad", 1, sim.Fail)
	s.simulate("slow", 1, sim.Hang)
	var refs []models.DeviceRef
	for _, dn := range []string{"ok1", "ok2", "bad1", "slow1"} {
		refs = append(refs, models.DeviceRef{ProductKey: s.pk, DeviceName: dn})
	}
	task := s.task("night", refs, nil)
	later := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	s.task("tomorrow", refs[:1], &later)

	// the devices answer: two succeed, one fails, one works on
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := s.app.Tasks.Statistics(context.Background(), task.ID)
		if err == nil && st.Succeeded == 2 && st.Failed == 1 && st.InProgress == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the devices did not answer: %+v %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	ctx := browser(t)
	run(t, ctx, "read from Tokyo", timezone("Asia/Tokyo"))
	s.signIn(ctx, models.RoleSupport)
	run(t, ctx, "open the overview", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="overview"]`)))
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	if got := text(`[data-testid="success-day"] [data-testid="rate"]`); got != "66.7 %" {
		t.Errorf("24 h success %q", got)
	}
	if got := text(`[data-testid="success-day"] [data-testid="counts"]`); got != "2 of 3 finished sub-tasks succeeded; 1 failed." {
		t.Errorf("24 h counts %q", got)
	}
	if got := text(`[data-testid="online-count"]`); got != "4" {
		t.Errorf("online %q", got)
	}
	if got := text(`[data-task-id="` + task.ID.String() + `"] [data-testid="eta"]`); got != "— all sent; 1 device still at work" {
		t.Errorf("ETA %q", got)
	}
	if got := text(`[data-testid="failure"] [data-testid="failure-device"]`); got != s.pk+"/bad1" {
		t.Errorf("failure %q", got)
	}
	notifies, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('[data-testid="activity-row"] [data-testid="notifies"]')].reduce((n, td) => n + Number(td.textContent), 0)`))
	if err != nil || notifies != 4 {
		t.Errorf("notifies in the chart's table: %d %v", notifies, err)
	}

	screenshot(t, ctx, "overview")

	// the figures table left open stays open when the page refreshes itself
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('activity-figures').open = true`)); err != nil {
		t.Fatal(err)
	}
	swapAgain(t, ctx, "overview", `'/'`, "the refreshed overview keeps the figures open", `document.getElementById('activity-figures').open`)

	// the scheduled task's start, in Tokyo's time, "in 2 hours", UTC on hover
	tokyo := later.In(time.FixedZone("JST", 9*3600))
	shown := text(`[data-testid="eta"] time`)
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="eta"] time').title`))
	if err != nil || title != later.Format("2006-01-02 15:04:05")+" UTC" {
		t.Errorf("title %q %v", title, err)
	}
	// the browser's locale writes the hour on a 12- or 24-hour clock
	clock := strings.Contains(shown, tokyo.Format("15:04:05")) || strings.Contains(shown, tokyo.Format("03:04:05 PM"))
	if shown == title || strings.Contains(shown, "UTC") || !clock ||
		!strings.Contains(shown, "in 2 hours") {
		t.Errorf("start shown as %q (UTC %q)", shown, title)
	}

	// a time swapped in by htmx is turned too: the task list's search
	run(t, ctx, "search the task list",
		chromedp.Navigate(s.url+"/tasks"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-table"]`)),
		chromedp.SendKeys(chromedp.CSS(`#task-q`), "night"),
	)
	waitJS(t, ctx, "the search result's time is in Tokyo's time",
		`document.querySelectorAll('[data-testid="task-row"]').length === 1 && (() => { const el = document.querySelector('[data-testid="task-row"] time');
			return !el.textContent.includes('UTC') && el.title.endsWith(' UTC') && el.textContent.includes('GMT+9 (') })()`, 10*time.Second)
}
