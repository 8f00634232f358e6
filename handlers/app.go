// Package handlers turns HTTP requests into calls of the model layer and
// its answers into JSON (and, from step 3, HTML).
package handlers

import (
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/valyala/fasthttp"

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
	Webhooks *models.Webhooks // nil: made on DB
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

// uploadReadTimeout is how long an upload's body (firmware, a device
// import) may take to arrive.
const uploadReadTimeout = 10 * time.Minute

// streamedBody reports whether path takes a streamed multipart body (an
// upload or a device import), which may take long to arrive.
func streamedBody(path string) bool {
	switch path {
	case "/api/v1/files", "/files", "/console/files":
		return true
	}
	return strings.HasSuffix(path, "/import")
}

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
		// a client has HTTPHeaderTimeout for a request's headers (and
		// body); uploads get uploadReadTimeout for theirs (HeaderReceived)
		ReadTimeout:           d.Config.HTTPHeaderTimeout,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
		// client address and scheme from X-Forwarded-* only when the
		// request comes through a configured proxy
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.Config.TrustedProxies,
		ProxyHeader:             proxyHeader(d.Config.TrustedProxies),
	})
	app.Server().MaxConnsPerIP = d.Config.HTTPMaxConnsPerIP
	app.Server().HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		path, _, _ := strings.Cut(string(h.RequestURI()), "?")
		if h.IsPost() && streamedBody(path) {
			return fasthttp.RequestConfig{ReadTimeout: uploadReadTimeout}
		}
		return fasthttp.RequestConfig{}
	}
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
