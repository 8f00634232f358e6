package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// pickSize is how many firmware files the create form's picker lists.
const pickSize = 50

// GET /console/firmware?q=&jobFileId= — the create form's picker of
// uploaded firmware, searched by name or digest; the file chosen stays a
// choice.
func (h *console) firmwareSearch(c *fiber.Ctx) error {
	return h.firmwarePick(c, views.FirmwarePick{Q: c.Query("q"), Chosen: c.Query("jobFileId")})
}

// firmwarePick renders the picker p with its files: those matching p.Q,
// and the chosen one.
func (h *console) firmwarePick(c *fiber.Ctx, p views.FirmwarePick) error {
	files, err := h.files.Search(c.UserContext(), models.FileFirmware, p.Q, pickSize)
	if err != nil {
		return err
	}
	if p.Files, err = h.withFile(c, files, p.Chosen, models.FileFirmware); err != nil {
		return err
	}
	return render(c, "Firmware", views.FirmwarePicker(p))
}
