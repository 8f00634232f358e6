package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

const (
	csrfLocal = "csrf"
	// csrfHeader carries the token of an htmx request (see console.js).
	csrfHeader = "X-Csrf-Token"
	// signInCookie binds the sign-in form's token to the browser that
	// asked for the form: a random value, kept by the browser only.
	signInCookie = "fleettasks_csrf"
)

// csrfKeys issues and checks the console's CSRF tokens, keeping no state
// on the server: a token is an HMAC, under a key derived from the server's
// secret, of what it is bound to. A signed-in request's token is bound to
// its session, so it changes at every sign-in and dies with the session;
// the sign-in form's token is bound to a random cookie of the browser.
// A token is taken from the X-Csrf-Token header or from the _csrf field of
// a URL-encoded form body, never from the query string; multipart bodies
// are never read for it (uploads go through htmx, which sends the header).
type csrfKeys struct {
	key       []byte
	publicURL string
}

func newCSRFKeys(secret []byte, publicURL string) csrfKeys {
	if len(secret) == 0 {
		panic("handlers: the server secret is empty; call Config.EnsureSecret first")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("fleettasks csrf v1"))
	return csrfKeys{key: m.Sum(nil), publicURL: publicURL}
}

// token is the token of binding.
func (k csrfKeys) token(binding string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session checks the token of a signed-in request (after sessionAuth) and
// hands the page its token.
func (k csrfKeys) session() fiber.Handler {
	return func(c *fiber.Ctx) error {
		return k.check(c, "session\x00"+c.Cookies(sessionCookie))
	}
}

// signIn does the same for the sign-in form. A browser without the
// sign-in cookie gets one with the form; a POST without it is refused.
func (k csrfKeys) signIn() fiber.Handler {
	return func(c *fiber.Ctx) error {
		nonce := c.Cookies(signInCookie)
		if !validNonce(nonce) {
			if !safeMethod(c.Method()) {
				return csrfRefused()
			}
			nonce = newNonce()
			c.Cookie(&fiber.Cookie{Name: signInCookie, Value: nonce, Path: "/", HTTPOnly: true,
				Secure: secureCookies(c, k.publicURL), SameSite: fiber.CookieSameSiteLaxMode})
		}
		return k.check(c, "sign-in\x00"+nonce)
	}
}

func (k csrfKeys) check(c *fiber.Ctx, binding string) error {
	want := k.token(binding)
	if !safeMethod(c.Method()) && !hmac.Equal([]byte(sentCSRFToken(c)), []byte(want)) {
		return csrfRefused()
	}
	c.Locals(csrfLocal, want)
	return c.Next()
}

func csrfRefused() error {
	return models.Forbidden("the form's security token is missing or out of date; reload the page and try again")
}

func safeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

// sentCSRFToken is the token of the header, or of the _csrf field of a
// URL-encoded body (PostArgs: the body only, not the query string).
func sentCSRFToken(c *fiber.Ctx) string {
	if t := c.Get(csrfHeader); t != "" {
		return t
	}
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		return string(c.Request().PostArgs().Peek(views.CSRFField))
	}
	return ""
}

func newNonce() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func validNonce(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 24
}
