package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// productRegistry is what the product routes use of models.Registry.
type productRegistry interface {
	CreateProduct(ctx context.Context, in models.ProductInput) (*models.Product, error)
	ListProducts(ctx context.Context, p models.Page) ([]models.Product, int64, error)
	GetProduct(ctx context.Context, pk string) (*models.Product, error)
	CreateDevices(ctx context.Context, pk string, names []string) ([]models.Device, error)
}

// apiProducts serves /api/v1/products: create, list, get and bulk device
// registration.
type apiProducts struct {
	reg productRegistry
}

// newAPIProducts returns the product API on reg.
func newAPIProducts(reg productRegistry) *apiProducts { return &apiProducts{reg: reg} }

// create is POST /api/v1/products.
func (h *apiProducts) create(c *fiber.Ctx) error {
	var in models.ProductInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	p, err := h.reg.CreateProduct(c.UserContext(), in)
	if err == nil {
		auditTarget(c, "product", p.ProductKey)
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

// list is GET /api/v1/products.
func (h *apiProducts) list(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, total, err := h.reg.ListProducts(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(models.NewList(items, total, p))
}

// get is GET /api/v1/products/:pk.
func (h *apiProducts) get(c *fiber.Ctx) error {
	p, err := h.reg.GetProduct(c.UserContext(), pathText(c, "pk"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// newDevices is the body of POST /api/v1/products/:pk/devices.
type newDevices struct {
	Devices []struct {
		DeviceName string `json:"deviceName"`
	} `json:"devices"`
}

// createdDevices is the answer of a bulk registration: the devices and,
// when any apply, warnings on names some device clients cannot use.
type createdDevices struct {
	Devices  []models.Device       `json:"devices"`
	Warnings []models.FieldWarning `json:"warnings,omitempty"`
}

// createDevices is POST /api/v1/products/:pk/devices: up to 10,000 devices,
// all or nothing; 201 with the created devices, each with its
// deviceSecret: the one time it is shown.
func (h *apiProducts) createDevices(c *fiber.Ctx) error {
	var in newDevices
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	names := make([]string, len(in.Devices))
	for i, d := range in.Devices {
		names[i] = d.DeviceName
	}
	pk := pathText(c, "pk")
	devices, err := h.reg.CreateDevices(c.UserContext(), pk, names)
	if err != nil {
		return err
	}
	auditChanges(c, models.Changed("devices", nil, len(devices)))
	showsSecret(c)
	return c.Status(fiber.StatusCreated).JSON(createdDevices{Devices: devices, Warnings: models.CSDKNameWarnings(pk, names)})
}

// maxDeviceListBody bounds the body of a bulk device call: 10,000 entries
// of the longest names with room to spare.
const maxDeviceListBody = 4 << 20
