package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// page reads the page and pageSize query parameters (docs/api.md: page from 1,
// pageSize default 20, max 200).
func page(c *fiber.Ctx) (models.Page, error) {
	p := models.Page{Number: 1, Size: 20}
	if s := c.Query("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			return p, models.Invalid("page", "must be a whole number from 1 to %d", maxPage)
		}
		p.Number = n
	}
	if s := c.Query("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return p, models.Invalid("pageSize", "must be a whole number in 1..200")
		}
		p.Size = n
	}
	return p, nil
}

// maxPage bounds page numbers, so that no page's offset overflows (a huge
// page number once wrapped round to page 1).
const maxPage = 1_000_000

// pathID reads the id path parameter name.
func pathID(c *fiber.Ctx, name string) (models.ID, error) {
	id, err := models.ParseID(name, c.Params(name))
	if err != nil {
		return 0, models.NotFound("no %s %q", name, c.Params(name))
	}
	return id, nil
}
