package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"fleettasks/device"
)

// (c) device updates applied per second with their replies received,
// against a raw single-row pgx UPDATE loop; reply latency at a fixed
// offered 3,000 a second.
func (b *benchRun) updates(ctx context.Context) error {
	if b.rolloutFleet == nil {
		runs := b.runs
		b.runs = 1
		err := b.rollout(ctx)
		b.runs = runs
		if err != nil {
			return err
		}
	}
	fleet := b.rolloutFleet
	for i, id := range fleet.taskIDs {
		if id == "" {
			return fmt.Errorf("device d%d has no sub-task", i+1)
		}
	}
	var ours, raw []float64
	for r := 0; r < b.runs; r++ {
		rate, err := updateAll(ctx, fleet, 1000, r+1)
		if err != nil {
			return err
		}
		ours = append(ours, rate)
		rate, err = b.rawUpdates(ctx, fleet, r+1)
		if err != nil {
			return err
		}
		raw = append(raw, rate)
	}
	fmt.Printf("(c) device updates applied with replies: %.0f/s (median; runs %v), raw single-row pgx UPDATE loop %.0f/s (runs %v): %.2f of raw  target ≥ 8,000/s and ≥ 0.7\n",
		medianF(ours), rounded(ours), medianF(raw), rounded(raw), medianF(ours)/medianF(raw))

	lat, err := offered(ctx, fleet, 3000, 10*time.Second)
	if err != nil {
		return err
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	fmt.Printf("(c) reply latency at an offered 3,000 updates/s for 10 s (%d updates): p50 %s, p99 %s, max %s  target p99 ≤ 100 ms\n",
		len(lat), ms(pct(0.5)), ms(pct(0.99)), ms(lat[len(lat)-1]))
	return nil
}

// updateAll has every device report IN_PROGRESS with progress p, at most
// inflight requests at a time, and returns the updates applied a second.
func updateAll(ctx context.Context, fleet *benchFleet, inflight, p int) (float64, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(inflight)
	var bad atomic.Int64
	var first atomic.Value
	start := time.Now()
	for i, c := range fleet.clients {
		g.Go(func() error {
			st, err := c.Update(gctx, fleet.taskIDs[i], "IN_PROGRESS", device.WithProgress(p))
			if err != nil || st != "IN_PROGRESS" {
				bad.Add(1)
				first.CompareAndSwap(nil, fmt.Sprintf("%v (status %q)", err, st))
			}
			return nil
		})
	}
	g.Wait()
	took := time.Since(start)
	if bad.Load() > 0 {
		return 0, fmt.Errorf("%d of %d updates failed, the first: %v", bad.Load(), len(fleet.clients), first.Load())
	}
	return float64(len(fleet.clients)) / took.Seconds(), nil
}

// rawUpdates is the baseline: the same rows updated one statement at a
// time, each its own transaction, on one connection.
func (b *benchRun) rawUpdates(ctx context.Context, fleet *benchFleet, p int) (float64, error) {
	conn, err := b.db.Pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	ids := make([]int64, len(fleet.taskIDs))
	for i, s := range fleet.taskIDs {
		ids[i], _ = strconv.ParseInt(s, 10, 64)
	}
	devices := make([]int64, len(ids))
	for i, id := range ids {
		if err := conn.QueryRow(ctx, `SELECT device_id FROM subtasks WHERE id = $1`, id).Scan(&devices[i]); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for i, id := range ids {
		if _, err := conn.Exec(ctx, `UPDATE subtasks SET progress = $3, updated_at = now() WHERE device_id = $1 AND id = $2`, devices[i], id, p); err != nil {
			return 0, err
		}
	}
	return float64(len(ids)) / time.Since(start).Seconds(), nil
}

// offered sends updates at a steady rate for d and returns each one's
// reply latency.
func offered(ctx context.Context, fleet *benchFleet, perSecond int, d time.Duration) ([]time.Duration, error) {
	var (
		mu  sync.Mutex
		lat []time.Duration
		wg  sync.WaitGroup
		bad atomic.Int64
	)
	step := 10 * time.Millisecond
	perStep := perSecond / int(time.Second/step)
	tick := time.NewTicker(step)
	defer tick.Stop()
	end := time.Now().Add(d)
	k := 0
	for time.Now().Before(end) {
		<-tick.C
		for j := 0; j < perStep; j++ {
			i, p := k%len(fleet.clients), k%100
			k++
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				_, err := fleet.clients[i].Update(ctx, fleet.taskIDs[i], "IN_PROGRESS", device.WithProgress(p))
				if err != nil {
					bad.Add(1)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if bad.Load() > 0 {
		return nil, fmt.Errorf("%d updates failed at an offered %d/s", bad.Load(), perSecond)
	}
	return lat, nil
}
