package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// usagePerFile is how many of the tasks using a file the list shows.
const usagePerFile = 5

// GET /files?kind=&page= — the file library: the upload form and one page
// of files with the tasks using each (one query for the whole page).
func (h *console) fileList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	kind := strings.ToLower(strings.TrimSpace(c.Query("kind")))
	list, err := h.files.List(c.UserContext(), kind, p)
	if err != nil {
		return err
	}
	ids := make([]models.ID, len(list.Items))
	for i, f := range list.Items {
		ids[i] = f.ID
	}
	usage, err := h.files.UsageOf(c.UserContext(), ids, usagePerFile)
	if err != nil {
		return err
	}
	d := views.FileList{Files: list.Items, Usage: usage, Kind: kind, Page: p.Number,
		Total: list.Total, Pages: pageCount(list.Total, p.Size)}
	return render(c, "Files", views.FileListPage(d))
}
