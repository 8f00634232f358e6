package handlers

import (
	"context"
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// timelineCap is how many of its latest events the task page shows.
const timelineCap = 20

// taskTimeline is the task page's timeline: its latest events.
func (h *console) taskTimeline(ctx context.Context, id models.ID) (views.TaskEvents, error) {
	l, err := h.tasks.TaskEvents(ctx, id, models.Page{Number: 1, Size: timelineCap}, true)
	if err != nil {
		return views.TaskEvents{}, err
	}
	return views.TaskEvents{TaskID: id, Events: l.Items, Total: l.Total, Page: 1, Pages: 1, Capped: true}, nil
}

// GET /tasks/:id/timeline?page= — all of a task's events, newest first.
func (h *console) taskTimelinePage(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	p.Size = 100
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	l, err := h.tasks.TaskEvents(c.UserContext(), id, p, true)
	if err != nil {
		return err
	}
	d := views.TaskEvents{TaskID: id, Events: l.Items, Total: l.Total, Page: p.Number, Pages: pageCount(l.Total, p.Size)}
	return render(c, "Timeline of "+task.Name, views.TaskEventsPage(task, d))
}
