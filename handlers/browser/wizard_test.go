package browser_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// TestCreateWizardInBrowser: an operator fills step 1 of the create form
// (picking firmware an admin uploaded), goes to step 2, reloads, goes Back
// and Forward, and finds the values each time; a Complete with several bad
// fields shows all their errors at once; an admin uploading the same
// firmware again is told it is already there.
func TestCreateWizardInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("d", 2)
	const content = "firmware 1.2 for the wizard"
	up, err := s.app.Files.Receive("fw-1.2.bin", strings.NewReader(content), s.app.Files.Limit(models.FileFirmware))
	if err != nil {
		t.Fatal(err)
	}
	fw, err := s.app.Files.Create(context.Background(), models.FileFirmware, up)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	s.signIn(ctx, models.RoleOperator)
	devices := s.pk + "," + sim.DeviceName("d", 1) + "\n" + s.pk + "," + sim.DeviceName("d", 2)
	value := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("value of %s: %v", sel, err)
		}
		return v
	}

	run(t, ctx, "type a name on step 1",
		chromedp.Navigate(s.url+"/tasks/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)),
	)
	waitJS(t, ctx, "step 1 has its draft's URL", `location.search.startsWith('?draft=')`, 5*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.addEventListener('htmx:afterRequest',
		e => { if (e.detail.successful && e.detail.pathInfo.requestPath.endsWith('/tasks/new/draft')) window.draftSaved = true }) === undefined`)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "type a name",
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "wizard lamps"),
	)
	waitJS(t, ctx, "the draft keeps what is typed", `window.draftSaved === true`, 10*time.Second)
	run(t, ctx, "reload step 1 before Next",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)),
	)
	if v := value(`#f-name`); v != "wizard lamps" {
		t.Fatalf("a reload of step 1 lost the name: %q", v)
	}
	run(t, ctx, "fill step 1, picking the uploaded firmware",
		chromedp.SendKeys(chromedp.CSS(`#f-devices`), devices),
		chromedp.SendKeys(chromedp.CSS(`#f-jobDocument`), `{"k":"v"}`),
		chromedp.SendKeys(chromedp.CSS(`#firmware-q`), fw.SHA256[:8]),
	)
	waitJS(t, ctx, "the search finds the firmware by its digest",
		`document.querySelectorAll('#f-jobFileId option[value="`+fw.ID.String()+`"]').length === 1 && document.querySelectorAll('#f-jobFileId option').length === 2`, 10*time.Second)
	run(t, ctx, "pick it and go to step 2",
		chromedp.SetValue(chromedp.CSS(`#f-jobFileId`), fw.ID.String()),
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
	)
	waitJS(t, ctx, "step 2 has its URL", `location.search.includes('draft=') && location.search.includes('step=2')`, 5*time.Second)
	step2 := func(what string) {
		t.Helper()
		if value(`input[type=hidden][name="name"]`) != "wizard lamps" || value(`input[type=hidden][name="devices"]`) != devices ||
			value(`input[type=hidden][name="jobFileId"]`) != fw.ID.String() {
			t.Fatalf("%s: step 2 lost the values of step 1", what)
		}
	}
	step2("step 2")
	run(t, ctx, "set the rate and reload",
		chromedp.SetValue(chromedp.CSS(`#f-rolloutPerMinute`), "600"),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
	)
	step2("after a reload")
	run(t, ctx, "Back",
		chromedp.NavigateBack(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)),
	)
	if value(`#f-name`) != "wizard lamps" || value(`#f-devices`) != devices || value(`#f-jobFileId`) != fw.ID.String() ||
		value(`#f-jobDocument`) != `{"k":"v"}` {
		t.Fatalf("Back to step 1: name %q devices %q firmware %q", value(`#f-name`), value(`#f-devices`), value(`#f-jobFileId`))
	}
	run(t, ctx, "Forward",
		chromedp.NavigateForward(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
	)
	step2("Forward to step 2")

	run(t, ctx, "Complete with three bad fields",
		chromedp.SetValue(chromedp.CSS(`#f-rolloutPerMinute`), "0"),
		chromedp.SetValue(chromedp.CSS(`#f-inProgressTimeoutMinutes`), "0"),
		chromedp.Click(chromedp.CSS(`[data-testid="start-at"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-scheduledAt`), "2001-01-01T10:00"),
		chromedp.Click(chromedp.CSS(`[data-testid="complete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-summary"]`)),
	)
	waitJS(t, ctx, "every error is shown at once, beside its field and in the summary",
		`['rolloutPerMinute','inProgressTimeoutMinutes','scheduledAt'].every(n =>
			document.querySelector('#err-'+n) && document.querySelector('#f-'+n).getAttribute('aria-describedby').includes('err-'+n) &&
			document.querySelector('[data-testid="summary-'+n+'"]').getAttribute('href') === '#f-'+n) &&
		 document.querySelectorAll('[data-testid="error-summary"] li').length === 3 &&
		 document.querySelector('#err-rolloutPerMinute').textContent.startsWith('Jobs executed per minute:')`, 5*time.Second)
	screenshot(t, ctx, "create-errors")
	waitJS(t, ctx, "htmx has taken up the form again", `!!document.querySelector('#task-form')['htmx-internal-data']`, 10*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#f-inProgressTimeoutMinutes').value = '') === ''`)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "correct them and complete",
		chromedp.SetValue(chromedp.CSS(`#f-rolloutPerMinute`), "600"),
		chromedp.Click(chromedp.CSS(`[data-testid="start-now"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="complete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-file"]`)),
	)
	// read by polling: the task page is live, and an update may swap the
	// node between finding it and reading its text
	waitJS(t, ctx, "the task's file is fw-1.2.bin", `(document.querySelector('[data-testid="task-file"]')?.textContent ?? '').includes('fw-1.2.bin')`, 5*time.Second)
	run(t, ctx, "Back to the completed form shows its task",
		chromedp.NavigateBack(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="draft-done"]`)),
	)

	// an admin uploads the same firmware again
	again := filepath.Join(t.TempDir(), "copy.bin")
	if err := os.WriteFile(again, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "sign out",
		chromedp.Navigate(s.url+"/tasks"),
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
	)
	s.signIn(ctx, models.RoleAdmin)
	run(t, ctx, "upload a duplicate in the create form",
		chromedp.Navigate(s.url+"/tasks/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#f-jobFile`), []string{again}),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="duplicate-jobFileId"]`)),
	)
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="duplicate-jobFileId"]`)))
	if !strings.Contains(text, "This file is already uploaded as “fw-1.2.bin” (file "+fw.ID.String()+", ") || value(`#f-jobFileId`) != fw.ID.String() {
		t.Fatalf("the duplicate warning: %q, chosen %q", text, value(`#f-jobFileId`))
	}
	screenshot(t, ctx, "create-duplicate-upload")
	waitJS(t, ctx, "htmx has taken up the new button", `!!document.querySelector('[data-testid="duplicate-keep"]')['htmx-internal-data']`, 10*time.Second)
	run(t, ctx, "keep a new copy instead",
		chromedp.Click(chromedp.CSS(`[data-testid="duplicate-keep"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="uploaded-jobFileId"]`)),
	)
	if v := value(`#f-jobFileId`); v == "" || v == fw.ID.String() {
		t.Fatalf("the new copy is not chosen: %q", v)
	}
}
