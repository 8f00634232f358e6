package models

import (
	"time"
	_ "time/tzdata" // time zones of maintenance windows, whatever the host has

	"github.com/robfig/cron/v3"
)

// MaxWindowMinutes bounds a maintenance window's duration: a week.
const MaxWindowMinutes = 7 * 24 * 60

// schedule is the window's parsed cron in its time zone.
func (w *MaintenanceWindow) schedule() (cron.Schedule, *time.Location, error) {
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		return nil, nil, err
	}
	s, err := cron.ParseStandard(w.Cron)
	return s, loc, err
}

func (w *MaintenanceWindow) validate(f string, now time.Time) error {
	if w.TimeZone == "" {
		w.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil {
		return Invalid(f+".timeZone", "%q is not an IANA time zone (such as Europe/Berlin or UTC)", w.TimeZone)
	}
	s, loc, err := w.schedule()
	if err != nil {
		return Invalid(f+".cron", "is not a cron expression of five fields (minute hour day-of-month month day-of-week): %v", err)
	}
	if s.Next(now.In(loc)).IsZero() {
		return Invalid(f+".cron", "%q never fires", w.Cron)
	}
	if w.DurationMinutes < 1 || w.DurationMinutes > MaxWindowMinutes {
		return Invalid(f+".durationMinutes", "must be 1 to %d", MaxWindowMinutes)
	}
	return nil
}

// at reports whether t is inside the window and until when, or else when
// it next opens (zero if never).
func (w *MaintenanceWindow) at(t time.Time) (open bool, until, next time.Time) {
	s, loc, err := w.schedule()
	if err != nil {
		return false, time.Time{}, time.Time{}
	}
	t = t.In(loc)
	d := time.Duration(w.DurationMinutes) * time.Minute
	// a fire in (t-d, t] opens the window (until at least its end)
	if f := s.Next(t.Add(-d)); !f.IsZero() && !f.After(t) {
		return true, f.Add(d), time.Time{}
	}
	return false, time.Time{}, s.Next(t)
}

// WindowAt reports whether any of the policy's maintenance windows is
// open at t (always, when it has none) and, when none is, when the next
// opens.
func (p *Policy) WindowAt(t time.Time) (open bool, next time.Time) {
	if p == nil || len(p.MaintenanceWindows) == 0 {
		return true, time.Time{}
	}
	for i := range p.MaintenanceWindows {
		o, _, n := p.MaintenanceWindows[i].at(t)
		if o {
			return true, time.Time{}
		}
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return false, next
}
