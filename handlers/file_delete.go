package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// POST /files/:id/delete — from the confirmation dialog. A refusal (a task
// that is not finished uses the file) goes back to next, or the file's
// page, with the reason; a deletion goes to next or the library.
func (h *console) fileDelete(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	file, err := h.files.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	next := c.FormValue("next")
	if err := h.files.Delete(c.UserContext(), id); err != nil {
		return actionFailed(c, err, localPath(next, views.FileURL(id)))
	}
	setFlash(c, "ok", "Deleted the file “"+file.Name+"”.")
	return redirect(c, localPath(next, views.FilesURL("", 0)))
}
