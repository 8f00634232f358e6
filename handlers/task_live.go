package handlers

import (
	"context"
	"io"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// taskLive is how a task's page follows the task, for the filter f;
// version is the one the page shows ("" when unknown).
func (h *console) taskLive(d views.TaskDetail, f models.SubtaskFilter, version string) views.Live {
	id, status := d.Task.ID, models.JoinStatuses(f.Statuses, ",")
	return views.Live{ID: "task-live",
		Stream:  views.TaskEventsURL(id, status, f.Q, f.After, version),
		Poll:    views.TaskLiveURL(id, status, f.Q, f.After),
		Polling: h.live.full(),
		Settled: d.Task.Settled(d.Stats)}
}

// GET /tasks/:id/live?status=&q=&after= — the task page's live update, for
// a page that polls: its moving parts out of band, and its live element
// (which stops polling once the task has settled).
func (h *console) taskLiveUpdate(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := subtaskFilter(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Type("html", "utf-8")
	ctx := views.WithViewer(c.UserContext(), viewer(c))
	_, err = h.renderTaskUpdate(ctx, c.Response().BodyWriter(), id, f, true)
	return err
}

// renderTaskUpdate writes the task page's live update for f; withLive
// adds the live element (for polls). It reports whether the page has
// settled; a task deleted meanwhile settles it with a notice.
func (h *console) renderTaskUpdate(ctx context.Context, w io.Writer, id models.ID, f models.SubtaskFilter, withLive bool) (bool, error) {
	d, err := h.taskDetail(ctx, id, f)
	if models.IsNotFound(err) {
		return true, views.TaskGoneUpdate(id, views.Live{ID: "task-live", Settled: true}).Render(ctx, w)
	}
	if err != nil {
		return false, err
	}
	var live *views.Live
	settled := d.Task.Settled(d.Stats)
	if withLive || settled {
		l := h.taskLive(d, f, "")
		l.Polling = withLive // a poll stays a poll
		live = &l
	}
	return settled, views.TaskLiveUpdate(d, live).Render(ctx, w)
}

// GET /tasks/:id/events?status=&q=&after=&v= — the task page's live stream:
// an "update" event (the same as taskLiveUpdate's) whenever the task or
// its sub-tasks change, and once the task has settled a last update and
// "done". Over the cap it sends one update that turns the page to polling.
func (h *console) taskEvents(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := subtaskFilter(c)
	if err != nil {
		return err
	}
	vs, err := h.tasks.TaskVersions(c.UserContext(), []models.ID{id})
	if err != nil {
		return err
	}
	if vs[id].Gone {
		return models.NotFound("task %s not found", id)
	}
	send := func(ctx context.Context, w io.Writer) ([]models.ID, bool, error) {
		settled, err := h.renderTaskUpdate(ctx, w, id, f, false)
		return []models.ID{id}, settled, err
	}
	status := models.JoinStatuses(f.Statuses, ",")
	poll := views.Live{ID: "task-live", Poll: views.TaskLiveURL(id, status, f.Q, f.After), Polling: true}
	// a page that shows this version has it all; any other is sent first,
	// and so is a settled task's (its last update ends the stream)
	first := c.Query("v") != versionTag(vs)
	if !first {
		d, err := h.taskDetail(c.UserContext(), id, f)
		if err != nil {
			return err
		}
		first = d.Task.Settled(d.Stats)
	}
	return h.live.stream(c, vs, first, send, poll)
}
