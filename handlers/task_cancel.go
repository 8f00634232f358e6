package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// POST /tasks/:id/cancel — from the confirmation dialog of the task's page,
// or of its row in the list (next: the list to go back to).
func (h *console) taskCancel(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	back := localPath(c.FormValue("next"), views.TaskURL(id))
	if _, err := h.tasks.CancelTask(c.UserContext(), id); err != nil {
		return actionFailed(c, err, back)
	}
	setFlash(c, "ok", "Cancelled the task: its unfinished sub-tasks are being cancelled and their devices told.")
	return redirect(c, back)
}
