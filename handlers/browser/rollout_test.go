package browser_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// An operator creates a canary task from the preset, watches the first
// wave pass and wait for its soak time, pauses and resumes, approves the
// next wave, and sees the task through.
func TestRolloutInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices("w", 20)
	s.simulate("w", 20, sim.Succeed)
	ctx := browser(t)
	s.signIn(ctx, models.RoleOperator)

	run(t, ctx, "step 1: the whole product, an inline document",
		chromedp.Navigate(s.url+"/tasks/new"),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "lamps 2.1"),
		chromedp.Click(chromedp.CSS(`[data-testid="targetType-PRODUCT"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-productKey`)),
		chromedp.SetValue(chromedp.CSS(`#f-productKey`), s.pk),
		chromedp.SendKeys(chromedp.CSS(`#f-jobDocument`), `{"version":"2.1"}`),
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
	)
	run(t, ctx, "step 2: the canary preset",
		chromedp.SetValue(chromedp.CSS(`#f-rolloutPerMinute`), "6000"),
		chromedp.Click(chromedp.CSS(`[data-testid="policy-canary"]`)),
	)
	screenshot(t, ctx, "create-policy")
	run(t, ctx, "complete",
		chromedp.Click(chromedp.CSS(`[data-testid="complete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rollout"]`)),
	)
	waitJS(t, ctx, "the policy in words", `document.querySelector('[data-testid="task-policy"]').textContent.startsWith('1 % first')`, 5*time.Second)
	// the canary (1 of 20) succeeds, then waits 30 minutes before wave 2
	waitJS(t, ctx, "the first wave done, waiting for its soak time", `(() => {
		const r = document.querySelector('[data-testid="rollout"]');
		const w = document.querySelectorAll('[data-testid="wave"]');
		return r.dataset.rolloutState === 'WAITING_GATE' && w.length === 3 && w[0].dataset.waveState === 'DONE' &&
			w[1].dataset.waveState === 'WAITING_GATE' && !!document.querySelector('[data-testid="approve-wave-2"]');
	})()`, 20*time.Second)
	screenshot(t, ctx, "rollout-canary")

	run(t, ctx, "pause",
		chromedp.Click(chromedp.CSS(`[data-testid="action-pause"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="action-resume"]`)),
	)
	waitJS(t, ctx, "paused", `document.querySelector('[data-testid="rollout"]').dataset.rolloutState === 'PAUSED' &&
		document.querySelector('[data-testid="rollout-state"]').textContent.startsWith('Paused since')`, 5*time.Second)
	run(t, ctx, "resume",
		chromedp.Click(chromedp.CSS(`[data-testid="action-resume"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="action-pause"]`)),
	)
	waitJS(t, ctx, "waiting for the soak time again", `document.querySelector('[data-testid="rollout"]').dataset.rolloutState === 'WAITING_GATE'`, 5*time.Second)
	run(t, ctx, "approve wave 2", chromedp.Click(chromedp.CSS(`[data-testid="approve-wave-2"]`)))
	waitJS(t, ctx, "the task completes: every wave done", `(() => {
		const w = [...document.querySelectorAll('[data-testid="wave"]')];
		return document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'COMPLETED' &&
			w.length === 3 && w.every(x => x.dataset.waveState === 'DONE');
	})()`, 30*time.Second)
	run(t, ctx, "reload the finished task", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#task-chart polyline`)))
	waitJS(t, ctx, "the chart shows all 20 succeeded", `document.querySelector('#task-chart polyline[data-series="SUCCEEDED"]').dataset.last === '20'`, 5*time.Second)
	screenshot(t, ctx, "rollout-done")
}
