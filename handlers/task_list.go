package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks?status=&q=&page=
func (h *console) taskList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	d := views.TaskList{Status: c.Query("status"), Q: c.Query("q"), Page: p.Number}
	list, err := h.tasks.ListTasks(c.UserContext(), models.TaskFilter{Status: d.Status, Q: d.Q}, p)
	if err != nil {
		return err
	}
	ids := make([]models.ID, len(list.Items))
	for i, t := range list.Items {
		ids[i] = t.ID
	}
	if d.Stats, err = h.tasks.StatisticsOf(c.UserContext(), ids); err != nil {
		return err
	}
	d.Tasks, d.Total = list.Items, list.Total
	d.Pages = int((list.Total + int64(p.Size) - 1) / int64(p.Size))
	if d.Pages < 1 {
		d.Pages = 1
	}
	return render(c, "Tasks", views.TaskListPage(d))
}
