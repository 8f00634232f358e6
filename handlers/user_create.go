package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /users — creates a user and goes to their page; a bad or taken
// email, a bad role or a short password comes back beside its field with
// the values sent (never the password), 422.
func (h *adminPages) userCreate(c *fiber.Ctx) error {
	in := models.UserInput{Email: strings.TrimSpace(c.FormValue("email")), Role: c.FormValue("role"),
		Password: c.FormValue("password")}
	u, err := h.users.CreateUser(c.UserContext(), in)
	if err == nil {
		auditTarget(c, "user", u.ID)
		auditChanges(c, models.Changed("email", nil, u.Email, "role", nil, u.Role))
		setFlash(c, "ok", "Created the user "+u.Email+" ("+string(u.Role)+").")
		return redirect(c, views.UserURL(u.ID))
	}
	me, ok := models.AsError(err)
	if !ok {
		return err
	}
	f := views.UserForm{
		Values: map[string]string{"email": in.Email, "role": in.Role},
		Errors: map[string]string{me.Field: me.Message},
	}
	c.Status(fiber.StatusUnprocessableEntity)
	if isFragment(c) {
		return render(c, "Create a user", views.UserCreateForm(f))
	}
	d, err := h.userListData(c, models.Page{Number: 1, Size: 20})
	if err != nil {
		return err
	}
	d.Form = f
	return render(c, "Users", views.UserListPage(d))
}
