package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"fleettasks/models"
)

// asynq task types of the engine.
const (
	TypeRolloutScan = "rollout:scan"     // every second: scheduled starts, stale notify batches, stops
	TypeTaskStop    = "task:stop"        // cancel or remove a task's unfinished sub-tasks
	TypeSweep       = "task:sweep"       // every second: timeouts, 7-day expiry, completion
	TypeMaterialize = "task:materialize" // create the rest of a large task's sub-tasks
)

// taskPayload names one task.
type taskPayload struct {
	TaskID  models.ID `json:"taskId"`
	Deleted bool      `json:"deleted,omitempty"`
}

// NewTaskStopTask cancels (or, deleted, removes and purges) a task's sub-tasks.
func NewTaskStopTask(id models.ID, deleted bool) *asynq.Task {
	b, _ := json.Marshal(taskPayload{TaskID: id, Deleted: deleted})
	return asynq.NewTask(TypeTaskStop, b, asynq.TaskID("stop:"+id.String()), asynq.Timeout(5*time.Minute))
}

// NewMaterializeTask creates the rest of task id's sub-tasks.
func NewMaterializeTask(id models.ID) *asynq.Task {
	b, _ := json.Marshal(taskPayload{TaskID: id})
	return asynq.NewTask(TypeMaterialize, b, asynq.TaskID("materialize:"+id.String()), asynq.Timeout(10*time.Minute))
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

// periodic is a task every worker process enqueues each period; its asynq
// task id names the period and the finished task is kept for a while, so
// that only the first of the processes' enqueues for a period counts and
// the work runs once per period across all processes.
type periodic struct {
	typ     string
	every   time.Duration
	timeout time.Duration
	retries int
}

var periodics = []periodic{
	{TypeRolloutScan, time.Second, 30 * time.Second, 0},
	{TypeSweep, time.Second, 50 * time.Second, 0},
	{TypeLogMaintain, time.Hour, 30 * time.Minute, 3},
}

// task is p's asynq task for the period that holds at.
func (p periodic) task(at time.Time) *asynq.Task {
	n := at.UnixNano() / int64(p.every)
	return asynq.NewTask(p.typ, nil, asynq.TaskID(fmt.Sprintf("%s:%d", p.typ, n)),
		asynq.MaxRetry(p.retries), asynq.Timeout(p.timeout), asynq.Retention(p.every+time.Minute))
}

// runPeriodic enqueues the periodic tasks every second until ctx ends.
func runPeriodic(ctx context.Context, c *asynq.Client, log *slog.Logger) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		now := time.Now()
		for _, p := range periodics {
			if err := enqueue(ctx, c, p.task(now)); err != nil && ctx.Err() == nil {
				log.Warn("enqueue periodic task", "type", p.typ, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
