package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /groups — creates a static or dynamic group; a bad name or query
// comes back in the form with the user's values.
func (h *console) groupCreate(c *fiber.Ctx) error {
	in := models.GroupInput{Name: c.FormValue("name"), Kind: c.FormValue("kind"), Query: c.FormValue("query")}
	if in.Kind == models.GroupStatic {
		in.Query = "" // a hidden query field of a static group is not an error
	}
	g, err := h.registry.CreateGroup(c.UserContext(), in)
	if err == nil {
		auditTarget(c, "group", g.ID)
		setFlash(c, "ok", "Created the group “"+g.Name+"”.")
		return redirect(c, views.GroupURL(g.ID))
	}
	me, ok := models.AsError(err)
	if !ok {
		return err
	}
	f := views.GroupForm{Name: in.Name, Kind: in.Kind, Query: in.Query, Errors: map[string]string{me.Field: me.Message}}
	c.Status(fiber.StatusUnprocessableEntity)
	return render(c, "Create a group", views.GroupCreateForm(f))
}
