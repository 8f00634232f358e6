package handlers

import (
	"io"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// usageOnFilePage is how many of the tasks using a file its page shows.
const usageOnFilePage = 50

// GET /files/:id — a file's details, the tasks using it and, for a rule
// file, its JSON pretty-printed.
func (h *console) fileShow(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	file, content, err := h.files.Open(c.UserContext(), id)
	if err != nil {
		return err
	}
	defer content.Close()
	d := views.FileDetail{File: file}
	if file.Kind == models.FileRule {
		raw, err := io.ReadAll(io.LimitReader(content, models.MaxRuleSize+1))
		if err != nil {
			return err
		}
		d.JSON = views.PrettyJSON(raw)
	}
	usage, err := h.files.UsageOf(c.UserContext(), []models.ID{id}, usageOnFilePage)
	if err != nil {
		return err
	}
	d.Usage = usage[id]
	return render(c, file.Name, views.FileShowPage(d))
}
