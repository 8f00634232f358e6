package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/views"
)

// GET /devices/:pk/:dn/tasks?page= — the device's Tasks tab: its
// sub-tasks across all tasks, newest first.
func (h *console) deviceTasks(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	d, err := h.device(c)
	if err != nil {
		return err
	}
	list, err := h.tasks.DeviceSubtasks(c.UserContext(), d.ProductKey, d.DeviceName, p)
	if err != nil {
		return err
	}
	t := views.DeviceTasks{Device: d, Subtasks: list.Items, Page: p.Number, Total: list.Total, Pages: pageCount(list.Total, p.Size)}
	return render(c, d.DeviceName+" · Tasks", views.DeviceFrame(d, "tasks", views.DeviceTasksTab(t)))
}
