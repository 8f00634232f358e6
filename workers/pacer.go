package workers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"fleettasks/models"
)

var (
	rolloutBehind = promauto.NewCounter(prometheus.CounterOpts{
		Name: "fleettasks_rollout_behind_seconds_total",
		Help: "Seconds by which running tasks' rollouts fell behind their rate (the broker or the database could not keep up); see each task's rolloutLagSeconds.",
	})
	rolloutSteps = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_rollout_steps_total",
		Help: "Rollout steps run by the pacer, by outcome.",
	}, []string{"outcome"})
)

// Pacer drives the rollout of every running task from one loop per worker
// process: every poll it takes the tasks whose next batch is due and runs
// their steps, a few at a time. A task waiting for its next second holds
// nothing, so every task keeps its rate however many run; several
// processes share the work through the task row lock (models.RolloutStep).
type Pacer struct {
	tasks *models.Tasks
	out   *Outbox
	log   *slog.Logger
	poll  time.Duration
	steps int
}

// NewPacer returns a pacer that publishes through out.
func NewPacer(tasks *models.Tasks, out *Outbox, log *slog.Logger) *Pacer {
	return &Pacer{tasks: tasks, out: out, log: log, poll: 50 * time.Millisecond, steps: 8}
}

// Run paces until ctx ends; the steps under way then finish.
func (p *Pacer) Run(ctx context.Context) {
	var (
		mu      sync.Mutex
		running = map[models.ID]bool{}
		wg      sync.WaitGroup
		slots   = make(chan struct{}, p.steps)
	)
	defer wg.Wait()
	tick := time.NewTicker(p.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ids, err := p.tasks.DueRollouts(ctx, 1000)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("pacer: due rollouts", "err", err)
			}
			continue
		}
		for _, id := range ids {
			mu.Lock()
			busy := running[id]
			running[id] = true
			mu.Unlock()
			if busy {
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer func() {
					mu.Lock()
					delete(running, id)
					mu.Unlock()
					<-slots
					wg.Done()
				}()
				p.step(context.WithoutCancel(ctx), id)
			}()
		}
	}
}

// step runs one rollout step and hands its batch to the outbox.
func (p *Pacer) step(ctx context.Context, id models.ID) {
	s, err := p.tasks.RolloutStep(ctx, id)
	if err != nil {
		rolloutSteps.WithLabelValues("error").Inc()
		p.log.Warn("rollout step failed; tried again", "task", id, "err", err)
		return
	}
	if s.Behind > 0 {
		rolloutBehind.Add(s.Behind)
		p.log.Warn("rollout fell behind its rate", "task", id, "seconds", s.Behind)
	}
	if s.Batch == nil {
		rolloutSteps.WithLabelValues("idle").Inc()
		return
	}
	rolloutSteps.WithLabelValues("sent").Inc()
	p.out.Send(s.Batch, nil)
}
