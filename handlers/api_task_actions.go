package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// POST /api/v1/tasks/:id/cancel
func (h *apiTasks) cancel(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.tasks.CancelTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(task)
}

// POST /api/v1/tasks/:id/rerun
func (h *apiTasks) rerun(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.tasks.RerunTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(task)
}

// DELETE /api/v1/tasks/:id — accepted at once; devices are told and the
// data deleted by the workers.
func (h *apiTasks) delete(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.tasks.DeleteTask(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
