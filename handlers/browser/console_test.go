package browser_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

const chromium = "/usr/bin/chromium"

// browser starts a headless Chromium with a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: run bash scripts/services.sh chromium (make test does)", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// a safety net, not a measure: the browser tests share 2 cores with
	// the rest of make test, and a long one (the registry's) took 122 s
	ctx, cancelTimeout := context.WithTimeout(ctx, 300*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// run runs actions, failing the test with what was being done.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		// the page as it was, read in a context of its own: ctx may be the
		// one whose deadline passed
		look, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(look, chromedp.Location())
		text, _ := chromedp.Run(look, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("%s (at %s): %v; the page says:\n%s", what, loc, err, text)
	}
}

// clickNow clicks the element sel in one step inside the page. A live
// page swaps its regions whenever the task moves, and chromedp.Click
// (query, scroll, then dispatch) fails when the node it found is swapped
// out between those steps; a person's click has no such gap.
func clickNow(sel string) chromedp.Action[chromedp.Void] {
	found := chromedp.Evaluate[bool](`(() => { const e = document.querySelector(` + strconv.Quote(sel) + `);
		if (!e) return false; e.scrollIntoView({block: 'center'}); e.click(); return true })()`)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		ok, err := found(ctx, t)
		if err == nil && !ok {
			err = fmt.Errorf("no element %s", sel)
		}
		return chromedp.Void{}, err
	}
}

