package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks/:id — the task page; ?status= and ?q= filter its sub-tasks.
func (h *console) taskShow(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := subtaskFilter(c)
	if err != nil {
		return err
	}
	// the version first: a change while the page is read makes the live
	// stream send the page again
	vs, err := h.tasks.TaskVersions(c.UserContext(), []models.ID{id})
	if err != nil {
		return err
	}
	d, err := h.taskDetail(c.UserContext(), id, f)
	if err != nil {
		return err
	}
	d.Live = h.taskLive(d, f, versionTag(vs))
	// the chart (a scan of the task's sub-tasks) loads after the page
	return render(c, d.Task.Name, views.TaskShowPage(d))
}

// taskDetail reads what a task's page shows, its sub-tasks as f filters
// them.
func (h *console) taskDetail(ctx context.Context, id models.ID, f models.SubtaskFilter) (views.TaskDetail, error) {
	task, err := h.tasks.GetTask(ctx, id)
	if err != nil {
		return views.TaskDetail{}, err
	}
	stats, err := h.tasks.Statistics(ctx, id)
	if err != nil {
		return views.TaskDetail{}, err
	}
	subs, err := h.subtaskRows(ctx, task, f)
	if err != nil {
		return views.TaskDetail{}, err
	}
	preview, err := h.documentPreview(ctx, task)
	if err != nil {
		return views.TaskDetail{}, err
	}
	events, err := h.taskTimeline(ctx, id)
	if err != nil {
		return views.TaskDetail{}, err
	}
	return views.TaskDetail{Task: task, Stats: stats, Subtasks: subs, Preview: preview, Events: events}, nil
}

// chartBuckets is how many points the chart of sub-tasks over time has.
const chartBuckets = 60

// GET /tasks/:id/chart — the chart of sub-tasks over time (refreshed by
// the page while the task runs).
func (h *console) taskChart(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	tl, err := h.tasks.Timeline(c.UserContext(), task, chartBuckets)
	if err != nil {
		return err
	}
	return render(c, task.Name, views.TaskChart(task, tl))
}

// documentPreview is the task's job document as the device of its first
// sub-task gets it; nil when the document has no variables.
func (h *console) documentPreview(ctx context.Context, task *models.Task) (*views.DocumentPreview, error) {
	if !models.DocumentHasVariables(task.JobDocument) {
		return nil, nil
	}
	first, err := h.tasks.ListSubtasks(ctx, task.ID, models.SubtaskFilter{}, models.Page{Number: 1, Size: 1})
	if err != nil || len(first.Items) == 0 {
		return nil, err
	}
	s := first.Items[0]
	return &views.DocumentPreview{Subtask: s, Document: models.DeviceDocument(task.JobDocument, s.ProductKey, s.DeviceName, s.ID)}, nil
}

// GET /tasks/:id/summary — the summary fragment, with the header out of
// band so that the actions follow.
func (h *console) taskSummary(c *fiber.Ctx) error {
	task, stats, err := h.taskAndStats(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if isFragment(c) {
		if err := render(c, task.Name, views.TaskSummary(task, stats)); err != nil {
			return err
		}
		ctx := views.WithViewer(c.UserContext(), viewer(c)) // the actions follow the viewer's role
		return views.TaskHeader(task, stats, true).Render(ctx, c.Response().BodyWriter())
	}
	return render(c, task.Name, views.TaskSummary(task, stats))
}

// taskAndStats loads the task of the :id path parameter and its statistics.
func (h *console) taskAndStats(c *fiber.Ctx) (*models.Task, *models.Statistics, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return nil, nil, err
	}
	stats, err := h.tasks.Statistics(c.UserContext(), id)
	return task, stats, err
}
