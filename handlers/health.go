package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// ReadyCheck is one dependency that must answer for /readyz.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

func healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func readyz(checks []ReadyCheck) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
		defer cancel()
		result := fiber.Map{}
		status := fiber.StatusOK
		for _, rc := range checks {
			if err := rc.Check(ctx); err != nil {
				result[rc.Name] = err.Error()
				status = fiber.StatusServiceUnavailable
			} else {
				result[rc.Name] = "ok"
			}
		}
		return c.Status(status).JSON(result)
	}
}
