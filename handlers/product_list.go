package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// GET /products?page= — the product list and the create form.
func (h *console) productList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	ps, total, err := h.registry.ListProducts(c.UserContext(), p)
	if err != nil {
		return err
	}
	d := views.ProductList{Products: ps, Total: total, Page: p.Number, Pages: pageCount(total, p.Size)}
	return render(c, "Products", views.ProductListPage(d))
}
