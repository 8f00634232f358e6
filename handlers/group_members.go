package handlers

import (
	"fmt"
	"regexp"
	"strconv"
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
	refs, lineNos, err := deviceLines(lines)
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
		d.Lines, d.AddError = lines, onLines(me, "devices", lineNos)
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

// deviceLines reads productKey,deviceName lines, and the line number of
// each device; a header line productKey,deviceName and blank lines are
// skipped. Errors name the line.
func deviceLines(text string) ([]models.DeviceRef, []int, error) {
	var refs []models.DeviceRef
	var lineNos []int
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.EqualFold(strings.ReplaceAll(line, " ", ""), "productKey,deviceName") {
			continue
		}
		pk, dn, ok := strings.Cut(line, ",")
		if !ok || strings.Contains(dn, ",") {
			return nil, nil, models.Invalid(fmt.Sprintf("line %d", i+1), "%q is not productKey,deviceName", line)
		}
		refs = append(refs, models.DeviceRef{ProductKey: strings.TrimSpace(pk), DeviceName: strings.TrimSpace(dn)})
		lineNos = append(lineNos, i+1)
	}
	if len(refs) == 0 {
		return nil, nil, models.Invalid("devices", "name at least one device, as productKey,deviceName")
	}
	return refs, lineNos, nil
}

// listIndex finds the references to entries of a device list in an API
// error ("devices[3]", "target.devices[0]").
var listIndex = regexp.MustCompile(`(?:target\.)?devices\[(\d+)\]`)

// onLines says a device-list error in the form's words: the entries it
// names (field prefix, e.g. "devices[3]", in the field or the message)
// become the lines they were typed on, "line 4".
func onLines(me *models.Error, prefix string, lineNos []int) string {
	line := func(s string) string {
		return listIndex.ReplaceAllStringFunc(s, func(m string) string {
			i, err := strconv.Atoi(listIndex.FindStringSubmatch(m)[1])
			if err != nil || i >= len(lineNos) {
				return m
			}
			return fmt.Sprintf("line %d", lineNos[i])
		})
	}
	msg := line(me.Message)
	if me.Field != "" && me.Field != prefix {
		return line(me.Field) + ": " + msg
	}
	return msg
}
