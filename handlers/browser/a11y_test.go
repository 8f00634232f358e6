package browser_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// axePath is axe-core, a test-only asset that npm ci installs (make test
// runs it first, in assets-check); the product never serves it.
var axePath = filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js")

var axeOnce struct {
	sync.Once
	src string
	err error
}

// axeSource is the content of axe.min.js, read once.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		b, err := os.ReadFile(axePath)
		axeOnce.src, axeOnce.err = string(b), err
	})
	if axeOnce.err != nil {
		t.Fatalf("axe-core is missing (%v): run npm ci at the repository's root (make test does, in assets-check)", axeOnce.err)
	}
	return axeOnce.src
}

// axeViolation is one axe rule broken on a page, with the elements that break it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeRun checks the page as it is now against the WCAG 2 A and AA rules
// and fails the test (going on with the next pages) for every serious or
// critical violation, naming the rule, the elements and the help.
func axeRun(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	found, err := axeViolations(t, ctx)
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	for _, v := range found {
		t.Errorf("%s: %s (%s): %s\n    %s", page, v.ID, v.Impact, v.Help, strings.Join(v.Targets, "\n    "))
	}
}

// axeViolations runs axe-core on the page as it is now: the serious and
// critical violations of the WCAG 2 A and AA rules.
func axeViolations(t *testing.T, ctx context.Context) ([]axeViolation, error) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === 'object' || (function () {`+"\n"+axeSource(t)+"\n"+`}).call(window), typeof axe === 'object'`)); err != nil {
		return nil, fmt.Errorf("inject axe-core: %w", err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
			runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
			resultTypes: ['violations'],
		}).then(r => r.violations
			.filter(v => v.impact === 'serious' || v.impact === 'critical')
			.map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe.run: %w", err)
	}
	return found, nil
}

// consoleData is one of each thing the console shows, for the tests that
// visit every page.
type consoleData struct {
	done      *models.Task // finished: sub-tasks succeeded and failed, messages in the device log
	scheduled *models.Task // not started: Cancel, Pause and Delete are offered
	subtask   models.ID    // a failed sub-task of done
	template  *models.Template
	group     *models.Group
	file      *models.File
	user      *models.User
	webhook   *models.Webhook
}

// consoleData fills the stack: devices ok1, ok2 (succeed) and bad1 (fails)
// with the long names of real fleets, a finished task on them, a task
// scheduled for later, a template, a static group, a rule file and an
// operator.
func (s *stack) consoleData() consoleData {
	s.t.Helper()
	ctx := context.Background()
	var d consoleData
	s.devices("ok", 2)
	s.devices("bad", 1)
	s.simulate("ok", 2, sim.Succeed)
	s.simulate("bad", 1, sim.Fail)
	refs := []models.DeviceRef{{ProductKey: s.pk, DeviceName: "ok1"}, {ProductKey: s.pk, DeviceName: "ok2"}, {ProductKey: s.pk, DeviceName: "bad1"}}
	var err error
	d.done, err = s.app.Tasks.CreateTask(ctx, models.TaskInput{Name: "blink the lamps of the north building", Description: "a yearly check",
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: refs}, JobDocument: []byte(`{"action":"blink","times":3}`),
		RolloutPerMinute: new(600)})
	if err != nil {
		s.t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	d.scheduled, err = s.app.Tasks.CreateTask(ctx, models.TaskInput{Name: "later", ScheduledAt: &later,
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: refs[:1]}, JobDocument: []byte(`{"k":"v"}`),
		Policy: &models.Policy{Waves: []models.Wave{{Count: new(int64(1))}, {}}}})
	if err != nil {
		s.t.Fatal(err)
	}
	d.template, err = s.app.Tasks.CreateTemplate(ctx, models.TemplateInput{Name: "Nightly blink", Description: "every night",
		JobDocument: []byte(`{"action":"blink"}`), RolloutPerMinute: new(30)})
	if err != nil {
		s.t.Fatal(err)
	}
	d.group, err = s.app.Registry.CreateGroup(ctx, models.GroupInput{Name: "north building", Kind: "static"})
	if err != nil {
		s.t.Fatal(err)
	}
	up, err := s.app.Files.Receive("blink.json", strings.NewReader(`{"action":"blink"}`), 1<<20)
	if err != nil {
		s.t.Fatal(err)
	}
	d.file, err = s.app.Files.Create(ctx, "rule", up)
	if err != nil {
		s.t.Fatal(err)
	}
	d.user, err = s.app.Accounts.CreateUser(ctx, models.UserInput{Email: "ops@" + s.pk + ".example.com", Role: string(models.RoleOperator), Password: "operator-password"})
	if err != nil {
		s.t.Fatal(err)
	}
	d.webhook, err = s.app.Webhooks.CreateWebhook(ctx, models.WebhookInput{URL: "https://hooks.example.com/fleettasks/" + s.pk,
		Events: []models.EventType{models.EventCompleted}, Enabled: true})
	if err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(40 * time.Second)
	for {
		task, err := s.app.Tasks.GetTask(ctx, d.done.ID)
		if err != nil {
			s.t.Fatal(err)
		}
		if task.Status == models.TaskCompleted {
			d.done = task
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the task did not complete: %s", task.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := s.app.DB.Pool.QueryRow(ctx, `SELECT id FROM subtasks WHERE task_id = $1 AND status = 'FAILED'`, d.done.ID).Scan(&d.subtask); err != nil {
		s.t.Fatal(err)
	}
	return d
}

// consolePage is a page of the console as an admin sees it: its name,
// its address and what shows once it is loaded.
type consolePage struct{ name, url, wait string }

// consolePages are the console's pages (handlers/routes.go) showing d,
// the signed-out and refused ones aside.
func (s *stack) consolePages(d consoleData) []consolePage {
	task := "/tasks/" + d.done.ID.String()
	dev := "/devices/" + s.pk + "/bad1"
	pages := []consolePage{
		{"overview", "/", `[data-testid="overview"]`},
		{"recent failures", "/failures", `main h1`},
		{"task list", "/tasks", `[data-testid="task-table"]`},
		{"task list, filtered", "/tasks?status=COMPLETED&q=blink", `[data-testid="task-table"]`},
		{"task page", task, `[data-testid="subtask-table"]`},
		{"task page, Failed sub-tasks", task + "?status=FAILED", `[data-testid="subtask-table"]`},
		{"task page with waves, scheduled", "/tasks/" + d.scheduled.ID.String(), `[data-testid="subtask-table"]`},
		{"execution details page", task + "/subtasks/" + d.subtask.String(), `[data-testid="message-history"]`},
		{"templates", "/templates", `main h1`},
		{"template", "/templates/" + d.template.ID.String(), `[data-testid="template-name"]`},
		{"devices", "/devices", `[data-testid="device-table"]`},
		{"device import", "/devices/import", `[data-testid="import-submit"]`},
		{"device", dev, `[data-testid="device-tabs"]`},
		{"device tasks tab", dev + "/tasks", `[data-testid="device-task-row"]`},
		{"device log", dev + "/log", `[data-testid="log-table"]`},
		{"device log, refused filter", dev + "/log?from=2026-01-02T00:00:00&to=2026-01-01T00:00:00", `[data-testid="log-error"]`},
		{"products", "/products", `main h1`},
		{"product", "/products/" + s.pk, `main h1`},
		{"groups", "/groups", `[data-testid="group-row"]`},
		{"group", "/groups/" + d.group.ID.String(), `[data-testid="group-add"]`},
		{"files", "/files", `[data-testid="file-table"]`},
		{"file", "/files/" + d.file.ID.String(), `[data-testid="file-json"]`},
		{"users", "/users", `[data-testid="user-table"]`},
		{"user", "/users/" + d.user.ID.String(), `[data-testid="user-info"]`},
		{"audit log", "/audit", `[data-testid="audit-table"]`},
		{"webhooks", "/webhooks", `[data-testid="webhook-table"]`},
		{"webhook", "/webhooks/" + d.webhook.ID.String(), `[data-testid="webhook-url"]`},
		{"404", "/tasks/999999999", `[data-testid="error-page"]`},
	}
	for i := range pages {
		pages[i].url = s.url + pages[i].url
	}
	return pages
}

// TestAccessibilityInBrowser runs axe-core on every page of the console,
// in the states a person sees them in (errors shown, a panel or a dialog
// open), as the role that may open it.
func TestAccessibilityInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	d := s.consoleData()
	ctx := browser(t)

	run(t, ctx, "the sign-in page", chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	axeRun(t, ctx, "sign-in")
	run(t, ctx, "a refused sign-in",
		chromedp.SendKeys(chromedp.CSS(`#login-email`), "nobody@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), "wrong-password"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
	)
	axeRun(t, ctx, "sign-in refused")
	s.signIn(ctx, models.RoleAdmin)

	pages := s.consolePages(d)
	for _, p := range pages {
		run(t, ctx, p.name, chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		axeRun(t, ctx, p.name)
	}
	task := s.url + "/tasks/" + d.done.ID.String()

	run(t, ctx, "the execution details panel",
		chromedp.Navigate(task+"?status=FAILED"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-chart"]`)), // it loads after the page and moves the table down
		chromedp.Click(chromedp.CSS(`[data-testid="execution-details"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="message-history"]`)),
	)
	axeRun(t, ctx, "task page, execution details panel open")
	scheduled := "/tasks/" + d.scheduled.ID.String()
	for _, open := range []struct{ page, button, wait string }{
		{scheduled, "action-cancel", "#cancel-dialog"},
		{scheduled, "action-delete", "#delete-dialog"},
		{scheduled, "action-save-template", "#template-dialog"},
		{scheduled, "edit-description", `[data-testid="description-form"]`},
		{scheduled, "edit-config", `[data-testid="config-form"]`},
		{"/tasks/" + d.done.ID.String(), "action-rerun", "#rerun-dialog"},
		{"/templates/" + d.template.ID.String(), "template-delete", "#template-delete-dialog"},
		{"/devices/" + s.pk + "/ok1", "device-delete", "#device-delete-dialog"},
		{"/devices/" + s.pk + "/ok1/tasks", "delete-task", `dialog[open]`},
		{"/files", "file-delete", `dialog[open]`},
		{"/files/" + d.file.ID.String(), "file-delete", "#file-delete-dialog"},
		{"/users/" + d.user.ID.String(), "disable-user", "#disable-dialog"},
		{"/groups", "kind-dynamic", "#group-query"},
		{"/tasks?q=later", "row-cancel", "dialog[open]"},
		{"/tasks?q=later", "row-delete", "dialog[open]"},
	} {
		run(t, ctx, "open "+open.page, chromedp.Navigate(s.url+open.page))
		// a click by script, again until it shows: the page's live updates
		// and its times put in local time move the buttons as it loads
		waitJS(t, ctx, "open "+open.wait+" on "+open.page, fmt.Sprintf(`(() => {
			const shown = document.querySelector(%q);
			if (shown && shown.getClientRects().length > 0) return true;
			const b = document.querySelector('[data-testid="%s"]:not([disabled])');
			if (b) b.click();
			return false;
		})()`, open.wait, open.button), 10*time.Second)
		axeRun(t, ctx, open.page+" with "+open.wait+" open")
	}

	run(t, ctx, "create, step 1 with errors",
		chromedp.Navigate(s.url+"/tasks/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)),
	)
	axeRun(t, ctx, "create step 1")
	run(t, ctx, "create, step 1 with errors",
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-err-name"]`)),
	)
	axeRun(t, ctx, "create step 1, errors shown")
	run(t, ctx, "create, step 2",
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "north lamps"),
		chromedp.SendKeys(chromedp.CSS(`#f-devices`), s.pk+",ok1\n"),
		chromedp.Click(chromedp.CSS(`[data-testid="ruleSource-inline"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-jobDocument`), `{"action":"blink"}`),
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="policy-custom"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-policy`)),
		chromedp.SendKeys(chromedp.CSS(`#f-policy`), `{"waves":[{"count":1},{}]}`),
	)
	waitJS(t, ctx, "the policy in words", `document.querySelector('[data-testid="policy-preview"]').textContent.trim() !== ''`, 5*time.Second)
	axeRun(t, ctx, "create step 2, custom policy")

	run(t, ctx, "sign out", chromedp.Navigate(s.url+"/tasks"), chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	s.signIn(ctx, models.RoleSupport)
	run(t, ctx, "403", chromedp.Navigate(s.url+"/users"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-page"]`)))
	axeRun(t, ctx, "403")
	run(t, ctx, "a task page as support", chromedp.Navigate(task), chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtask-table"]`)))
	axeRun(t, ctx, "task page as support")
}

// TestAxeFindsViolations: the check above can fail: a page with an
// unlabelled field and grey-on-white text has violations, named.
func TestAxeFindsViolations(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	run(t, ctx, "a bad page", chromedp.Navigate(`data:text/html,<html lang="en"><title>bad</title><main><input type="text"><p style="color:%23aaa">faint</p></main></html>`))
	found, err := axeViolations(t, ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range found {
		ids = append(ids, v.ID)
	}
	if got := strings.Join(ids, ","); got != "color-contrast,label" {
		t.Fatalf("violations %q, want color-contrast,label", got)
	}
}
