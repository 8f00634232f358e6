package browser_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"fleettasks/models"
)

// TestPhoneWidthInBrowser: on a 390×844 phone every page fits the width
// (a wide table scrolls in its own box, never the whole page), the role
// menu of a user's page is in sight, and axe-core finds nothing serious
// at that width either.
func TestPhoneWidthInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	d := s.consoleData()
	ctx := browser(t)
	run(t, ctx, "a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile))
	run(t, ctx, "the sign-in page", chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	fitsPhone(t, ctx, "sign-in")
	s.signIn(ctx, models.RoleAdmin)

	for _, p := range s.consolePages(d) {
		run(t, ctx, p.name, chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		fitsPhone(t, ctx, p.name)
		axeRun(t, ctx, p.name+" (phone)")
		switch p.name {
		case "user":
			inSight(t, ctx, p.name, `#role`)
			showsChoice(t, ctx, p.name, `#role`)
		case "users":
			showsChoice(t, ctx, p.name, `#user-role`)
		case "task page, Failed sub-tasks":
			run(t, ctx, "the execution details panel",
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-chart"]`)), // it loads after the page and moves the table down
				chromedp.Click(chromedp.CSS(`[data-testid="execution-details"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="message-history"]`)),
			)
			fitsPhone(t, ctx, "task page, execution details panel open")
		case "task page":
			screenshot(t, ctx, "task-details-phone")
		case "device log":
			screenshot(t, ctx, "device-log-phone")
		}
	}
	run(t, ctx, "a dialog", chromedp.Navigate(s.url+"/tasks/"+d.scheduled.ID.String()),
		chromedp.Click(chromedp.CSS(`[data-testid="action-cancel"]`)), chromedp.WaitVisible(chromedp.CSS(`#cancel-dialog`)))
	inSight(t, ctx, "the Cancel dialog", `#cancel-dialog`)
	run(t, ctx, "create, step 1", chromedp.Navigate(s.url+"/tasks/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-1"]`)))
	fitsPhone(t, ctx, "create step 1")
}

// fitsPhone fails the test when the page is wider than the phone's 390
// pixels, naming the widest elements that stick out.
func fitsPhone(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	if width <= 390 {
		return
	}
	// the innermost elements that stick out, outside the boxes that scroll
	out, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')]
		.filter(e => e.getBoundingClientRect().right > 391 && ![...e.children].some(c => c.getBoundingClientRect().right > 391) &&
			!(e.parentElement.closest('.overflow-x-auto, .overflow-auto')))
		.slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.dataset.testid ? '[' + e.dataset.testid + ']' : '') +
			'.' + [...e.classList].join('.') + ' ' + Math.round(e.getBoundingClientRect().right))`))
	t.Errorf("%s: %d px wide on a 390 px phone; sticking out: %v", page, width, out)
}

// inSight fails the test when the element is not wholly in the phone's
// width.
func inSight(t *testing.T, ctx context.Context, what, css string) {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const r = document.querySelector('`+css+`').getBoundingClientRect();
		return r.width > 0 && r.left >= 0 && r.right <= 390;
	})()`))
	if err != nil || !ok {
		t.Errorf("%s (%s) is not wholly in sight on a 390 px phone (%v)", what, css, err)
	}
}

// showsChoice fails the test when the chosen option of a <select> is cut:
// its text, in the select's font, is wider than the select's box less its
// padding and arrow.
func showsChoice(t *testing.T, ctx context.Context, what, css string) {
	t.Helper()
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const sel = document.querySelector('`+css+`');
		const s = getComputedStyle(sel);
		const probe = document.createElement('span');
		probe.style.font = s.font;
		probe.style.whiteSpace = 'pre';
		probe.textContent = sel.options[sel.selectedIndex].textContent;
		document.body.appendChild(probe);
		const text = probe.getBoundingClientRect().width;
		probe.remove();
		const room = sel.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight) - 16;
		return text <= room ? '' : Math.round(text) + ' px of text in ' + Math.round(room) + ' px';
	})()`))
	if err != nil || fits != "" {
		t.Errorf("%s: the choice of %s is cut: %s %v", what, css, fits, err)
	}
}
