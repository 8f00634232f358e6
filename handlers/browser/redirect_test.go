package browser_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A signed-in user following a sign-in link with any crafted next stays on
// the site in a real Chromium (which drops tabs, reads backslashes as
// slashes and follows Location as browsers do).
func TestNoRedirectOutInBrowser(t *testing.T) {
	s := newStack(t)
	ctx := browser(t)
	s.signIn(ctx, models.RoleOperator)
	for _, v := range testenv.RedirectVariants {
		// a navigation off the site fails (no such host) or lands elsewhere
		err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/login?next="+v))
		loc, lerr := chromedp.Run(ctx, chromedp.Location())
		if err != nil || lerr != nil || !strings.HasPrefix(loc, s.url+"/") {
			t.Errorf("next=%s: the browser is at %q (%v, %v)", v, loc, err, lerr)
		}
	}
}
