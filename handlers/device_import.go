package handlers

import (
	"errors"
	"fmt"
	"io"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /devices/import — the CSV import form.
func (h *console) deviceImportForm(c *fiber.Ctx) error {
	return render(c, "Import devices", views.DeviceImportPage(views.DeviceImport{}))
}

// POST /devices/import — a CSV file of productKey,deviceName, streamed to
// the registry; all or nothing, refused with a per-line report. A done
// import whose names are too long for the Alibaba C SDK stays on this
// page to list them (hints, not problems).
func (h *console) deviceImport(c *fiber.Ctx) error {
	res, err := h.importCSV(c)
	var report *models.ImportError
	switch {
	case err == nil && len(res.Hints) > 0:
		return render(c, "Import devices", views.DeviceImportPage(views.DeviceImport{Done: &res}))
	case err == nil:
		setFlash(c, "ok", fmt.Sprintf("Imported %d devices.", res.Created))
		return redirect(c, views.DevicesURL("", "", 0))
	case errors.As(err, &report):
		c.Status(fiber.StatusUnprocessableEntity)
		return render(c, "Import devices", views.DeviceImportPage(views.DeviceImport{Report: report}))
	}
	me, ok := models.AsError(err)
	if !ok {
		return err
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return render(c, "Import devices", views.DeviceImportPage(views.DeviceImport{Error: me.Message}))
}

// importCSV finds the file part of the form and imports it.
func (h *console) importCSV(c *fiber.Ctx) (models.ImportResult, error) {
	body, parts, err := multipartReader(c)
	if err != nil {
		return models.ImportResult{}, err
	}
	for {
		part, err := parts.NextPart()
		if errors.Is(err, io.EOF) {
			return models.ImportResult{}, models.Invalid("file", "choose a CSV file to import")
		}
		if err != nil {
			return models.ImportResult{}, models.Invalid("file", "the upload is malformed: %v", err)
		}
		if part.FormName() == "file" && part.FileName() != "" {
			res, err := h.registry.ImportDevices(c.UserContext(), part)
			part.Close()
			if err == nil {
				auditChanges(c, models.Changed("devices", nil, res.Created))
			}
			if !drained(body) {
				c.Context().SetConnectionClose()
			}
			return res, err
		}
		part.Close()
	}
}
