package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// apiError is the JSON error shape of docs/api.md.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	// Errors is every field error of the request when it has more than
	// one (the first is the error itself).
	Errors []apiFieldError `json:"errors,omitempty"`
}

// apiFieldError is one of the field errors of a request.
type apiFieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

var kindStatus = map[models.Kind]int{
	models.KindInvalid:       http.StatusBadRequest,
	models.KindUnprocessable: http.StatusUnprocessableEntity,
	models.KindNotFound:      http.StatusNotFound,
	models.KindConflict:      http.StatusConflict,
	models.KindTooLarge:      http.StatusRequestEntityTooLarge,
	models.KindUnsupported:   http.StatusUnsupportedMediaType,
	models.KindUnauthorized:  http.StatusUnauthorized,
	models.KindForbidden:     http.StatusForbidden,
	models.KindTooMany:       http.StatusTooManyRequests,
}

var statusCode = map[int]string{
	http.StatusBadRequest:                   "invalid_argument",
	http.StatusUnauthorized:                 "unauthenticated",
	http.StatusForbidden:                    "permission_denied",
	http.StatusNotFound:                     "not_found",
	http.StatusMethodNotAllowed:             "method_not_allowed",
	http.StatusConflict:                     "conflict",
	http.StatusRequestEntityTooLarge:        "payload_too_large",
	http.StatusUnsupportedMediaType:         "unsupported_media_type",
	http.StatusUnprocessableEntity:          "failed_precondition",
	http.StatusTooManyRequests:              "resource_exhausted",
	http.StatusRequestedRangeNotSatisfiable: "out_of_range",
}

// statusOf is the HTTP status err is answered with.
func statusOf(err error) int {
	var fe *fiber.Error
	if me, ok := models.AsError(err); ok {
		return kindStatus[me.Kind]
	} else if errors.As(err, &fe) {
		return fe.Code
	}
	return http.StatusInternalServerError
}

// ErrorHandler is the one place errors become responses: business errors
// keep their message and field, anything else is logged with the request
// id and answered without internals.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		body := apiErrorBody{RequestID: requestID(c)}
		status := statusOf(err)
		var fe *fiber.Error
		if me, ok := models.AsError(err); ok {
			body.Code, body.Message, body.Field = string(me.Kind), me.Message, me.Field
			if all := models.AllErrors(err); len(all) > 1 {
				for _, e := range all {
					body.Errors = append(body.Errors, apiFieldError{Code: string(e.Kind), Message: e.Message, Field: e.Field})
				}
			}
		} else if errors.As(err, &fe) {
			body.Code, body.Message = statusCode[status], fe.Message
		}
		if body.Code == "" {
			body.Code = "internal"
		}
		if status >= 500 {
			log.Error("request failed", "id", body.RequestID, "method", c.Method(), "path", c.Path(), "err", err)
			body.Message = "internal error; quote request id " + body.RequestID
		} else {
			log.Warn("request refused", "id", body.RequestID, "method", c.Method(), "path", c.Path(), "status", status, "err", err)
		}
		if strings.HasPrefix(c.Path(), "/api/") || strings.HasPrefix(c.Path(), "/download/") || strings.Contains(c.Get(fiber.HeaderAccept), "application/json") {
			return c.Status(status).JSON(apiError{Error: body})
		}
		return renderError(c, status, body.Message)
	}
}

func requestID(c *fiber.Ctx) string {
	if id, ok := c.Locals("requestid").(string); ok {
		return id
	}
	return ""
}

// renderError is the console's error page (or, for htmx, its fragment).
func renderError(c *fiber.Ctx, status int, msg string) error {
	c.Status(status)
	return render(c, http.StatusText(status), views.ErrorPage(status, msg))
}
