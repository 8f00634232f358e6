package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// POST /tasks/new/draft — the create form's values as they are typed, kept
// in its draft (field "draft") without checking them, so that a reload
// before Next brings them back. 204; a completed, expired or unknown draft
// is left as it is.
func (h *console) taskDraftSave(c *fiber.Ctx) error {
	v, err := formValues(c)
	if err != nil {
		return err
	}
	if id := v.Get("draft"); id != "" {
		if _, err := h.tasks.SaveDraft(c.UserContext(), currentUser(c).ID, id, 0, createFormValues(v)); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}
