package handlers

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"
	"github.com/redis/go-redis/v9"

	"fleettasks/models"
	"fleettasks/views"
)

const csrfLocal = "csrf"

// csrfProtection is Fiber's CSRF middleware: every state-changing console
// request must send the token of its csrf_ cookie back, in the
// X-Csrf-Token header (htmx, see console.js) or in the _csrf field of a
// plain form. Tokens live in Redis, so that any web process accepts them.
func csrfProtection(rdb *redis.Client, publicURL string, lifetime time.Duration) fiber.Handler {
	return csrf.New(csrf.Config{
		CookieName:     "fleettasks_csrf",
		CookieSameSite: fiber.CookieSameSiteLaxMode,
		CookieHTTPOnly: true,
		CookieSecure:   strings.HasPrefix(publicURL, "https://"),
		Expiration:     lifetime,
		Storage:        &redisStorage{rdb: rdb, prefix: "fleettasks:csrf:"},
		ContextKey:     csrfLocal,
		Extractor:      csrfToken,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			return models.Forbidden("the form's security token is missing or out of date (%v); reload the page and try again", err)
		},
	})
}

// csrfToken takes the token from the header, or from the form field of a
// URL-encoded form. Multipart bodies are never parsed here (uploads are
// streamed by their handlers); htmx sends their token in the header.
func csrfToken(c *fiber.Ctx) (string, error) {
	if t := c.Get(csrf.HeaderName); t != "" {
		return t, nil
	}
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		if t := c.FormValue(views.CSRFField); t != "" {
			return t, nil
		}
	}
	return "", csrf.ErrTokenNotFound
}

// redisStorage is the fiber.Storage of the CSRF tokens.
type redisStorage struct {
	rdb    *redis.Client
	prefix string
}

func (s *redisStorage) Get(key string) ([]byte, error) {
	b, err := s.rdb.Get(context.Background(), s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

func (s *redisStorage) Set(key string, val []byte, exp time.Duration) error {
	return s.rdb.Set(context.Background(), s.prefix+key, val, exp).Err()
}

func (s *redisStorage) Delete(key string) error {
	return s.rdb.Del(context.Background(), s.prefix+key).Err()
}

// Reset and Close are not used by the CSRF middleware; the client belongs
// to the caller.
func (s *redisStorage) Reset() error { return nil }
func (s *redisStorage) Close() error { return nil }
