package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// secretShownLocal marks an answer that shows a secret: no idempotency
// record keeps it (see notKept).
const secretShownLocal = "secret.shown"

// showsSecret keeps an answer that shows a secret out of every cache and
// out of the idempotency records.
func showsSecret(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Locals(secretShownLocal, true)
}

// POST /devices/:pk/:dn/secret — makes the device a new secret (after the
// page's confirmation) and shows it once on the device's page; the old one
// signs in no more. The audit log records the action, never the secret.
func (h *console) deviceSecret(c *fiber.Ctx) error {
	secret, err := h.registry.RotateDeviceSecret(c.UserContext(), c.Params("pk"), c.Params("dn"))
	if err != nil {
		return err
	}
	d, err := h.device(c)
	if err != nil {
		return err
	}
	o := views.DeviceOverview{Device: d, NewSecret: secret}
	if o.Groups, err = h.registry.DeviceGroups(c.UserContext(), d); err != nil {
		return err
	}
	if o.Counts, err = h.registry.DeviceSubtaskCounts(c.UserContext(), d.ID); err != nil {
		return err
	}
	showsSecret(c)
	return render(c, d.DeviceName, views.DeviceFrame(d, "", views.DeviceOverviewTab(o)))
}

// deviceSecretAnswer is the answer of a rotation: the device and its new
// secret.
type deviceSecretAnswer struct {
	ProductKey   string `json:"productKey"`
	DeviceName   string `json:"deviceName"`
	DeviceSecret string `json:"deviceSecret"`
}

// rotateSecret is POST /api/v1/devices/:pk/:dn/secret: a new secret,
// answered this once; the old one signs in no more.
func (h *apiDevices) rotateSecret(c *fiber.Ctx) error {
	pk, dn := pathText(c, "pk"), pathText(c, "dn")
	secret, err := h.reg.RotateDeviceSecret(c.UserContext(), pk, dn)
	if err != nil {
		return err
	}
	showsSecret(c)
	return c.JSON(deviceSecretAnswer{ProductKey: pk, DeviceName: dn, DeviceSecret: secret})
}
