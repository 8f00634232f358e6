package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"fleettasks/models"
)

// asynq task types of the engine.
const (
	TypeRolloutScan = "rollout:scan" // every second: what needs a tick, a start, a stop
	TypeRolloutTick = "rollout:tick" // send one task's due sub-tasks
	TypeTaskStart   = "task:start"   // a scheduled task's start time
	TypeTaskStop    = "task:stop"    // cancel or remove a task's unfinished sub-tasks
	TypeSweep       = "task:sweep"   // every second: timeouts, 7-day expiry, completion
)

// taskPayload names one task.
type taskPayload struct {
	TaskID  models.ID `json:"taskId"`
	Deleted bool      `json:"deleted,omitempty"`
}

func newTaskTask(typ string, p taskPayload, opts ...asynq.Option) *asynq.Task {
	b, _ := json.Marshal(p)
	return asynq.NewTask(typ, b, opts...)
}

// NewRolloutTickTask is the rollout of task id for the next while; at most
// one is enqueued per task and second, and one at a time runs (the
// rollout lease, see models.RolloutLease).
func NewRolloutTickTask(id models.ID) *asynq.Task {
	return newTaskTask(TypeRolloutTick, taskPayload{TaskID: id},
		asynq.TaskID(fmt.Sprintf("tick:%s:%d", id, time.Now().Unix())), asynq.MaxRetry(0), asynq.Timeout(tickSpan+20*time.Second))
}

// NewTaskStartTask starts a scheduled task at its time.
func NewTaskStartTask(id models.ID, at time.Time) *asynq.Task {
	return newTaskTask(TypeTaskStart, taskPayload{TaskID: id}, asynq.TaskID("start:"+id.String()), asynq.ProcessAt(at))
}

// NewTaskStopTask cancels (or, deleted, removes and purges) a task's sub-tasks.
func NewTaskStopTask(id models.ID, deleted bool) *asynq.Task {
	return newTaskTask(TypeTaskStop, taskPayload{TaskID: id, Deleted: deleted},
		asynq.TaskID("stop:"+id.String()), asynq.Timeout(5*time.Minute))
}

// NewRolloutScanTask and NewSweepTask are the periodic tasks.
func NewRolloutScanTask() *asynq.Task {
	return asynq.NewTask(TypeRolloutScan, nil, asynq.MaxRetry(0), asynq.Timeout(30*time.Second))
}

func NewSweepTask() *asynq.Task {
	return asynq.NewTask(TypeSweep, nil, asynq.MaxRetry(0), asynq.Timeout(50*time.Second))
}

func readPayload(t *asynq.Task) (taskPayload, error) {
	var p taskPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.TaskID == 0 {
		return p, fmt.Errorf("workers: %s payload %q: %v: %w", t.Type(), t.Payload(), err, asynq.SkipRetry)
	}
	return p, nil
}

// enqueue adds a task; one already there under the same id is fine.
func enqueue(ctx context.Context, c *asynq.Client, t *asynq.Task) error {
	_, err := c.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}

// Jobs implements models.Jobs with asynq: the service layer's decisions
// reach the workers at once (the scans catch up if Redis was away).
type Jobs struct {
	Client *asynq.Client
}

func (j Jobs) TaskCreated(ctx context.Context, t *models.Task) error {
	if t.Status == models.TaskScheduled && t.ScheduledAt != nil {
		return enqueue(ctx, j.Client, NewTaskStartTask(t.ID, *t.ScheduledAt))
	}
	return enqueue(ctx, j.Client, NewRolloutTickTask(t.ID))
}

func (j Jobs) TaskCancelled(ctx context.Context, id models.ID) error {
	return enqueue(ctx, j.Client, NewTaskStopTask(id, false))
}

func (j Jobs) TaskDeleted(ctx context.Context, id models.ID) error {
	return enqueue(ctx, j.Client, NewTaskStopTask(id, true))
}
