package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks/:id/subtasks/:sid — a sub-task's execution details with its
// message history from the device's message log.
func (h *console) subtaskShow(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sid, err := pathID(c, "sid")
	if err != nil {
		return err
	}
	s, err := h.tasks.GetSubtask(c.UserContext(), id, sid)
	if err != nil {
		return err
	}
	attempts, err := h.tasks.Attempts(c.UserContext(), id, sid)
	if err != nil {
		return err
	}
	msgs, _, err := h.registry.ListDeviceMessages(c.UserContext(), s.ProductKey, s.DeviceName,
		models.MessageFilter{SubtaskID: sid}, models.Page{Number: 1, Size: 100})
	if err != nil && !models.IsNotFound(err) { // the device may have been deleted since
		return err
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	return render(c, "Execution details", views.SubtaskShow(views.SubtaskDetail{Subtask: s, Attempts: attempts, Messages: msgs,
		TaskName: task.Name, Page: !isFragment(c)}))
}
