package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /users/:id — the user, their role and access, password and API tokens.
func (h *adminPages) userShow(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := h.userDetail(c, id)
	if err != nil {
		return err
	}
	return render(c, d.User.Email, views.UserShowPage(d))
}

// userDetail loads user id and their tokens.
func (h *adminPages) userDetail(c *fiber.Ctx, id models.ID) (views.UserDetail, error) {
	u, err := h.users.GetUser(c.UserContext(), id)
	if err != nil {
		return views.UserDetail{}, err
	}
	ts, err := h.users.ListTokens(c.UserContext(), id)
	if err != nil {
		return views.UserDetail{}, err
	}
	return views.UserDetail{User: u, Tokens: ts}, nil
}

// userRefused shows user id's page again with why err refused the action:
// a refusal in the current state (the last admin, say) at the top, 409; a
// bad field beside it, 422. keep, when set, puts back what the user sent.
// Other errors (not found, internal) go to the error page.
func (h *adminPages) userRefused(c *fiber.Ctx, id models.ID, err error, keep func(*views.UserDetail)) error {
	me, ok := models.AsError(err)
	if !ok || me.Kind != models.KindConflict && me.Kind != models.KindInvalid && me.Kind != models.KindUnprocessable {
		return err
	}
	d, derr := h.userDetail(c, id)
	if derr != nil {
		return derr
	}
	status := fiber.StatusUnprocessableEntity
	switch {
	case me.Kind == models.KindConflict:
		status, d.Error = fiber.StatusConflict, me.Message
	case me.Field == "":
		d.Error = me.Message
	default:
		d.Errors = map[string]string{me.Field: me.Message}
	}
	if keep != nil {
		keep(&d)
	}
	c.Status(status)
	return render(c, d.User.Email, views.UserShowPage(d))
}
