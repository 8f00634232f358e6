package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /users/:id/tokens — creates an API token and answers the user's
// page with its secret, this once: never redirected, so that the secret
// goes in no cookie or URL, and not stored by the browser's cache.
func (h *adminPages) tokenCreate(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	secret, t, err := h.users.CreateToken(c.UserContext(), id, name)
	if err != nil {
		return h.userRefused(c, id, err, func(d *views.UserDetail) { d.TokenName = name })
	}
	auditTarget(c, "token", t.ID)
	auditChanges(c, models.Changed("user", nil, t.Email, "name", nil, t.Name))
	d, err := h.userDetail(c, id)
	if err != nil {
		return err
	}
	d.NewToken, d.NewSecret = t, secret
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Status(fiber.StatusCreated)
	return render(c, d.User.Email, views.UserShowPage(d))
}
