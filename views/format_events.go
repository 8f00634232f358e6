package views

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"fleettasks/models"
)

// eventLabel is how an event's type reads in the console.
func eventLabel(e models.EventType) string {
	switch e {
	case models.EventCreated:
		return "Created"
	case models.EventRunning:
		return "Running"
	case models.EventStarted:
		return "Started sending"
	case models.EventPaused:
		return "Paused"
	case models.EventResumed:
		return "Resumed"
	case models.EventPolicyChanged:
		return "Rollout changed"
	case models.EventWaveApproved:
		return "Wave approved"
	case models.EventTripped:
		return "Abort criterion tripped"
	case models.EventCancelled:
		return "Cancelled"
	case models.EventRerun:
		return "Rerun"
	case models.EventCompleted:
		return "Completed"
	case models.EventTimedOut:
		return "Timed out"
	case models.EventDeleted:
		return "Deleted"
	case models.EventTest:
		return "Test event"
	}
	return string(e)
}

// actorText is who did it: a person, the engine, or "—" for a person's
// action with no one named (a task created from the command line).
func actorText(e models.TaskEvent) string {
	switch {
	case e.Actor != "":
		return e.Actor
	case byEngine(e):
		return "fleettasks (engine)"
	}
	return "—"
}

// byEngine reports whether the engine, not a person, did what e records.
func byEngine(e models.TaskEvent) bool {
	switch e.Event {
	case models.EventRunning, models.EventStarted, models.EventTripped, models.EventCompleted, models.EventTimedOut:
		return true
	case models.EventPaused, models.EventCancelled:
		var d eventData
		_ = json.Unmarshal(e.Data, &d)
		return d.Reason == "abort criterion" || d.Reason == "end time"
	}
	return false
}

// eventData is what the events' data may hold.
type eventData struct {
	Reason   string           `json:"reason"`
	Text     string           `json:"text"`
	Target   string           `json:"target"`
	Status   string           `json:"status"`
	Changed  []string         `json:"changed"`
	Wave     int              `json:"wave"`
	Subtasks int64            `json:"subtasks"`
	Counts   map[string]int64 `json:"counts"`
}

// eventText is an event's details in plain words.
func eventText(e models.TaskEvent) string {
	var d eventData
	_ = json.Unmarshal(e.Data, &d)
	switch e.Event {
	case models.EventCreated:
		s := "for a " + strings.ReplaceAll(strings.ToLower(d.Target), "_", " ")
		if d.Status == string(models.TaskScheduled) {
			s += "; scheduled"
		}
		return s
	case models.EventRunning:
		return "its scheduled start time came"
	case models.EventStarted:
		return "the first sub-tasks were sent to their devices"
	case models.EventPaused, models.EventCancelled:
		switch d.Reason {
		case "abort criterion":
			return "by the rollout policy: " + d.Text
		case "end time":
			return "the rollout policy's end time passed"
		}
		return ""
	case models.EventTripped:
		return d.Text
	case models.EventPolicyChanged:
		return "changed: " + strings.Join(d.Changed, ", ")
	case models.EventWaveApproved:
		return fmt.Sprintf("wave %d opened", d.Wave)
	case models.EventRerun:
		return count(d.Subtasks, "failed or timed-out sub-task", "failed or timed-out sub-tasks") + " queued again"
	case models.EventCompleted, models.EventTimedOut:
		return countsText(d.Counts)
	}
	return ""
}

// countsText writes sub-task counts by status: "2 SUCCEEDED, 1 FAILED".
func countsText(c map[string]int64) string {
	if len(c) == 0 {
		return "no sub-tasks"
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return c[keys[i]] > c[keys[j]] || (c[keys[i]] == c[keys[j]] && keys[i] < keys[j]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", c[k], k)
	}
	return strings.Join(parts, ", ")
}

// deliveryBadge is the colours of a delivery status.
func deliveryBadge(s models.DeliveryStatus) string {
	switch s {
	case models.DeliverySucceeded:
		return "bg-green-100 text-green-900"
	case models.DeliveryFailed:
		return "bg-red-100 text-red-900"
	case models.DeliveryRetrying:
		return "bg-amber-100 text-amber-900"
	}
	return "bg-slate-200 text-slate-800"
}

// webhookEvents is a webhook's events in words.
func webhookEvents(es []models.EventType) string {
	if len(es) == 0 {
		return "all events"
	}
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

func httpStatus(p *int) string {
	if p == nil {
		return "—"
	}
	return itoa(*p)
}

// inFlight reports whether any of ds is still to be sent.
func inFlight(ds []models.WebhookDelivery) bool {
	for _, d := range ds {
		if d.Status == models.DeliveryPending || d.Status == models.DeliveryRetrying {
			return true
		}
	}
	return false
}

func hasEvent(es []models.EventType, e models.EventType) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}
