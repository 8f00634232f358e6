package workers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"fleettasks/models"
)

// maxNoticesInFlight bounds the notifies one process has published and not
// yet settled: a rollout step or a stop waits for room, so a slow broker
// slows the rollouts (which then report their lag) instead of piling up
// notifies that could not be acknowledged within publishWait.
const maxNoticesInFlight = 20_000

// Outbox publishes the notify batches the models layer recorded, after
// their commit, and settles them. It is the one place that turns a
// recorded change into MQTT notifies: rollouts, cancels and deletes hand it
// their batches, and it takes over the batches of workers that died.
type Outbox struct {
	tasks *models.Tasks
	pub   *Publisher
	log   *slog.Logger
	room  *semaphore.Weighted // of maxNoticesInFlight
	wg    sync.WaitGroup
}

// NewOutbox returns an outbox publishing with pub.
func NewOutbox(tasks *models.Tasks, pub *Publisher, log *slog.Logger) *Outbox {
	return &Outbox{tasks: tasks, pub: pub, log: log, room: semaphore.NewWeighted(maxNoticesInFlight)}
}

// Send publishes b in the background once there is room for its notifies
// (it waits for it); done, when not nil, is called once b is settled.
func (o *Outbox) Send(b *models.NotifyBatch, done func()) {
	weight := int64(min(max(len(b.Notices), 1), maxNoticesInFlight))
	o.room.Acquire(context.Background(), weight)
	o.wg.Add(1)
	go func() {
		defer func() {
			o.room.Release(weight)
			o.wg.Done()
			if done != nil {
				done()
			}
		}()
		o.publish(b)
	}()
}

// publish publishes b and records the outcome. It runs to its end even
// when the process is stopping: the broker's acknowledgements are awaited
// for at most publishWait, and a batch that could not be settled is published
// again by another worker once its lease runs out.
func (o *Outbox) publish(b *models.NotifyBatch) {
	var failed []models.ID
	if len(b.Notices) > 0 {
		for i, err := range o.pub.Publish(context.Background(), b.Notices) {
			if err != nil {
				failed = append(failed, b.Notices[i].SubtaskID)
			}
		}
	}
	if len(failed) > 0 {
		o.log.Warn("notifies not taken by the broker; tried again", "task", b.TaskID, "status", b.Status, "failed", len(failed))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.tasks.SettleBatch(ctx, b, failed); err != nil {
		o.log.Warn("settle notify batch; published again once its lease runs out", "batch", b.ID, "err", err)
	}
}

// Recover publishes the batches whose lease ran out: their worker died
// between the commit and the broker's acknowledgement, or the broker
// refused some notifies.
func (o *Outbox) Recover(ctx context.Context) (int, error) {
	batches, err := o.tasks.ClaimStaleBatches(ctx, 100)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Add(1)
		o.Send(b, wg.Done)
	}
	wg.Wait()
	if len(batches) > 0 {
		o.log.Info("published notify batches left behind", "batches", len(batches))
	}
	return len(batches), nil
}

// Close waits for the batches under way.
func (o *Outbox) Close() { o.wg.Wait() }
