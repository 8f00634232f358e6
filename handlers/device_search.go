package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /console/devices/search?q= — the create form's device picker: up to
// 20 devices whose name starts with q.
func (h *console) deviceSearch(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	var devices []models.Device
	if q != "" {
		var err error
		devices, _, err = h.registry.ListDevices(c.UserContext(), models.DeviceFilter{Q: q}, models.Page{Number: 1, Size: 20})
		if err != nil {
			if _, ok := models.AsError(err); !ok {
				return err
			}
			devices = nil // a query that cannot match (too long, NUL) finds nothing
		}
	}
	return render(c, "Devices", views.DeviceSearchResults(devices, q))
}

// GET /console/rule-template.json — the rule file template.
func ruleTemplate(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="rule-template.json"`)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.SendString("{\n  \"key\": \"value\"\n}\n")
}
