package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// POST /tasks/:id/delete — from the confirmation dialog.
func (h *console) taskDelete(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := h.tasks.DeleteTask(c.UserContext(), id); err != nil {
		return actionFailed(c, err, views.TaskURL(id))
	}
	auditTask(c, id, task.Name, "")
	setFlash(c, "ok", "Deleted the task “"+task.Name+"” and all its data.")
	return redirect(c, localPath(c.FormValue("next"), views.TasksURL("", "", 0)))
}
