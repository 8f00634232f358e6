package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// groupRegistry is what the group routes use of models.Registry.
type groupRegistry interface {
	CreateGroup(ctx context.Context, in models.GroupInput) (*models.Group, error)
	ListGroups(ctx context.Context, p models.Page) ([]models.Group, int64, error)
	GetGroup(ctx context.Context, id models.ID) (*models.Group, error)
	RenameGroup(ctx context.Context, id models.ID, name string) (*models.Group, error)
	AddGroupDevices(ctx context.Context, id models.ID, refs []models.DeviceRef) (int64, error)
}

// apiGroups serves /api/v1/groups: create, list, get and adding devices to
// a static group.
type apiGroups struct {
	reg groupRegistry
}

// newAPIGroups returns the group API on reg.
func newAPIGroups(reg groupRegistry) *apiGroups { return &apiGroups{reg: reg} }

// create is POST /api/v1/groups.
func (h *apiGroups) create(c *fiber.Ctx) error {
	var in models.GroupInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	g, err := h.reg.CreateGroup(c.UserContext(), in)
	if err == nil {
		auditTarget(c, "group", g.ID)
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(g)
}

// list is GET /api/v1/groups.
func (h *apiGroups) list(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, total, err := h.reg.ListGroups(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(models.NewList(items, total, p))
}

// get is GET /api/v1/groups/:id.
func (h *apiGroups) get(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	g, err := h.reg.GetGroup(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(g)
}

// addDevices is POST /api/v1/groups/:id/devices with
// {"devices":[{"productKey","deviceName"}]}: 200 with how many devices were
// new to the group and the group.
func (h *apiGroups) addDevices(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Devices []models.DeviceRef `json:"devices"`
	}
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	added, err := h.reg.AddGroupDevices(c.UserContext(), id, in.Devices)
	if err != nil {
		return err
	}
	g, err := h.reg.GetGroup(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"added": added, "group": g})
}

// rename is PATCH /api/v1/groups/:id with {"name"}.
func (h *apiGroups) rename(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name *string `json:"name"`
	}
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return models.Invalid("name", "is required: the group's new name")
	}
	before, err := h.reg.GetGroup(c.UserContext(), id)
	if err != nil {
		return err
	}
	g, err := h.reg.RenameGroup(c.UserContext(), id, *in.Name)
	if err != nil {
		return err
	}
	auditChanges(c, models.Changed("name", before.Name, g.Name))
	return c.JSON(g)
}
