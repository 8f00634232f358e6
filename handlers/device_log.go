package handlers

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// logPageSize is how many entries a page of the Device log shows.
const logPageSize = 50

// GET /devices/:pk/:dn/log?direction=&from=&to=&subtask=&before= — the
// device's message log, newest first, in keyset pages. A filter that
// cannot be read is shown in place of the log (422).
func (h *console) deviceLog(c *fiber.Ctx) error {
	d, err := h.device(c)
	if err != nil {
		return err
	}
	l := views.DeviceLog{Device: d, Filter: views.LogFilter{Direction: c.Query("direction"), From: c.Query("from"),
		To: c.Query("to"), Subtask: c.Query("subtask")}, Before: c.Query("before")}
	subs, err := h.tasks.DeviceSubtasks(c.UserContext(), d.ProductKey, d.DeviceName, models.Page{Number: 1, Size: 100})
	if err != nil {
		return err
	}
	l.Subtasks = subs.Items
	f, cursor, err := logFilter(l.Filter, l.Before)
	if err == nil {
		var next *models.MessageCursor
		l.Messages, next, err = h.registry.DeviceMessagePage(c.UserContext(), d.ID, f, cursor, logPageSize)
		if next != nil {
			l.Next = next.String()
		}
	}
	if err != nil {
		me, ok := models.AsError(err)
		if !ok {
			return err
		}
		l.Error = logFilterError(me)
		c.Status(fiber.StatusUnprocessableEntity)
	}
	if isFragment(c) {
		return render(c, "Device log", views.DeviceLogResults(l))
	}
	return render(c, d.DeviceName+" · Device log", views.DeviceFrame(d, "log", views.DeviceLogTab(l)))
}

// logFilter reads the form's filter and cursor.
func logFilter(in views.LogFilter, before string) (models.MessageFilter, *models.MessageCursor, error) {
	f := models.MessageFilter{Direction: in.Direction}
	var err error
	if f.From, err = formTime("from", in.From); err != nil {
		return f, nil, err
	}
	if f.To, err = formTime("to", in.To); err != nil {
		return f, nil, err
	}
	if in.Subtask != "" {
		if f.SubtaskID, err = models.ParseID("subtask", in.Subtask); err != nil {
			return f, nil, err
		}
	}
	if err := f.Validate(); err != nil {
		return f, nil, err
	}
	cursor, err := models.ParseMessageCursor("before", before)
	return f, cursor, err
}

// formTime reads a datetime-local value as UTC; "" is no time.
func formTime(field, s string) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, models.Invalid(field, "%q is not a date and time; use YYYY-MM-DDThh:mm (UTC)", s)
}

// logFilterLabels are the device log filter's fields as its form names
// them.
var logFilterLabels = map[string]string{"from": "From", "to": "To", "direction": "Workload type", "subtask": "Sub-task"}

// logFilterError says a refused filter in the form's words: "To is before
// From", not the API's "to: is before from".
func logFilterError(me *models.Error) string {
	if me.Field == "to" && me.Message == "is before from" {
		return "To is before From: the time range must end after it starts."
	}
	if label, ok := logFilterLabels[me.Field]; ok {
		return label + ": " + me.Message
	}
	return me.Error()
}
