package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventType names what happened to a task (docs/webhooks.md, "Events").
type EventType string

// The task events, in the order a task usually meets them.
const (
	EventCreated       EventType = "task.created"        // created (by a person)
	EventRunning       EventType = "task.running"        // a scheduled task's start time came
	EventStarted       EventType = "task.started"        // its first sub-tasks were sent (again after a rerun)
	EventPaused        EventType = "task.paused"         // by a person, or by an abort criterion
	EventResumed       EventType = "task.resumed"        // by a person
	EventPolicyChanged EventType = "task.policy_changed" // its rollout policy, rate or timeout was edited
	EventWaveApproved  EventType = "task.wave_approved"  // a person opened the next wave
	EventTripped       EventType = "task.tripped"        // an abort criterion tripped (then paused or cancelled)
	EventCancelled     EventType = "task.cancelled"      // by a person, an abort criterion or the policy's end time
	EventRerun         EventType = "task.rerun"          // its failed and timed-out sub-tasks were queued again
	EventCompleted     EventType = "task.completed"      // all its sub-tasks finished
	EventTimedOut      EventType = "task.timed_out"      // it did not finish within 7 days
	EventDeleted       EventType = "task.deleted"        // by a person
)

// EventTypes lists the task events a webhook may subscribe to.
var EventTypes = []EventType{EventCreated, EventRunning, EventStarted, EventPaused, EventResumed, EventPolicyChanged,
	EventWaveApproved, EventTripped, EventCancelled, EventRerun, EventCompleted, EventTimedOut, EventDeleted}

// EventTest is the event of a webhook's "Send test event": no task.
const EventTest EventType = "webhook.test"

// TaskEvent is one thing that happened to a task.
type TaskEvent struct {
	ID     ID        `json:"id"`
	TaskID ID        `json:"taskId"`
	Event  EventType `json:"event"`
	At     time.Time `json:"at"`
	// Actor is the person who did it (an email; "(API token)" after it
	// when through the API); empty when the engine did.
	Actor string `json:"actor"`
	// Task is the task as the change left it (EventTask).
	Task RawJSON `json:"task"`
	// Data is what the event says beyond the task: the counts of a
	// completion, the criterion that tripped, the wave approved ...
	Data RawJSON `json:"data"`
}

// EventTask is the task as an event's snapshot shows it.
type EventTask struct {
	ID          ID               `json:"id"`
	Name        string           `json:"name"`
	Status      TaskStatus       `json:"status"`
	Paused      bool             `json:"paused"`
	DeviceCount int64            `json:"deviceCount"`
	Counts      map[string]int64 `json:"counts"`
}

// actorKey carries the person a request acts for in its context.
type actorKey struct{}

// WithActor says that ctx acts for who (an email): the events recorded
// under it name them.
func WithActor(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, actorKey{}, who)
}

// actorOf is the person ctx acts for, "" for the engine.
func actorOf(ctx context.Context) string {
	s, _ := ctx.Value(actorKey{}).(string)
	return s
}

// eventTaskSQL is the snapshot of task t as EventTask, with its sub-tasks
// counted by status from the maintained counters.
const eventTaskSQL = `jsonb_build_object('id', t.id::text, 'name', t.name, 'status', t.status,
	'paused', t.paused_at IS NOT NULL, 'deviceCount', t.device_count, 'counts', (SELECT coalesce(jsonb_object_agg(s.status, s.n), '{}')
	FROM (SELECT status, sum(n) AS n FROM task_counters WHERE task_id = t.id GROUP BY status HAVING sum(n) <> 0) s))`

// recordEvents records event typ of each task in ids, as their rows now
// stand in tx, and the deliveries of the webhooks that take it, in the
// transaction of the change it describes: the event exists if and only if
// the change commits. withCounts adds the final counts to the data.
func recordEvents(ctx context.Context, tx pgx.Tx, ids []ID, typ EventType, actor string, data any, at time.Time, withCounts bool) error {
	if len(ids) == 0 {
		return nil
	}
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("models: event %s data: %w", typ, err)
	}
	_, err = tx.Exec(ctx, `WITH e AS (
			INSERT INTO task_events (task_id, type, at, actor, task, data)
			SELECT t.id, $2, $3, $4, snap.task,
				$5::jsonb || CASE WHEN $6 THEN jsonb_build_object('counts', snap.task->'counts') ELSE '{}'::jsonb END
			FROM tasks t, LATERAL (SELECT `+eventTaskSQL+` AS task) snap
			WHERE t.id = ANY($1) ORDER BY t.id
			RETURNING id, type, at)
		INSERT INTO webhook_deliveries (id, webhook_id, event_id, event, created_at, updated_at)
		SELECT gen_random_uuid(), w.id, e.id, e.type, e.at, e.at FROM e JOIN webhooks w
			ON w.enabled AND (cardinality(w.events) = 0 OR e.type = ANY(w.events))`,
		ids, typ, at, actor, string(raw), withCounts)
	if err != nil {
		return fmt.Errorf("models: record %s of tasks %v: %w", typ, ids, err)
	}
	return nil
}

// recordEvent records event typ of task id (recordEvents).
func recordEvent(ctx context.Context, tx pgx.Tx, id ID, typ EventType, actor string, data any, at time.Time) error {
	return recordEvents(ctx, tx, []ID{id}, typ, actor, data, at, false)
}

// TaskEvents returns page p of task id's events, oldest first (newest
// first with newestFirst).
func (t *Tasks) TaskEvents(ctx context.Context, id ID, p Page, newestFirst bool) (List[TaskEvent], error) {
	order := "id"
	if newestFirst {
		order = "id DESC"
	}
	var total int64
	if err := t.db.Pool.QueryRow(ctx, `SELECT count(*) FROM task_events WHERE task_id = $1`, id).Scan(&total); err != nil {
		return List[TaskEvent]{}, fmt.Errorf("models: count events of task %s: %w", id, err)
	}
	rows, err := t.db.Pool.Query(ctx, `SELECT id, task_id, type, at, actor, task, data FROM task_events
		WHERE task_id = $1 ORDER BY `+order+` LIMIT $2 OFFSET $3`, id, p.Size, p.Offset())
	if err != nil {
		return List[TaskEvent]{}, fmt.Errorf("models: events of task %s: %w", id, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskEvent, error) {
		var e TaskEvent
		var task, data []byte
		err := r.Scan(&e.ID, &e.TaskID, &e.Event, &e.At, &e.Actor, &task, &data)
		e.At, e.Task, e.Data = e.At.UTC(), RawJSON(task), RawJSON(data)
		return e, err
	})
	if err != nil {
		return List[TaskEvent]{}, fmt.Errorf("models: events of task %s: %w", id, err)
	}
	return NewList(items, total, p), nil
}
