package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /tasks/:id/rerun
func (h *console) taskRerun(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.tasks.RerunTask(c.UserContext(), id); err != nil {
		return actionFailed(c, err, views.TaskURL(id))
	}
	setFlash(c, "ok", "Rerunning the failed and timed-out sub-tasks.")
	return redirect(c, views.TaskURL(id))
}

// actionFailed reports a refused action (a conflict: the task's state does
// not allow it) as a flash on the page it came from; other errors go to
// the error handler.
func actionFailed(c *fiber.Ctx, err error, back string) error {
	if me, ok := models.AsError(err); ok && me.Kind == models.KindConflict {
		notDone(c)
		setFlash(c, "error", me.Message)
		return redirect(c, back)
	}
	return err
}
