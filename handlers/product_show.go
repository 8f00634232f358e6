package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /products/:pk — a product with its device count and the (latest 50)
// tasks that targeted it.
func (h *console) productShow(c *fiber.Ctx) error {
	p, err := h.registry.GetProduct(c.UserContext(), c.Params("pk"))
	if err != nil {
		return err
	}
	list, err := h.tasks.ListTasks(c.UserContext(), models.TaskFilter{ProductKey: p.ProductKey, TargetType: models.TargetProduct}, models.Page{Number: 1, Size: 50})
	if err != nil {
		return err
	}
	ids := make([]models.ID, len(list.Items))
	for i, t := range list.Items {
		ids[i] = t.ID
	}
	d := views.ProductDetail{Product: p, Tasks: list.Items, Total: list.Total}
	if d.Stats, err = h.tasks.StatisticsOf(c.UserContext(), ids); err != nil {
		return err
	}
	return render(c, p.ProductKey, views.ProductShowPage(d))
}
