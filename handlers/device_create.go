package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /devices — registers one device from the list page's form and
// answers, in the form's place, the device's secret: the one time it is
// shown. On a bad name, an unknown product or a duplicate, the form comes
// back with the user's values and the error by its field. A name too long
// for the Alibaba C SDK is registered with a hint.
func (h *console) deviceCreate(c *fiber.Ctx) error {
	f := views.DeviceAdd{ProductKey: c.FormValue("productKey"), DeviceName: strings.TrimSpace(c.FormValue("deviceName"))}
	ds, err := h.registry.CreateDevices(c.UserContext(), f.ProductKey, []string{f.DeviceName})
	if err == nil {
		auditTarget(c, "device", f.ProductKey+"/"+f.DeviceName)
		done := views.DeviceAdded{Device: &ds[0]}
		if models.TopicTooLongForCSDK(f.ProductKey, f.DeviceName) {
			done.Hint = models.CSDKTopicHint(f.ProductKey, f.DeviceName)
		}
		showsSecret(c)
		c.Status(fiber.StatusCreated)
		return render(c, "Device registered", views.DeviceAddedCard(done))
	}
	me, ok := models.AsError(err)
	if !ok {
		return err
	}
	field := "deviceName"
	if me.Kind == models.KindNotFound {
		field = "productKey"
	}
	msg := me.Message
	if strings.HasPrefix(msg, "is ") {
		msg = "The device name " + msg
	}
	f.Errors = map[string]string{field: msg}
	if f.Products, err = h.allProducts(c); err != nil {
		return err
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return render(c, "Add a device", views.DeviceAddForm(f))
}
