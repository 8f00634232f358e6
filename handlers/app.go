// Package handlers turns HTTP requests into calls of the model layer and
// its answers into JSON (and, from step 3, HTML).
package handlers

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/redis/go-redis/v9"

	"fleettasks/config"
	"fleettasks/models"
)

// Deps is what the handlers need, built by cmd/.
type Deps struct {
	Config   *config.Config
	DB       *models.DB
	Registry *models.Registry
	Files    *models.Files
	Tasks    *models.Tasks
	Accounts *models.Accounts
	Audit    *models.Audit
	Redis    *redis.Client // CSRF tokens
	Ready    []ReadyCheck
	Log      *slog.Logger
}

// MaxUpload bounds one upload request: the largest firmware file and the
// multipart framing around it.
const MaxUpload = models.MaxFirmwareSize + 1<<20

// contentSecurityPolicy allows no inline script (htmx is configured by a
// meta tag and evaluates nothing) and no framing; inline style attributes
// (the widths of the progress bars) are the one allowance.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// New builds the Fiber app with every route.
func New(d Deps) *fiber.App {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	app := fiber.New(fiber.Config{
		AppName:           "fleettasks",
		ErrorHandler:      ErrorHandler(d.Log),
		StreamRequestBody: true,
		// uploads are read as a stream by the handler, never pre-parsed
		DisablePreParseMultipartForm: true,
		BodyLimit:                    MaxUpload,
		ReadTimeout:                  10 * time.Minute,
		IdleTimeout:                  2 * time.Minute,
		DisableStartupMessage:        true,
		// client address and scheme from X-Forwarded-* only when the
		// request comes through a configured proxy
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.Config.TrustedProxies,
		ProxyHeader:             proxyHeader(d.Config.TrustedProxies),
	})
	app.Use(recover.New())
	app.Use(requestid.New(requestid.Config{ContextKey: "requestid"}))
	app.Use(helmet.New(helmet.Config{
		ContentSecurityPolicy: contentSecurityPolicy,
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "same-origin",
	}))
	app.Use(metricsMiddleware())
	routes(app, d)
	return app
}

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}
