package browser_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/models"
)

// TestTemplateInBrowser: an operator saves a task as a template from its
// page, then creates a task from the template: the form comes filled in
// with the template's settings, and the task gets them.
func TestTemplateInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("d", 2)
	later := time.Now().Add(time.Hour)
	task, err := s.app.Tasks.CreateTask(context.Background(), models.TaskInput{Name: "nightly lamps", Description: "night run",
		Target:      models.TargetInput{Type: models.TargetDeviceList, Devices: []models.DeviceRef{{ProductKey: s.pk, DeviceName: "d1"}}},
		JobDocument: []byte(`{"action":"blink"}`), RolloutPerMinute: new(30), InProgressTimeoutMinutes: new(45), ScheduledAt: &later,
		Policy: &models.Policy{Waves: []models.Wave{{Count: new(int64(1))}, {}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	s.signIn(ctx, models.RoleOperator)

	run(t, ctx, "save the task as a template",
		chromedp.Navigate(s.url+"/tasks/"+task.ID.String()),
		chromedp.Click(chromedp.CSS(`[data-testid="action-save-template"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="template-save-name"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="template-save-name"]`), "Nightly"),
		chromedp.Click(chromedp.CSS(`[data-testid="template-save-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="template-name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	run(t, ctx, "create a task from it",
		chromedp.Click(chromedp.CSS(`[data-testid="template-use"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)),
	)
	waitJS(t, ctx, "the form holds the template's document",
		`document.querySelector('#f-jobDocument').value.includes('"action": "blink"') &&
		 document.querySelector('#f-description').value === 'night run'`, 5*time.Second)
	run(t, ctx, "name it, list its devices, go on",
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "from the template"),
		chromedp.SendKeys(chromedp.CSS(`#f-devices`), s.pk+",d1\n"+s.pk+",d2\n"),
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
	)
	waitJS(t, ctx, "step 2 holds the template's rate, timeout and policy",
		`document.querySelector('#f-rolloutPerMinute').value === '30' &&
		 document.querySelector('#f-inProgressTimeoutMinutes').value === '45' &&
		 document.querySelector('[data-testid="policy-custom"]').checked &&
		 document.querySelector('#f-policy').value.includes('"waves"')`, 5*time.Second)
	// the policy's words load after the step and push the buttons down: a
	// click before they come can land where Complete was
	waitJS(t, ctx, "the policy in words", `document.querySelector('#policy-preview').textContent.trim() !== ''`, 10*time.Second)
	run(t, ctx, "complete",
		chromedp.Click(chromedp.CSS(`[data-testid="complete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-summary"]`)),
	)
	var made models.ID
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT id FROM tasks WHERE name = 'from the template'`).Scan(&made); err != nil {
		t.Fatal(err)
	}
	got, err := s.app.Tasks.GetTask(context.Background(), made)
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "night run" || string(got.JobDocument) != `{"action":"blink"}` || got.RolloutPerMinute != 30 ||
		got.InProgressTimeoutMinutes == nil || *got.InProgressTimeoutMinutes != 45 || got.Policy == nil || len(got.Policy.Waves) != 2 ||
		got.Target.DeviceCount != 2 {
		t.Errorf("the task from the template: %+v", got)
	}
}