// swapAgain has htmx fetch the page at url and swap its element #id in
// over the one shown, as a live update or a self-refresh does, and waits
// until the fresh copy is in and the condition js holds.
func swapAgain(t *testing.T, ctx context.Context, id, url, what, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById(%[1]q).dataset.old = 'yes';
		htmx.ajax('GET', %[2]s, {target: '#' + %[1]q, select: '#' + %[1]q, swap: 'outerHTML'}); true`, id, url))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, what, fmt.Sprintf(`!document.getElementById(%q).dataset.old && (%s)`, id, js), 10*time.Second)
}

// waitJS polls a JavaScript condition until it holds.
func waitJS(t *testing.T, ctx context.Context, what, js string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("%s: not within %v; the page says:\n%s", what, within, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// screenshot saves the page as docs/screenshots/name.png when
// FLEETTASKS_SCREENSHOTS is set or the file does not exist yet (so that
// a normal test run leaves the committed pictures alone).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	path := filepath.Join("..", "..", "docs", "screenshots", name+".png")
	if _, err := os.Stat(path); err == nil && os.Getenv("FLEETTASKS_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func count(status string) string {
	return fmt.Sprintf(`(document.querySelector('[data-testid="count-%s"]')||{}).textContent`, status)
}

func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("ok", 3)
	s.devices("bad", 2)
	s.simulate("ok", 3, sim.Succeed)
	bad := s.simulate("bad", 2, sim.Fail)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)

	rule := filepath.Join(t.TempDir(), "rule.json")
	if err := os.WriteFile(rule, []byte(`{"version":"2.1","action":"blink"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	// --- create through the two steps, with a validation round trip ---
	run(t, ctx, "open the empty list",
		chromedp.Navigate(s.url+"/tasks"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="empty-state"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="empty-state"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-err-name"]`)),
	)
	waitJS(t, ctx, "the name error is beside the name field",
		`document.querySelector('#f-name').getAttribute('aria-invalid') === 'true' &&
		 document.querySelector('[data-testid="field-name"] [data-testid="error-err-name"]') !== null`, 5*time.Second)
	run(t, ctx, "fill step 1",
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "spring lamps"),
		chromedp.SendKeys(chromedp.CSS(`#f-devices`), s.pk+",ok1\n"+s.pk+",ok2\n"+s.pk+",ok3\n"),
		chromedp.SendKeys(chromedp.CSS(`#device-q`), "bad"),
		chromedp.WaitVisible(chromedp.CSS(`[data-add-device="`+s.pk+`,bad2"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-device="`+s.pk+`,bad1"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-device="`+s.pk+`,bad2"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#f-ruleUpload`), []string{rule}),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="uploaded-ruleFileUpload"]`)),
	)
	waitJS(t, ctx, "the picker added both devices", `document.querySelector('#f-devices').value.trim().split('\n').length === 5`, 5*time.Second)
	screenshot(t, ctx, "create-step-1")
	run(t, ctx, "step 2",
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
	)
	screenshot(t, ctx, "create-step-2")
	run(t, ctx, "complete with a bad rate, then a good one",
		chromedp.SetValue(chromedp.CSS(`#f-rolloutPerMinute`), "0"),
		chromedp.Click(chromedp.CSS(`[data-testid="complete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-err-rolloutPerMinute"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-rolloutPerMinute`), "600"),
	)
	// a double click: the buttons are disabled while the form is sent
	// (seen as it is sent), and its one-time key would make a second send
	// replay the first
	// (the form's own request: the draft's autosave sends requests too)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.addEventListener('htmx:beforeSend', function (evt) {
			if (evt.detail.elt.id !== 'task-form' || sessionStorage.getItem('disabledAtSend')) return;
			sessionStorage.setItem('disabledAtSend', String(document.querySelector('[data-testid="complete"]').disabled));
		}); true`)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "complete with a double click",
		chromedp.DoubleClick(chromedp.CSS(`[data-testid="complete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-summary"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('disabledAtSend') || 'not sent'`)); err != nil || disabled != "true" {
		t.Errorf("the Complete button was not disabled while its request ran: %q %v", disabled, err)
	}
	var created int
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM tasks WHERE name = 'spring lamps'`).Scan(&created); err != nil || created != 1 {
		t.Fatalf("a double click on Complete made %d tasks (%v)", created, err)
	}

	// --- watch it complete, filter Failed, rerun with fixed devices ---
	waitJS(t, ctx, "the summary reaches COMPLETED",
		`document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'COMPLETED'`, 40*time.Second)
	waitJS(t, ctx, "3 succeeded, 2 failed", count("SUCCEEDED")+` === '3' && `+count("FAILED")+` === '2'`, 5*time.Second)
	run(t, ctx, "filter Failed", chromedp.Click(chromedp.CSS(`[data-testid="filter-Failed"]`)))
	waitJS(t, ctx, "two failed rows",
		`[...document.querySelectorAll('[data-testid="subtask-row"]')].map(r => r.dataset.status).join() === 'FAILED,FAILED'`, 5*time.Second)
	run(t, ctx, "execution details",
		chromedp.Click(chromedp.CSS(`[data-testid="execution-details"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="message-history"]`)),
	)
	waitJS(t, ctx, "the failure's statusDetails", `document.querySelector('[data-testid="status-details"]').textContent.includes('simulated failure')`, 5*time.Second)
	run(t, ctx, "close the panel", chromedp.Click(chromedp.CSS(`[data-testid="subtask-close"]`)))
	waitJS(t, ctx, "the panel is closed", `!document.querySelector('[data-testid="subtask-detail"]')`, 5*time.Second)

	// the failing devices are "repaired": the same names now succeed
	bad.Close()
	s.simulate("bad", 2, sim.Succeed)
	run(t, ctx, "rerun, confirmed",
		chromedp.Click(chromedp.CSS(`[data-testid="action-rerun"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-rerun"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-rerun"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	waitJS(t, ctx, "the rerun completes with every sub-task succeeded",
		`document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'COMPLETED' && `+count("SUCCEEDED")+` === '5'`, 40*time.Second)
	run(t, ctx, "filter Succeeded", chromedp.Click(chromedp.CSS(`[data-testid="filter-Succeeded"]`)))
	waitJS(t, ctx, "the rerun devices are on attempt 2",
		`[...document.querySelectorAll('[data-testid="subtask-row"]')].filter(r => r.dataset.attempt === '2').map(r => r.dataset.device).sort().join() === 'bad1,bad2'`, 5*time.Second)

	run(t, ctx, "reload the task page", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)))
	screenshot(t, ctx, "task-details")

	// --- cancel a second task ---
	later := time.Now().Add(time.Hour)
	second := s.task("second", []models.DeviceRef{{ProductKey: s.pk, DeviceName: "ok1"}}, &later)
	run(t, ctx, "cancel",
		chromedp.Navigate(s.url+"/tasks/"+second.ID.String()),
		chromedp.Click(chromedp.CSS(`[data-testid="action-cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-cancel"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	waitJS(t, ctx, "the task is cancelled", `document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'CANCELLED'`, 5*time.Second)

	// --- delete a third through the dialog ---
	third := s.task("third", []models.DeviceRef{{ProductKey: s.pk, DeviceName: "ok2"}}, &later)
	run(t, ctx, "delete",
		chromedp.Navigate(s.url+"/tasks/"+third.ID.String()),
		chromedp.Click(chromedp.CSS(`[data-testid="action-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="delete-dialog"]`)),
	)
	waitJS(t, ctx, "the dialog says it cannot be undone", `document.querySelector('#delete-dialog').open && document.querySelector('#delete-dialog').textContent.includes('cannot be undone')`, 5*time.Second)
	run(t, ctx, "confirm",
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-table"]`)),
	)
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(flash, "Deleted the task “third”") || !strings.HasSuffix(loc, "/tasks") {
		t.Fatalf("after delete: %s, flash %q", loc, flash)
	}
	waitJS(t, ctx, "two tasks left", `document.querySelectorAll('[data-testid="task-row"]').length === 2`, 5*time.Second)

	// --- the list's search, reflected in the URL ---
	run(t, ctx, "search", chromedp.SendKeys(chromedp.CSS(`#task-q`), "spring"))
	waitJS(t, ctx, "filtered list and URL",
		`document.querySelectorAll('[data-testid="task-row"]').length === 1 && location.search.includes('q=spring')`, 5*time.Second)
	run(t, ctx, "clear search", chromedp.Navigate(s.url+"/tasks"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-table"]`)))
	screenshot(t, ctx, "task-list")
}
