package handlers

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// subtaskPageSize is the rows of one sub-task page.
const subtaskPageSize = 50

// GET /tasks/:id/subtasks?status=&q=&after= — the sub-task table fragment,
// paged by keyset (after = the last id of the previous page). The fragment
// brings the page's live element for its filter out of band, so that the
// live updates follow the filter and page shown.
func (h *console) subtaskList(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := subtaskFilter(c)
	if err != nil {
		return err
	}
	d, err := h.taskDetail(c.UserContext(), id, f)
	if err != nil {
		return err
	}
	if err := render(c, "Sub-tasks", views.SubtaskTable(d.Subtasks)); err != nil || !isFragment(c) {
		return err
	}
	// no version: the new stream sends the whole page first, so that the
	// parts this fragment does not bring are as new as the table
	ctx := views.WithViewer(c.UserContext(), viewer(c))
	return views.LiveLink(h.taskLive(d, f, ""), true).Render(ctx, c.Response().BodyWriter())
}

// subtaskFilter reads status, q and after.
func subtaskFilter(c *fiber.Ctx) (models.SubtaskFilter, error) {
	f := models.SubtaskFilter{Q: strings.Clone(strings.TrimSpace(c.Query("q")))}
	var err error
	if f.Statuses, err = models.ParseStatuses("status", c.Query("status")); err != nil {
		return f, err
	}
	if s := c.Query("after"); s != "" {
		if f.After, err = models.ParseID("after", s); err != nil {
			return f, err
		}
	}
	return f, nil
}

// subtaskRows reads one page of the task's sub-tasks as f asks.
func (h *console) subtaskRows(ctx context.Context, task *models.Task, f models.SubtaskFilter) (views.SubtaskList, error) {
	id := task.ID
	// one more row than shown tells whether there is a next page
	list, err := h.tasks.ListSubtasks(ctx, id, f, models.Page{Number: 1, Size: subtaskPageSize + 1})
	if err != nil {
		return views.SubtaskList{}, err
	}
	d := views.SubtaskList{TaskID: id, Items: list.Items, Status: models.JoinStatuses(f.Statuses, ","), Q: f.Q, After: f.After, Total: list.Total,
		Waves: task.Policy != nil && len(task.Policy.Waves) > 1}
	if len(d.Items) > subtaskPageSize {
		d.Items = d.Items[:subtaskPageSize]
		d.Next = d.Items[subtaskPageSize-1].ID
	}
	return d, nil
}
