package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// subtaskPageSize is the rows of one sub-task page.
const subtaskPageSize = 50

// GET /tasks/:id/subtasks?status=&q=&after= — the sub-task table fragment,
// paged by keyset (after = the last id of the previous page).
func (h *console) subtaskList(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	d, err := h.subtaskPage(c, task)
	if err != nil {
		return err
	}
	return render(c, "Sub-tasks", views.SubtaskTable(d))
}

// subtaskFilter reads status, q and after.
func subtaskFilter(c *fiber.Ctx) (models.SubtaskFilter, error) {
	f := models.SubtaskFilter{Q: strings.TrimSpace(c.Query("q"))}
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

// subtaskPage reads one page of the task's sub-tasks as the request asks.
func (h *console) subtaskPage(c *fiber.Ctx, task *models.Task) (views.SubtaskList, error) {
	id := task.ID
	f, err := subtaskFilter(c)
	if err != nil {
		return views.SubtaskList{}, err
	}
	// one more row than shown tells whether there is a next page
	list, err := h.tasks.ListSubtasks(c.UserContext(), id, f, models.Page{Number: 1, Size: subtaskPageSize + 1})
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
