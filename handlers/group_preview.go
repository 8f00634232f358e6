package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /groups/preview (query) — the live preview of a dynamic group's
// query as it is typed: the devices it matches, or where it fails to parse.
// A read, sent as a POST: a long query does not fit in a URL.
func (h *console) groupPreview(c *fiber.Ctx) error {
	p := views.GroupPreview{Query: strings.TrimSpace(c.FormValue("query"))}
	if p.Query != "" {
		var err error
		p.Devices, p.Total, err = h.registry.PreviewGroupQuery(c.UserContext(), p.Query, 20)
		var qe *models.QueryError
		if errors.As(err, &qe) {
			p.Error, p.Pos = qe.Error(), qe.Pos
		} else if err != nil {
			return err
		}
	}
	return render(c, "Preview", views.GroupPreviewResult(p))
}
