package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /tokens/:id/revoke — from the confirmation dialog of the user's
// page (user= names them); the token is refused from now on. A token
// already revoked is said so on that page (409).
func (h *adminPages) tokenRevoke(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	t, err := h.users.RevokeToken(c.UserContext(), id)
	if err != nil {
		user, perr := models.ParseID("user", c.FormValue("user"))
		if me, ok := models.AsError(err); ok && me.Kind == models.KindConflict && perr == nil && user != 0 {
			return h.userRefused(c, user, err, nil)
		}
		return err
	}
	auditChanges(c, models.Changed("revoked", false, true))
	name := t.Name
	if name == "" {
		name = t.Prefix + "…"
	}
	setFlash(c, "ok", "Revoked the token “"+name+"” of "+t.Email+"; it is refused from now on.")
	return redirect(c, views.UserURL(t.UserID))
}
