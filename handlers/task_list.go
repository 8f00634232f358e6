package handlers

import (
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
	q, p, err := taskListQuery(c)
	if err != nil {
		return err
	}
	list, err := h.tasks.ListTasks(c.UserContext(), models.TaskFilter{Status: q.Status, Q: q.Q, TargetType: q.TargetType, Sort: q.Sort}, p)
	if err != nil {
		return err
	}
	ids := make([]models.ID, len(list.Items))
	for i, t := range list.Items {
		ids[i] = t.ID
	}
	d := views.TaskList{Query: q, Once: newNonce()}
	if d.Stats, err = h.tasks.StatisticsOf(c.UserContext(), ids); err != nil {
		return err
	}
	d.Tasks, d.Total, d.Pages = list.Items, list.Total, pageCount(list.Total, p.Size)
	return render(c, "Tasks", views.TaskListPage(d))
}

// taskListQuery reads the task list's parameters. The page size is one of
// views.TaskPageSizes (the list offers no other); a sort or an order the
// list does not know is a 400 naming the parameter.
func taskListQuery(c *fiber.Ctx) (views.TaskListQuery, models.Page, error) {
	if s := c.Query("pageSize"); s != "" && !slices.Contains(views.TaskPageSizes, atoi(s)) {
		return views.TaskListQuery{}, models.Page{}, models.Invalid("pageSize", "a page shows 20, 50 or 100 tasks, not %q", s)
	}
	p, err := page(c)
	if err != nil {
		return views.TaskListQuery{}, p, err
	}
	sort, err := models.ParseTaskSort(c.Query("sort"), c.Query("order"))
	if err != nil {
		return views.TaskListQuery{}, p, err
	}
	q := views.TaskListQuery{Status: strings.ToUpper(c.Query("status")), Q: c.Query("q"), TargetType: strings.ToUpper(c.Query("targetType")),
		Sort: sort, Page: p.Number, PageSize: p.Size}
	return q, p, nil
}

// atoi is s as a number, or 0 when it is not one.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
