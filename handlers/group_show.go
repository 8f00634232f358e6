package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /groups/:id?page= — a group and its devices.
func (h *console) groupShow(c *fiber.Ctx) error {
	d, err := h.groupDetail(c)
	if err != nil {
		return err
	}
	return render(c, d.Group.Name, views.GroupShowPage(d))
}

// groupDetail loads the group of the :id path parameter and one page of
// its members.
func (h *console) groupDetail(c *fiber.Ctx) (views.GroupDetail, error) {
	p, err := page(c)
	if err != nil {
		return views.GroupDetail{}, err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return views.GroupDetail{}, err
	}
	g, err := h.registry.GetGroup(c.UserContext(), id)
	if err != nil {
		return views.GroupDetail{}, err
	}
	members, total, err := h.registry.ListDevices(c.UserContext(), models.DeviceFilter{GroupID: id}, p)
	if err != nil {
		return views.GroupDetail{}, err
	}
	return views.GroupDetail{Group: g, Members: members, Page: p.Number, Pages: pageCount(total, p.Size)}, nil
}
