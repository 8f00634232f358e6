package handlers

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks?status=&q=&targetType=&sort=&order=&pageSize=&page= — every
// parameter is kept in the list's links (pager, column headers) and pushed
// to the address bar by the filter form.
func (h *console) taskList(c *fiber.Ctx) error {
	q, err := taskListQuery(c)
	if err != nil {
		return err
	}
	d, err := h.taskListPage(c.UserContext(), q)
	if err != nil {
		return err
	}
	d.Once = newNonce()
	d.Live = h.tasksLive(d)
	return render(c, "Tasks", views.TaskListPage(d))
}

// taskListQ is what the task list shows: its filters, sort and page.
type taskListQ struct {
	views.TaskListQuery
	Page models.Page
}

// taskListQuery reads the task list's parameters, copied (the live stream
// keeps them after the request). The page size is one of
// views.TaskPageSizes (the list offers no other); a sort or an order the
// list does not know is a 400 naming the parameter.
func taskListQuery(c *fiber.Ctx) (taskListQ, error) {
	if s := c.Query("pageSize"); s != "" && !slices.Contains(views.TaskPageSizes, atoi(s)) {
		return taskListQ{}, models.Invalid("pageSize", "a page shows 20, 50 or 100 tasks, not %q", s)
	}
	p, err := page(c)
	if err != nil {
		return taskListQ{}, err
	}
	sort, err := models.ParseTaskSort(c.Query("sort"), c.Query("order"))
	if err != nil {
		return taskListQ{}, err
	}
	q := views.TaskListQuery{Status: strings.ToUpper(strings.Clone(c.Query("status"))), Q: strings.Clone(c.Query("q")),
		TargetType: strings.ToUpper(strings.Clone(c.Query("targetType"))), Sort: sort, Page: p.Number, PageSize: p.Size}
	return taskListQ{TaskListQuery: q, Page: p}, nil
}

// taskListPage reads one page of the task list.
func (h *console) taskListPage(ctx context.Context, q taskListQ) (views.TaskList, error) {
	d := views.TaskList{Query: q.TaskListQuery}
	list, err := h.tasks.ListTasks(ctx, models.TaskFilter{Status: q.Status, Q: q.Q, TargetType: q.TargetType, Sort: q.Sort}, q.Page)
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
	d.Tasks, d.Total, d.Pages = list.Items, list.Total, pageCount(list.Total, q.Page.Size)
	return d, nil
}

// atoi is s as a number, or 0 when it is not one.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
