package handlers

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// maxBulkCancel bounds the tasks of one bulk cancel: a page of the list
// at its largest size, with room.
const maxBulkCancel = 200

// POST /tasks/cancel — the tasks ticked in the list (id=…&id=…), from
// the confirmation dialog. Each goes through the same CancelTask as the
// single cancel, whose conditional write cancels nothing twice; the form's
// one-time key (routes.go) makes a double submit run once, the second
// getting the first's answer. Each cancelled task has its own task.cancel
// entry in the audit log. The list (next) comes back with how many were
// cancelled and how many were not.
func (h *console) tasksCancel(c *fiber.Ctx) error {
	back := localPath(c.FormValue("next"), views.TasksURL("", "", 0))
	ids, err := formIDs(c, "id")
	if err != nil {
		return err
	}
	var cancelled []models.ID
	var finished, gone int
	for _, id := range ids {
		_, err := h.tasks.CancelTask(c.UserContext(), id)
		me, _ := models.AsError(err)
		switch {
		case err == nil:
			cancelled = append(cancelled, id)
		case me != nil && me.Kind == models.KindConflict:
			finished++
		case me != nil && me.Kind == models.KindNotFound:
			gone++
		default:
			return err
		}
	}
	if len(cancelled) == 0 {
		notDone(c)
	}
	auditEach(c, "task", cancelled)
	kind := "ok"
	if len(cancelled) == 0 {
		kind = "error"
	}
	setFlash(c, kind, bulkCancelResult(len(cancelled), finished, gone))
	return redirect(c, back)
}

// bulkCancelResult says what a bulk cancel did: "3 cancelled, 1 already
// finished."
func bulkCancelResult(cancelled, finished, gone int) string {
	parts := []string{strconv.Itoa(cancelled) + " cancelled"}
	if finished > 0 {
		parts = append(parts, strconv.Itoa(finished)+" already finished")
	}
	if gone > 0 {
		parts = append(parts, strconv.Itoa(gone)+" no longer there (deleted)")
	}
	return strings.Join(parts, ", ") + "."
}

// formIDs reads the ids of a form's repeated field name: at least one, at
// most maxBulkCancel, each once.
func formIDs(c *fiber.Ctx, name string) ([]models.ID, error) {
	var ids []models.ID
	for _, raw := range c.Request().PostArgs().PeekMulti(name) {
		id, err := models.ParseID(name, string(raw))
		if err != nil {
			return nil, models.Invalid(name, "%q is not a task id", raw)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		return nil, models.Invalid(name, "choose at least one task")
	case len(ids) > maxBulkCancel:
		return nil, models.Invalid(name, "%d tasks at once is too many; choose at most %d", len(ids), maxBulkCancel)
	}
	return ids, nil
}
