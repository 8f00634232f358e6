package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// POST /tasks/:id/cancel
func (h *console) taskCancel(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.tasks.CancelTask(c.UserContext(), id); err != nil {
		return actionFailed(c, err, views.TaskURL(id))
	}
	setFlash(c, "ok", "Cancelled the task: its unfinished sub-tasks are being cancelled and their devices told.")
	return redirect(c, views.TaskURL(id))
}
