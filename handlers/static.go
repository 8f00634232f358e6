package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/assets"
)

// static serves the embedded assets by their content-hashed names, cached
// for a year: a new build has new names.
func static(c *fiber.Ctx) error {
	f, ok := assets.Lookup(c.Params("name"))
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, f.ContentType)
	return c.Send(f.Body)
}

// favicon sends /favicon.ico to the console's icon (its hashed name).
func favicon(c *fiber.Ctx) error {
	return c.Redirect(assets.URL("favicon.svg"), fiber.StatusMovedPermanently)
}
