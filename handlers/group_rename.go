package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /groups/:id/rename — a new name; a bad or taken one comes back
// beside the field with the user's input.
func (h *console) groupRename(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	before, err := h.registry.GetGroup(c.UserContext(), id)
	if err != nil {
		return err
	}
	g, err := h.registry.RenameGroup(c.UserContext(), id, name)
	if err == nil {
		auditChanges(c, models.Changed("name", before.Name, g.Name))
		setFlash(c, "ok", "Renamed the group to “"+g.Name+"”.")
		return redirect(c, views.GroupURL(id))
	}
	me, ok := models.AsError(err)
	if !ok || me.Field != "name" {
		return err
	}
	d, derr := h.groupDetail(c)
	if derr != nil {
		return derr
	}
	d.NewName, d.RenameError = name, me.Message
	c.Status(fiber.StatusUnprocessableEntity)
	return render(c, d.Group.Name, views.GroupShowPage(d))
}
