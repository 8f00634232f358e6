package handlers

import (
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// isFragment reports whether the request wants only a fragment: an htmx
// request that is not a boosted navigation, nor the reload of a page the
// browser went Back or Forward to (htmx then swaps in the whole page).
func isFragment(c *fiber.Ctx) bool {
	return c.Get("HX-Request") == "true" && c.Get("HX-Boosted") != "true" && c.Get("HX-History-Restore-Request") != "true"
}

// render sends body: alone for htmx requests, inside the layout (with the
// flash message, if any) otherwise.
func render(c *fiber.Ctx, title string, body templ.Component) error {
	c.Vary("HX-Request")
	c.Type("html", "utf-8")
	ctx := views.WithViewer(c.UserContext(), viewer(c))
	if isFragment(c) {
		return body.Render(ctx, c.Response().BodyWriter())
	}
	l := views.Layout{Title: title, Flash: takeFlash(c), Active: navKey(c.Path())}
	return views.Page(l, body).Render(ctx, c.Response().BodyWriter())
}

// viewer is who the page is for and the CSRF token of its forms.
func viewer(c *fiber.Ctx) views.Viewer {
	v := views.Viewer{}
	if u := currentUser(c); u != nil {
		v.Email, v.Role = u.Email, u.Role
	}
	v.CSRF, _ = c.Locals(csrfLocal).(string)
	return v
}

// navKey is the main nav item of a console path: its first segment.
func navKey(path string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch first {
	case "devices", "products", "groups", "files", "users", "audit", "templates", "webhooks":
		return first
	case "", "failures":
		return "overview"
	}
	return "tasks"
}

// redirect sends the browser to to: HX-Redirect for htmx, 303 otherwise.
func redirect(c *fiber.Ctx, to string) error {
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Redirect", to)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

const flashCookie = "flash"

// setFlash leaves a message for the next page shown.
func setFlash(c *fiber.Ctx, kind, msg string) {
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: url.QueryEscape(kind + "|" + msg), Path: "/",
		HTTPOnly: true, SameSite: "Lax", Expires: time.Now().Add(5 * time.Minute)})
}

// takeFlash returns the flash message and clears it.
func takeFlash(c *fiber.Ctx) views.Flash {
	raw := c.Cookies(flashCookie)
	if raw == "" {
		return views.Flash{}
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: "Lax", Expires: time.Unix(1, 0)})
	s, err := url.QueryUnescape(raw)
	if err != nil {
		return views.Flash{}
	}
	kind, msg, _ := strings.Cut(s, "|")
	return views.Flash{Kind: kind, Message: msg}
}
