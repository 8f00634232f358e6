package handlers

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks?status=&q=&page=
func (h *console) taskList(c *fiber.Ctx) error {
	q, err := taskListQuery(c)
	if err != nil {
		return err
	}
	d, err := h.taskListPage(c.UserContext(), q)
	if err != nil {
		return err
	}
	d.Live = h.tasksLive(d)
	return render(c, "Tasks", views.TaskListPage(d))
}

// taskListQ is what the task list shows: its filters and page.
type taskListQ struct {
	Status, Q string
	Page      models.Page
}

// taskListQuery reads status, q and page (copied: the live stream keeps
// them after the request).
func taskListQuery(c *fiber.Ctx) (taskListQ, error) {
	p, err := page(c)
	if err != nil {
		return taskListQ{}, err
	}
	return taskListQ{Status: strings.Clone(c.Query("status")), Q: strings.Clone(c.Query("q")), Page: p}, nil
}

// taskListPage reads one page of the task list.
func (h *console) taskListPage(ctx context.Context, q taskListQ) (views.TaskList, error) {
	p := q.Page
	d := views.TaskList{Status: q.Status, Q: q.Q, Page: p.Number}
	list, err := h.tasks.ListTasks(ctx, models.TaskFilter{Status: d.Status, Q: d.Q}, p)
	if err != nil {
		return d, err
	}
	ids := make([]models.ID, len(list.Items))
	for i, t := range list.Items {
		ids[i] = t.ID
	}
	if d.Stats, err = h.tasks.StatisticsOf(ctx, ids); err != nil {
		return d, err
	}
	d.Tasks, d.Total = list.Items, list.Total
	d.Pages = int((list.Total + int64(p.Size) - 1) / int64(p.Size))
	if d.Pages < 1 {
		d.Pages = 1
	}
	return d, nil
}
