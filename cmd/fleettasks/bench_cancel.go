package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"fleettasks/models"
	"fleettasks/protocol"
)

// (i) cancel of a running 100,000-device task whose sub-tasks are all
// SENT (set so in SQL: the rollout is (b)'s figure), on two worker
// processes: the time from CancelTask until an MQTT subscriber has the
// CANCELLED notify of every sub-task — target ≤ 10 s. Meanwhile 2,000
// devices of another task send updates at 1,000 a second; their reply
// latency p99 while the cancel goes out — target ≤ 100 ms — is set against
// the same devices' p99 in the 5 s before it.
func (b *benchRun) cancelUnderLoad(ctx context.Context) error {
	const n, m, load = 100_000, 2_000, 1_000
	b.stopRollout()
	if err := b.resetTasks(ctx); err != nil {
		return err
	}
	if err := b.seedProduct(ctx, "bench-i", n); err != nil {
		return err
	}
	if err := b.seedProduct(ctx, "bench-i-load", m); err != nil {
		return err
	}
	fleet, err := b.newFleet(ctx, b.cfg.MQTTURL, "bench-i-load", m)
	if err != nil {
		return err
	}
	defer fleet.fleet.Close()
	var (
		mu   sync.Mutex
		seen = map[string]bool{} // sub-tasks told CANCELLED
		last time.Time
	)
	sub, err := listenNotifies(b.cfg.MQTTURL, "bench-i", func(t protocol.Task, at time.Time) {
		if models.SubStatus(t.Status) == models.SubCancelled {
			mu.Lock()
			seen[t.TaskID], last = true, at
			mu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	defer sub.Disconnect(100)
	for _, name := range []string{"w1", "w2"} {
		w, err := b.startWorker(ctx, name)
		if err != nil {
			return err
		}
		defer stopServer(w)
	}

	var took, p99, p99Before []time.Duration
	for r := 0; r < b.runs; r++ {
		if err := b.resetTasks(ctx); err != nil {
			return err
		}
		if _, err := b.sentTask(ctx, "bench-i-load", fleet); err != nil {
			return err
		}
		task, err := b.sentTask(ctx, "bench-i", nil)
		if err != nil {
			return err
		}
		mu.Lock()
		clear(seen)
		mu.Unlock()

		var stop atomic.Bool
		var lat []latency
		loadErr := make(chan error, 1)
		go func() {
			var err error
			lat, err = offeredUntil(ctx, fleet, load, stop.Load)
			loadErr <- err
		}()
		time.Sleep(5 * time.Second)
		cancelAt := time.Now()
		if _, err := b.tasks.CancelTask(ctx, task.ID); err != nil {
			stop.Store(true)
			<-loadErr
			return err
		}
		for {
			mu.Lock()
			got, end := len(seen), last
			mu.Unlock()
			if got == n {
				took = append(took, end.Sub(cancelAt))
				break
			}
			if time.Since(cancelAt) > 2*time.Minute {
				stop.Store(true)
				<-loadErr
				return fmt.Errorf("%d of %d CANCELLED notifies 2 minutes after the cancel", got, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop.Store(true)
		if err := <-loadErr; err != nil {
			return err
		}
		var before, during []time.Duration
		for _, l := range lat {
			if l.at.Before(cancelAt) {
				before = append(before, l.took)
			} else if !l.at.After(cancelAt.Add(took[r])) {
				during = append(during, l.took)
			}
		}
		_, q, _ := percentiles(during)
		_, qb, _ := percentiles(before)
		p99, p99Before = append(p99, q), append(p99Before, qb)
		fmt.Printf("(i)   run %d: all CANCELLED after %s; update replies during it: %d, p99 %s (before: %d, p99 %s)\n",
			r+1, ms(took[r]), len(during), ms(q), len(before), ms(qb))
	}
	fmt.Printf("(i) cancel of a 100,000-device task (all SENT): every CANCELLED notify in %s (median; runs %v)  target ≤ 10 s\n", ms(median(took)), took)
	fmt.Printf("(i) update reply latency at %d/s meanwhile: p99 %s (median of runs), %s in the 5 s before the cancel: %.1f×  target p99 ≤ 100 ms\n",
		load, ms(median(p99)), ms(median(p99Before)), float64(median(p99))/float64(median(p99Before)))
	return b.resetTasks(ctx)
}

// sentTask creates a task for product pk whose sub-tasks are all SENT at
// once (in SQL, as a finished rollout leaves them) and, when fleet is
// given, hands each device its sub-task id.
func (b *benchRun) sentTask(ctx context.Context, pk string, fleet *benchFleet) (*models.Task, error) {
	rate := 1 // the rollout is not what is measured: it sends at most one before the SQL below
	task, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: pk, Target: models.TargetInput{Type: models.TargetProduct, ProductKey: pk},
		JobDocument: json.RawMessage(`{}`), RolloutPerMinute: &rate})
	if err != nil {
		return nil, err
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE subtasks SET status = 'SENT', sent_at = now(), updated_at = now()
		WHERE task_id = $1 AND status IN ('QUEUED', 'SENT')`, task.ID); err != nil {
		return nil, err
	}
	if fleet == nil {
		return task, nil
	}
	rows, err := b.db.Pool.Query(ctx, `SELECT substr(device_name, 2)::int - 1, id FROM subtasks WHERE task_id = $1`, task.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var id models.ID
		if err := rows.Scan(&i, &id); err != nil {
			return nil, err
		}
		fleet.taskIDs[i] = id.String()
	}
	return task, rows.Err()
}
