package handlers

import (
	"context"
	"io"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// movingTasks are the tasks of a list page whose rows can still change.
func movingTasks(d views.TaskList) []models.ID {
	var ids []models.ID
	for i := range d.Tasks {
		if t := &d.Tasks[i]; !t.Settled(d.Stats[t.ID]) {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// tasksLive is how the task list page follows its moving rows.
func (h *console) tasksLive(d views.TaskList) views.Live {
	return views.Live{ID: "tasks-live",
		Stream:  views.TasksEventsURL(d.Query),
		Poll:    views.TasksLiveURL(d.Query),
		Polling: h.live.full(),
		Settled: len(movingTasks(d)) == 0}
}

// renderTasksUpdate writes the list's live update (the rows and pager out
// of band); withLive adds the live element (for polls). It returns the
// moving tasks shown and whether there are none left.
func (h *console) renderTasksUpdate(ctx context.Context, w io.Writer, q taskListQ, withLive bool) ([]models.ID, bool, error) {
	d, err := h.taskListPage(ctx, q)
	if err != nil {
		return nil, false, err
	}
	ids := movingTasks(d)
	var live *views.Live
	if withLive || len(ids) == 0 {
		l := h.tasksLive(d)
		l.Polling = withLive
		live = &l
	}
	return ids, len(ids) == 0, views.TaskListLiveUpdate(d, live).Render(ctx, w)
}

// GET /tasks/live?status=&q=&page= — the task list's live update, for a
// page that polls.
func (h *console) tasksLiveUpdate(c *fiber.Ctx) error {
	q, err := taskListQuery(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Type("html", "utf-8")
	ctx := views.WithViewer(c.UserContext(), viewer(c))
	_, _, err = h.renderTasksUpdate(ctx, c.Response().BodyWriter(), q, true)
	return err
}

// GET /tasks/events?status=&q=&page= — the task list's live stream: the
// rows and pager of the page's filter whenever one of its moving tasks
// changes, until none is left on the page.
func (h *console) tasksEvents(c *fiber.Ctx) error {
	q, err := taskListQuery(c)
	if err != nil {
		return err
	}
	d, err := h.taskListPage(c.UserContext(), q)
	if err != nil {
		return err
	}
	vs, err := h.tasks.TaskVersions(c.UserContext(), movingTasks(d))
	if err != nil {
		return err
	}
	send := func(ctx context.Context, w io.Writer) ([]models.ID, bool, error) {
		return h.renderTasksUpdate(ctx, w, q, false)
	}
	poll := views.Live{ID: "tasks-live", Poll: views.TasksLiveURL(q.TaskListQuery), Polling: true}
	// the page was read before this stream began: it is sent again first
	return h.live.stream(c, vs, true, send, poll)
}
