package handlers

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /tasks/:id/pause
func (h *console) taskPause(c *fiber.Ctx) error {
	return h.rolloutAction(c, h.tasks.PauseTask, "Paused the task: nothing more is sent; devices at work go on.")
}

// POST /tasks/:id/resume
func (h *console) taskResume(c *fiber.Ctx) error {
	return h.rolloutAction(c, h.tasks.ResumeTask, "Resumed the task: its rollout goes on where it stopped.")
}

// POST /tasks/:id/waves/:n/approve
func (h *console) taskApproveWave(c *fiber.Ctx) error {
	n, err := waveParam(c)
	if err != nil {
		return err
	}
	approve := func(ctx context.Context, id models.ID) (*models.Task, error) { return h.tasks.ApproveWave(ctx, id, n) }
	return h.rolloutAction(c, approve, fmt.Sprintf("Approved wave %d: it opens once the wave before it is all sent.", n))
}

func (h *console) rolloutAction(c *fiber.Ctx, action func(context.Context, models.ID) (*models.Task, error), done string) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := action(c.UserContext(), id); err != nil {
		return actionFailed(c, err, views.TaskURL(id))
	}
	setFlash(c, "ok", done)
	return redirect(c, views.TaskURL(id))
}
