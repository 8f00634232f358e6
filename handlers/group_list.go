package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// GET /groups?page= — the group list and the create form.
func (h *console) groupList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	gs, total, err := h.registry.ListGroups(c.UserContext(), p)
	if err != nil {
		return err
	}
	d := views.GroupList{Groups: gs, Total: total, Page: p.Number, Pages: pageCount(total, p.Size)}
	return render(c, "Groups", views.GroupListPage(d))
}
