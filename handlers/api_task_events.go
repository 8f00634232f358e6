package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// GET /api/v1/tasks/:id/events — the task's events, oldest first, paged.
func (h *apiTasks) events(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	if _, err := h.tasks.GetTask(c.UserContext(), id); err != nil {
		return err
	}
	list, err := h.tasks.TaskEvents(c.UserContext(), id, p, false)
	if err != nil {
		return err
	}
	return c.JSON(list)
}
