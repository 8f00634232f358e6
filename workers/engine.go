package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"fleettasks/models"
)

// Engine handles the task lifecycle's asynq tasks.
type Engine struct {
	Tasks    *models.Tasks
	Notifier models.Notifier
	Client   *asynq.Client
	Log      *slog.Logger
	Now      func() time.Time
}

// Scan (every second) enqueues a tick for each running task with queued
// sub-tasks, starts scheduled tasks whose time has come, and makes sure
// cancelled and deleted tasks are being stopped.
func (e *Engine) Scan(ctx context.Context, _ *asynq.Task) error {
	due, err := e.Tasks.DueScheduled(ctx)
	if err != nil {
		return err
	}
	for _, id := range due {
		if _, err := e.Tasks.StartScheduled(ctx, id); err != nil {
			return err
		}
	}
	ids, err := e.Tasks.RolloutCandidates(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := enqueue(ctx, e.Client, NewRolloutTickTask(id)); err != nil {
			return err
		}
	}
	if _, err := e.Tasks.RepublishPending(ctx, e.Notifier, 5*time.Second); err != nil {
		return err
	}
	cancelled, deleted, err := e.Tasks.Stopping(ctx)
	if err != nil {
		return err
	}
	for _, id := range cancelled {
		if err := enqueue(ctx, e.Client, NewTaskStopTask(id, false)); err != nil {
			return err
		}
	}
	for _, id := range deleted {
		if err := enqueue(ctx, e.Client, NewTaskStopTask(id, true)); err != nil {
			return err
		}
	}
	return nil
}

// tickSpan is how long one tick keeps a task's rollout going before it
// makes way (the scan starts the next within a second). Within it, each
// second's batch goes out at its due time (models.RolloutDue), waiting at
// least tickStep between steps.
const (
	tickSpan = 30 * time.Second
	tickStep = 100 * time.Millisecond
)

// Tick sends one task's due sub-tasks as they fall due, for tickSpan.
func (e *Engine) Tick(ctx context.Context, t *asynq.Task) error {
	p, err := readPayload(t)
	if err != nil {
		return err
	}
	release, ok, err := e.Tasks.RolloutLease(ctx, p.TaskID)
	if err != nil || !ok {
		return err // another worker has the rollout
	}
	defer release()
	end := time.Now().Add(tickSpan)
	for {
		_, next, err := e.Tasks.RolloutTick(ctx, p.TaskID, e.Notifier)
		if err != nil || next.IsZero() {
			return err
		}
		wait := time.Until(next)
		if wait < tickStep {
			wait = tickStep
		}
		if time.Now().Add(wait).After(end) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Start starts a scheduled task and its rollout.
func (e *Engine) Start(ctx context.Context, t *asynq.Task) error {
	p, err := readPayload(t)
	if err != nil {
		return err
	}
	started, err := e.Tasks.StartScheduled(ctx, p.TaskID)
	if err != nil || !started {
		return err
	}
	return enqueue(ctx, e.Client, NewRolloutTickTask(p.TaskID))
}

// stopBatch is how many sub-tasks one stop transaction handles.
const stopBatch = 5000

// Stop cancels, or removes and purges, a task's unfinished sub-tasks in
// batches, telling their devices. It is idempotent: a retry or a second
// run finds less to do.
func (e *Engine) Stop(ctx context.Context, t *asynq.Task) error {
	p, err := readPayload(t)
	if err != nil {
		return err
	}
	stop := e.Tasks.CancelBatch
	if p.Deleted {
		stop = e.Tasks.RemoveBatch
	}
	for {
		n, err := stop(ctx, p.TaskID, e.Notifier, stopBatch)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	for p.Deleted {
		gone, err := e.Tasks.PurgeTask(ctx, p.TaskID, 20_000)
		if err != nil || gone {
			return err
		}
	}
	return nil
}

// sweepBatch is how many sub-tasks one timeout transaction moves.
const sweepBatch = 10_000

// Sweep (every second) times out sub-tasks past their in-progress timeout,
// applies the 7-day rule and marks finished tasks COMPLETED.
func (e *Engine) Sweep(ctx context.Context, _ *asynq.Task) error {
	for {
		n, err := e.Tasks.SweepTimeouts(ctx, sweepBatch)
		if err != nil {
			return err
		}
		if n < sweepBatch {
			break
		}
	}
	if ids, err := e.Tasks.ExpireTasks(ctx); err != nil {
		return err
	} else if len(ids) > 0 {
		e.Log.Info("tasks timed out after 7 days", "tasks", ids)
	}
	_, err := e.Tasks.CompleteFinished(ctx)
	return err
}
