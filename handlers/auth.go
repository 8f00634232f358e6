package handlers

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// accounts is what the handlers use of models.Accounts.
type accounts interface {
	Login(ctx context.Context, email, password, ip string) (string, *models.User, error)
	Logout(ctx context.Context, token string) error
	Session(ctx context.Context, token string) (*models.Session, error)
	TokenUser(ctx context.Context, secret string) (*models.User, error)
}

const (
	sessionCookie = "fleettasks_session"
	userLocal     = "user"
)

// currentUser is the user the request acts for (nil before authentication).
func currentUser(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(userLocal).(*models.User)
	return u
}

// apiAuth accepts a request with a valid "Authorization: Bearer" API token.
func apiAuth(acc accounts) fiber.Handler {
	return func(c *fiber.Ctx) error {
		scheme, secret, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
		if !strings.EqualFold(scheme, "Bearer") || secret == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="fleettasks"`)
			return models.Unauthenticated("send an API token: Authorization: Bearer <token>")
		}
		u, err := acc.TokenUser(c.UserContext(), strings.TrimSpace(secret))
		if err != nil {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="fleettasks", error="invalid_token"`)
			return err
		}
		c.Locals(userLocal, u)
		c.SetUserContext(models.WithActor(c.UserContext(), u.Email+" (API token)"))
		return c.Next()
	}
}

// sessionAuth accepts a request of a signed-in console user; anyone else
// is sent to the sign-in page (and back here after it).
func sessionAuth(acc accounts) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s, err := acc.Session(c.UserContext(), c.Cookies(sessionCookie))
		if err != nil {
			if me, ok := models.AsError(err); !ok || me.Kind != models.KindUnauthorized {
				return err
			}
			clearSessionCookie(c)
			next := c.OriginalURL()
			if c.Method() != fiber.MethodGet || isFragment(c) {
				next = sameOriginPath(c.Get(fiber.HeaderReferer))
			}
			return redirect(c, views.LoginURL(next))
		}
		c.Locals(userLocal, &s.User)
		c.SetUserContext(models.WithActor(c.UserContext(), s.User.Email))
		// what a signed-in user sees stays out of every cache (shared
		// machines, proxies, the back button after sign-out)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Next()
	}
}

// allow refuses (403) a user whose role may not do what p names. It is
// the one permission check; routes.go puts it on every route.
func allow(p models.Permission) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := currentUser(c)
		if u == nil {
			return models.Unauthenticated("sign in first")
		}
		if !u.Role.Can(p) {
			return models.Forbidden("the %s role may not %s", u.Role, permissionText[p])
		}
		return c.Next()
	}
}

var permissionText = map[models.Permission]string{
	models.PermView:          "view this",
	models.PermTasksWrite:    "create, edit, cancel, rerun or export tasks",
	models.PermTasksDelete:   "delete tasks",
	models.PermRegistryWrite: "manage products, devices or groups",
	models.PermFilesWrite:    "upload or delete rule files and firmware",
	models.PermAdmin:         "manage users and tokens or read the audit log",
}

// secureCookies reports whether cookies must be Secure: the console is
// served over HTTPS (directly or, per X-Forwarded-Proto, behind a proxy)
// or its public URL is https.
func secureCookies(c *fiber.Ctx, publicURL string) bool {
	return c.Protocol() == "https" || strings.HasPrefix(publicURL, "https://")
}

func setSessionCookie(c *fiber.Ctx, token string, secure bool, maxAge time.Duration) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: token, Path: "/", HTTPOnly: true, Secure: secure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Now().Add(maxAge)})
}

func clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0)})
}
