package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /users/:id/password — an admin sets a user's new password; the
// user's sessions end. A short or long password comes back beside the
// field (422).
func (h *adminPages) userPassword(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	pw := c.FormValue("password")
	before, after, err := h.users.UpdateUser(c.UserContext(), id, models.UserPatch{Password: &pw})
	if err != nil {
		return h.userRefused(c, id, err, nil)
	}
	auditChanges(c, userChanges(before, after, true))
	setFlash(c, "ok", "Set a new password for "+after.Email+"; their sessions have ended.")
	return redirect(c, views.UserURL(id))
}
