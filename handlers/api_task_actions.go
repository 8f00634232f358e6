package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// POST /api/v1/tasks/:id/cancel
func (h *apiTasks) cancel(c *fiber.Ctx) error {
	return h.act(c, h.tasks.CancelTask)
}

// POST /api/v1/tasks/:id/rerun
func (h *apiTasks) rerun(c *fiber.Ctx) error {
	return h.act(c, h.tasks.RerunTask)
}

// DELETE /api/v1/tasks/:id — accepted at once; devices are told and the
// data deleted by the workers.
func (h *apiTasks) delete(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := h.tasks.DeleteTask(c.UserContext(), id); err != nil {
		return err
	}
	auditTask(c, id, task.Name, "")
	return c.SendStatus(fiber.StatusNoContent)
}

// POST /api/v1/tasks/:id/pause
func (h *apiTasks) pause(c *fiber.Ctx) error {
	return h.act(c, h.tasks.PauseTask)
}

// POST /api/v1/tasks/:id/resume
func (h *apiTasks) resume(c *fiber.Ctx) error {
	return h.act(c, h.tasks.ResumeTask)
}

// POST /api/v1/tasks/:id/waves/:n/approve
func (h *apiTasks) approveWave(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	n, err := waveParam(c)
	if err != nil {
		return err
	}
	task, err := h.tasks.ApproveWave(c.UserContext(), id, n)
	if err != nil {
		return err
	}
	return c.JSON(task)
}

// act runs a task action of the path's id and answers the task.
func (h *apiTasks) act(c *fiber.Ctx, action func(context.Context, models.ID) (*models.Task, error)) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := action(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(task)
}

// waveParam is the :n of a wave's route: 1 or more.
func waveParam(c *fiber.Ctx) (int, error) {
	n, err := c.ParamsInt("n")
	if err != nil || n < 1 {
		return 0, models.Invalid("n", "the wave number must be 1 or more, not %q", c.Params("n"))
	}
	return n, nil
}
