package workers

import (
	"context"
	"log/slog"
	"sync"

	"github.com/hibiken/asynq"

	"fleettasks/models"
)

// Engine handles the task lifecycle's asynq tasks. The rollouts themselves
// are paced by the Pacer; everything the engine records for devices goes
// out through the Outbox after its commit.
type Engine struct {
	Tasks    *models.Tasks
	Webhooks *models.Webhooks
	Outbox   *Outbox
	Client   *asynq.Client
	Log      *slog.Logger
}

// Scan (once a second across all workers) starts scheduled tasks whose
// time has come, publishes the notify batches that dead workers left
// behind, enqueues the webhook deliveries the task events made, and makes
// sure large tasks' sub-tasks are being made and cancelled and deleted
// tasks are being stopped.
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
	if _, err := e.Outbox.Recover(ctx); err != nil {
		return err
	}
	if err := e.enqueueDeliveries(ctx); err != nil {
		return err
	}
	preparing, err := e.Tasks.Preparing(ctx)
	if err != nil {
		return err
	}
	for _, id := range preparing {
		if err := enqueue(ctx, e.Client, NewMaterializeTask(id)); err != nil {
			return err
		}
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

// Materialize creates the rest of a large task's sub-tasks, a chunk per
// transaction (see models.Tasks.MaterializeStep).
func (e *Engine) Materialize(ctx context.Context, t *asynq.Task) error {
	p, err := readPayload(t)
	if err != nil {
		return err
	}
	for {
		more, err := e.Tasks.MaterializeStep(ctx, p.TaskID)
		if err != nil || !more {
			return err
		}
	}
}

// stopBatch is how many sub-tasks one stop transaction handles.
const stopBatch = 5000

// Stop cancels, or removes and purges, a task's unfinished sub-tasks in
// batches; each batch's notifies are published after its commit while the
// next batch is prepared. It is idempotent: a retry or a second run finds
// less to do.
func (e *Engine) Stop(ctx context.Context, t *asynq.Task) error {
	p, err := readPayload(t)
	if err != nil {
		return err
	}
	var published sync.WaitGroup
	for {
		n, batch, err := e.Tasks.StopStep(ctx, p.TaskID, p.Deleted, stopBatch)
		if err != nil {
			published.Wait()
			return err
		}
		if batch != nil {
			published.Add(1)
			e.Outbox.Send(batch, published.Done)
		}
		if n == 0 {
			break
		}
	}
	published.Wait()
	for p.Deleted {
		// ErrPurgeWaits: tried again (asynq retry, and the scan)
		gone, err := e.Tasks.PurgeTask(ctx, p.TaskID, 20_000)
		if err != nil || gone {
			return err
		}
	}
	return nil
}

// sweepBatch is how many sub-tasks one timeout transaction moves.
const sweepBatch = 10_000

// Sweep (once a second across all workers) times out sub-tasks past their
// in-progress timeout, applies the 7-day rule and marks finished tasks
// COMPLETED.
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

// enqueueDeliveries gives each new webhook delivery (and each whose task
// was lost) its asynq task: the outbox of the deliveries that the task
// events recorded in their transactions.
func (e *Engine) enqueueDeliveries(ctx context.Context) error {
	if e.Webhooks == nil {
		return nil
	}
	for {
		ids, err := e.Webhooks.UnsentDeliveries(ctx, 500)
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			if err := enqueue(ctx, e.Client, NewWebhookDeliverTask(id)); err != nil {
				return err
			}
		}
		if err := e.Webhooks.MarkEnqueued(ctx, ids); err != nil {
			return err
		}
		if len(ids) < 500 {
			return nil
		}
	}
}
