package handlers

import (
	"context"
	"io"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// deviceRegistry is what the device routes use of models.Registry.
type deviceRegistry interface {
	ListDevices(ctx context.Context, f models.DeviceFilter, p models.Page) ([]models.Device, int64, error)
	GetDevice(ctx context.Context, pk, dn string) (*models.Device, error)
	ListDeviceMessages(ctx context.Context, pk, dn string, f models.MessageFilter, p models.Page) ([]models.Message, int64, error)
	RotateDeviceSecret(ctx context.Context, pk, dn string) (string, error)
	ImportDevices(ctx context.Context, csv io.Reader) (models.ImportResult, error)
}

// apiDevices serves /api/v1/devices: list, get, the message log, the CSV
// import and the rotation of a device's secret.
type apiDevices struct {
	reg deviceRegistry
}

// newAPIDevices returns the device API on reg.
func newAPIDevices(reg deviceRegistry) *apiDevices { return &apiDevices{reg: reg} }

// list is GET /api/v1/devices?productKey=&q=&groupId=&online=.
func (h *apiDevices) list(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := models.DeviceFilter{ProductKey: c.Query("productKey"), Q: c.Query("q")}
	if f.Online, err = queryOnline(c); err != nil {
		return err
	}
	if s := c.Query("groupId"); s != "" {
		if f.GroupID, err = models.ParseID("groupId", s); err != nil {
			return err
		}
	}
	items, total, err := h.reg.ListDevices(c.UserContext(), f, p)
	if err != nil {
		return err
	}
	return c.JSON(models.NewList(items, total, p))
}

// get is GET /api/v1/devices/:pk/:dn.
func (h *apiDevices) get(c *fiber.Ctx) error {
	d, err := h.reg.GetDevice(c.UserContext(), pathText(c, "pk"), pathText(c, "dn"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// messages is GET /api/v1/devices/:pk/:dn/messages?direction=&topic=&from=&to=&subtaskId=,
// newest first.
func (h *apiDevices) messages(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := models.MessageFilter{Direction: c.Query("direction"), Topic: c.Query("topic")}
	if f.From, err = queryTime(c, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(c, "to"); err != nil {
		return err
	}
	if s := c.Query("subtaskId"); s != "" {
		if f.SubtaskID, err = models.ParseID("subtaskId", s); err != nil {
			return err
		}
	}
	items, total, err := h.reg.ListDeviceMessages(c.UserContext(), pathText(c, "pk"), pathText(c, "dn"), f, p)
	if err != nil {
		return err
	}
	return c.JSON(models.NewList(items, total, p))
}

// queryTime reads an optional RFC 3339 time from the query parameter name.
func queryTime(c *fiber.Ctx, name string) (*time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, models.Invalid(name, "%q is not an RFC 3339 time such as 2025-01-31T08:00:00Z", s)
	}
	return &t, nil
}

// pathText is the path parameter name, percent-decoded: clients may send
// the : and @ of a device name as %3A and %40.
func pathText(c *fiber.Ctx, name string) string {
	raw := c.Params(name)
	if s, err := url.PathUnescape(raw); err == nil {
		return s
	}
	return raw
}

// queryOnline reads the online filter: true, false, or absent (nil).
func queryOnline(c *fiber.Ctx) (*bool, error) {
	switch s := c.Query("online"); s {
	case "":
		return nil, nil
	case "true", "false":
		v := s == "true"
		return &v, nil
	default:
		return nil, models.Invalid("online", "is %q; use true or false", s)
	}
}
