package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /users/:id — role= changes the role, disabled=true|false disables
// (signing the user out, stopping their tokens) or enables the user. A
// refusal (the last enabled admin) is shown on the user's page.
func (h *adminPages) userUpdate(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var p models.UserPatch
	if r := c.FormValue("role"); r != "" {
		p.Role = &r
	}
	if s := c.FormValue("disabled"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return h.userRefused(c, id, models.Invalid("disabled", "must be true or false (it is %q)", s), nil)
		}
		p.Disabled = &b
	}
	if p.Role == nil && p.Disabled == nil {
		return h.userRefused(c, id, models.Invalid("role", "choose a role"), nil)
	}
	before, after, err := h.users.UpdateUser(c.UserContext(), id, p)
	if err != nil {
		return h.userRefused(c, id, err, nil)
	}
	auditChanges(c, userChanges(before, after, false))
	setFlash(c, "ok", updateMessage(before, after))
	return redirect(c, views.UserURL(id))
}

// updateMessage says what a user edit changed.
func updateMessage(before, after *models.User) string {
	switch {
	case !before.Disabled && after.Disabled:
		return "Disabled " + after.Email + ": signed out, and their API tokens are refused."
	case before.Disabled && !after.Disabled:
		return "Enabled " + after.Email + "."
	case before.Role != after.Role:
		return "Changed the role of " + after.Email + " from " + string(before.Role) + " to " + string(after.Role) + "."
	}
	return "No change: " + after.Email + " is already " + string(after.Role) + "."
}
