package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// signIn is the sign-in page and sign-out.
type signIn struct {
	acc       accounts
	guard     guard
	publicURL string
	maxAge    time.Duration
}

// GET /login?next= — the sign-in form; a signed-in user goes on at once.
func (h *signIn) form(c *fiber.Ctx) error {
	next := sameOriginPath(c.Query("next"))
	if _, err := h.acc.Session(c.UserContext(), c.Cookies(sessionCookie)); err == nil {
		return redirect(c, orTasks(next))
	}
	return render(c, "Sign in", views.LoginPage(views.LoginForm{Next: next}))
}

// POST /login — checks the password, opens a session and goes to next.
// A failure shows the form again with the address kept and says why
// (wrong address or password, disabled, or too many failures).
func (h *signIn) login(c *fiber.Ctx) error {
	email, next := c.FormValue("email"), sameOriginPath(c.FormValue("next"))
	token, u, err := h.acc.Login(c.UserContext(), email, c.FormValue("password"), c.IP())
	if err != nil {
		me, ok := models.AsError(err)
		if !ok {
			return err
		}
		if me.Kind != models.KindInvalid {
			h.guard.record(withAuditEmail(c, email), "auth.login_failed", "")
		}
		c.Status(kindStatus[me.Kind])
		return render(c, "Sign in", views.LoginPage(views.LoginForm{Email: email, Next: next, Error: me.Message}))
	}
	setSessionCookie(c, token, secureCookies(c, h.publicURL), h.maxAge)
	// the form's cookie has served; the session's pages carry its own token
	c.Cookie(&fiber.Cookie{Name: signInCookie, Value: "", Path: "/", HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0)})
	c.Locals(userLocal, u)
	auditTarget(c, "user", u.ID)
	h.guard.record(c, "auth.login", "")
	return redirect(c, orTasks(next))
}

// POST /logout — ends the session.
func (h *signIn) logout(c *fiber.Ctx) error {
	if err := h.acc.Logout(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
		return err
	}
	clearSessionCookie(c)
	if u := currentUser(c); u != nil {
		auditTarget(c, "user", u.ID)
	}
	h.guard.record(c, "auth.logout", "")
	setFlash(c, "ok", "You are signed out.")
	return redirect(c, views.LoginURL(""))
}

// withAuditEmail names the address a failed sign-in was for.
func withAuditEmail(c *fiber.Ctx, email string) *fiber.Ctx {
	c.Locals(auditTargetLocal, "email:"+email)
	return c
}

func orTasks(next string) string {
	if next == "" || next == "/login" {
		return views.TasksURL("", "", 0)
	}
	return next
}
