package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// overviewTasks is what the overview reads of models.Tasks.
type overviewTasks interface {
	ActiveTasks(ctx context.Context, limit int) (models.ActiveTasks, error)
	AnyTasks(ctx context.Context) (bool, error)
	Outcomes(ctx context.Context, since time.Time) (models.Outcomes, error)
	RecentFailures(ctx context.Context, limit int, after *models.FailureCursor) ([]models.Subtask, bool, error)
	Activity(ctx context.Context, minutes int) ([]models.ActivityMinute, error)
}

// overviewRegistry is what the overview reads of models.Registry.
type overviewRegistry interface {
	Online(ctx context.Context) (int64, bool, error)
	OfflineAfter() time.Duration
	ConnectionState() bool
}

// overview serves the fleet overview, the console's home page.
type overview struct {
	tasks    overviewTasks
	registry overviewRegistry
	now      func() time.Time
}

func newOverview(tasks overviewTasks, registry overviewRegistry) *overview {
	return &overview{tasks: tasks, registry: registry, now: time.Now}
}

// How much the overview shows.
const (
	overviewTasksShown    = 10
	overviewFailuresShown = 10
	overviewMinutes       = 60
	failuresPageSize      = 50
)

// GET / — the fleet at a glance.
func (h *overview) show(c *fiber.Ctx) error {
	ctx := c.UserContext()
	now := h.now()
	d := views.Overview{OnlineRule: views.OnlineRule{Embedded: h.registry.ConnectionState(), OfflineAfter: h.registry.OfflineAfter()}}
	var err error
	if d.Active, err = h.tasks.ActiveTasks(ctx, overviewTasksShown); err != nil {
		return err
	}
	if d.AnyTask, err = h.tasks.AnyTasks(ctx); err != nil {
		return err
	}
	if d.Day, err = h.tasks.Outcomes(ctx, now.Add(-24*time.Hour)); err != nil {
		return err
	}
	if d.Week, err = h.tasks.Outcomes(ctx, now.Add(-7*24*time.Hour)); err != nil {
		return err
	}
	if d.Failures, d.MoreFailures, err = h.tasks.RecentFailures(ctx, overviewFailuresShown, nil); err != nil {
		return err
	}
	if d.Online, d.AnyDevice, err = h.registry.Online(ctx); err != nil {
		return err
	}
	if d.Activity, err = h.tasks.Activity(ctx, overviewMinutes); err != nil {
		return err
	}
	return render(c, "Overview", views.OverviewPage(d))
}

// GET /failures?after= — the recent failures, newest first, a page at a time.
func (h *overview) failures(c *fiber.Ctx) error {
	after, err := models.ParseFailureCursor("after", c.Query("after"))
	if err != nil {
		return err
	}
	d := views.FailureList{First: after == nil}
	if d.Items, d.More, err = h.tasks.RecentFailures(c.UserContext(), failuresPageSize, after); err != nil {
		return err
	}
	return render(c, "Recent failures", views.FailureListPage(d))
}
