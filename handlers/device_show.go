package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// device is the device named by the :pk and :dn path parameters.
func (h *console) device(c *fiber.Ctx) (*models.Device, error) {
	return h.registry.GetDevice(c.UserContext(), c.Params("pk"), c.Params("dn"))
}

// onlineRule is what Online means in the console's device pages.
func (h *console) onlineRule() views.OnlineRule {
	return views.OnlineRule{Embedded: h.registry.ConnectionState(), OfflineAfter: h.registry.OfflineAfter()}
}

// GET /devices/:pk/:dn — the device's Overview tab.
func (h *console) deviceShow(c *fiber.Ctx) error {
	d, err := h.device(c)
	if err != nil {
		return err
	}
	o := views.DeviceOverview{Device: d, OnlineRule: h.onlineRule()}
	if o.Groups, err = h.registry.DeviceGroups(c.UserContext(), d); err != nil {
		return err
	}
	if o.Counts, err = h.registry.DeviceSubtaskCounts(c.UserContext(), d.ID); err != nil {
		return err
	}
	return render(c, d.DeviceName, views.DeviceFrame(d, "", views.DeviceOverviewTab(o)))
}
