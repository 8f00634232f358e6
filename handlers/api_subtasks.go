package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// GET /api/v1/tasks/:id/subtasks?status=FAILED,TIMED_OUT&q=lamp&after=123
func (h *apiTasks) subtasks(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	f := models.SubtaskFilter{Q: c.Query("q")}
	if f.Statuses, err = models.ParseStatuses("status", c.Query("status")); err != nil {
		return err
	}
	if s := c.Query("after"); s != "" {
		if f.After, err = models.ParseID("after", s); err != nil {
			return err
		}
	}
	list, err := h.tasks.ListSubtasks(c.UserContext(), id, f, p)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

// GET /api/v1/devices/:pk/:dn/subtasks
func (h *apiTasks) deviceSubtasks(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, err := h.tasks.DeviceSubtasks(c.UserContext(), c.Params("pk"), c.Params("dn"), p)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

// GET /api/v1/tasks/:id/subtasks/:sid — one sub-task with its earlier
// attempts (automatic retries, reruns), oldest first.
func (h *apiTasks) subtask(c *fiber.Ctx) error {
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
	return c.JSON(struct {
		*models.Subtask
		Attempts []models.Attempt `json:"attempts"`
	}{s, attempts})
}
