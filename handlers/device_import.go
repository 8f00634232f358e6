package handlers

import (
	"errors"
	"io"
	"mime/multipart"

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
// import stays on this page: it offers the new devices' secrets as a CSV
// download, held in this answer only, and lists the names too long for
// the Alibaba C SDK (hints, not problems).
func (h *console) deviceImport(c *fiber.Ctx) error {
	res, err := h.importCSV(c)
	var report *models.ImportError
	switch {
	case err == nil:
		showsSecret(c)
		return render(c, "Import devices", views.DeviceImportPage(views.DeviceImport{Done: &res}))
	case errors.As(err, &report):
		c.Status(fiber.StatusUnprocessableEntity)
		return render(c, "Import devices", views.DeviceImportPage(views.DeviceImport{Report: report}))
	}
	me, ok := models.AsError(err)
	if !ok || isOverCap(err) {
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
	res, err := h.importPart(c, parts)
	err = body.result(c, err)
	if !drained(body) {
		// the rest of the body is unread: do not parse it as a request
		c.Context().SetConnectionClose()
	}
	return res, err
}

// importPart reads the parts of the form until the file's and imports it.
func (h *console) importPart(c *fiber.Ctx, parts *multipart.Reader) (models.ImportResult, error) {
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
			return res, err
		}
		part.Close()
	}
}
