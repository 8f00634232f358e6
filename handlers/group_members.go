package handlers

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /groups/:id/devices/add — devices, one productKey,deviceName per
// line (picked or pasted from a CSV), added all or nothing.
func (h *console) groupAddDevices(c *fiber.Ctx) error {
	return h.groupMembers(c, "add")
}

// POST /groups/:id/devices/remove — takes the listed devices out.
func (h *console) groupRemoveDevices(c *fiber.Ctx) error {
	return h.groupMembers(c, "remove")
}

func (h *console) groupMembers(c *fiber.Ctx, action string) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	lines := c.FormValue("devices")
	refs, err := deviceLines(lines)
	var n int64
	if err == nil && action == "add" {
		n, err = h.registry.AddGroupDevices(c.UserContext(), id, refs)
	} else if err == nil {
		n, err = h.registry.RemoveGroupDevices(c.UserContext(), id, refs)
	}
	if err != nil {
		me, ok := models.AsError(err)
		if !ok || me.Kind == models.KindNotFound && me.Field == "" {
			return err
		}
		d, derr := h.groupDetail(c)
		if derr != nil {
			return derr
		}
		d.Lines, d.AddError = lines, me.Error()
		c.Status(fiber.StatusUnprocessableEntity)
		return render(c, d.Group.Name, views.GroupShowPage(d))
	}
	auditChanges(c, models.Changed("devices", nil, n))
	if action == "add" {
		setFlash(c, "ok", fmt.Sprintf("Added %d devices to the group.", n))
	} else {
		setFlash(c, "ok", fmt.Sprintf("Removed %d devices from the group.", n))
	}
	return redirect(c, views.GroupURL(id))
}

// deviceLines reads productKey,deviceName lines; a header line
// productKey,deviceName and blank lines are skipped. Errors name the line.
func deviceLines(text string) ([]models.DeviceRef, error) {
	var refs []models.DeviceRef
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.EqualFold(strings.ReplaceAll(line, " ", ""), "productKey,deviceName") {
			continue
		}
		pk, dn, ok := strings.Cut(line, ",")
		if !ok || strings.Contains(dn, ",") {
			return nil, models.Invalid(fmt.Sprintf("line %d", i+1), "%q is not productKey,deviceName", line)
		}
		refs = append(refs, models.DeviceRef{ProductKey: strings.TrimSpace(pk), DeviceName: strings.TrimSpace(dn)})
	}
	if len(refs) == 0 {
		return nil, models.Invalid("devices", "name at least one device, as productKey,deviceName")
	}
	return refs, nil
}
