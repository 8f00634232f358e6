package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /products — creates a product; a bad or taken key comes back in
// the form with the user's values.
func (h *console) productCreate(c *fiber.Ctx) error {
	in := models.ProductInput{ProductKey: strings.TrimSpace(c.FormValue("productKey")), Name: c.FormValue("name"),
		Description: c.FormValue("description")}
	p, err := h.registry.CreateProduct(c.UserContext(), in)
	if err == nil {
		auditTarget(c, "product", p.ProductKey)
		setFlash(c, "ok", "Created the product "+p.ProductKey+".")
		return redirect(c, views.ProductURL(p.ProductKey))
	}
	me, ok := models.AsError(err)
	if !ok {
		return err
	}
	f := views.ProductForm{
		Values: map[string]string{"productKey": in.ProductKey, "name": in.Name, "description": in.Description},
		Errors: map[string]string{me.Field: me.Message},
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return render(c, "Create a product", views.ProductCreateForm(f))
}
