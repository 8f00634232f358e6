package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// POST /devices/:pk/:dn/delete — from the confirmation dialog.
func (h *console) deviceDelete(c *fiber.Ctx) error {
	pk, dn := c.Params("pk"), c.Params("dn")
	if err := h.registry.DeleteDevice(c.UserContext(), pk, dn); err != nil {
		return actionFailed(c, err, views.DeviceURL(pk, dn))
	}
	setFlash(c, "ok", "Deleted the device "+pk+"/"+dn+" and its sub-tasks.")
	return redirect(c, views.DevicesURL("", "", 0))
}
