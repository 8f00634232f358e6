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
// against a raw single-row pgx UPDATE loop and against the physical limit:
// an echo responder that replies to the same kind of fleet with no
// database work. Reply latency at a fixed offered 3,000 a second and at
// half the measured capacity.
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
	// the echo runs on a broker of its own, configured as the bench's
	echoURL, stopEcho, err := b.echoBroker()
	if err != nil {
		return fmt.Errorf("echo broker: %w", err)
	}
	defer stopEcho()
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
	echo, err := b.echoUpdates(ctx, echoURL, len(fleet.clients), b.runs)
	if err != nil {
		return err
	}
	capacity := medianF(ours)
	fmt.Printf("(c%s) device updates applied with replies: %.0f/s (median; runs %v), raw single-row pgx UPDATE loop %.0f/s (runs %v): %.2f of raw  target ≥ 8,000/s and ≥ 0.7\n",
		b.tag(), capacity, rounded(ours), medianF(raw), rounded(raw), capacity/medianF(raw))
	fmt.Printf("(c%s) the same against an echo responder (same fleet and 1,000 in flight, no database): %.0f/s (runs %v): capacity %.2f of the echo\n",
		b.tag(), medianF(echo), rounded(echo), capacity/medianF(echo))
	b.record("(c) updates applied with replies, /s", capacity)
	b.record("(c) raw single-row UPDATE loop, /s", medianF(raw))
	b.record("(c) echo responder, /s", medianF(echo))

	for _, rate := range []int{3000, int(capacity / 2)} {
		lat, err := offered(ctx, fleet, rate, 10*time.Second)
		if err != nil {
			return err
		}
		p50, p99, maxLat := percentiles(lat)
		fmt.Printf("(c%s) reply latency at an offered %d updates/s (%.0f %% of capacity) for 10 s (%d updates): p50 %s, p99 %s, max %s  target p99 ≤ 100 ms\n",
			b.tag(), rate, 100*float64(rate)/capacity, len(lat), ms(p50), ms(p99), ms(maxLat))
		if rate == 3000 {
			b.record("(c) reply p99 at 3,000/s offered, ms", float64(p99.Microseconds())/1000)
		}
	}
	return nil
}

// percentiles returns the p50, p99 and maximum of lat (sorted in place).
func percentiles(lat []time.Duration) (p50, p99, maxLat time.Duration) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	return pct(0.5), pct(0.99), lat[len(lat)-1]
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
	end := time.Now().Add(d)
	samples, err := offeredUntil(ctx, fleet, perSecond, func() bool { return time.Now().After(end) })
	lat := make([]time.Duration, len(samples))
	for i, s := range samples {
		lat[i] = s.took
	}
	return lat, err
}

// latency is one update's reply latency and when it was sent.
type latency struct {
	at   time.Time
	took time.Duration
}

// offeredUntil sends updates at a steady rate, cycling through the fleet,
// until done, and returns each one's send time and reply latency.
func offeredUntil(ctx context.Context, fleet *benchFleet, perSecond int, done func() bool) ([]latency, error) {
	var (
		mu  sync.Mutex
		lat []latency
		wg  sync.WaitGroup
		bad atomic.Int64
	)
	step := 10 * time.Millisecond
	perStep := max(perSecond/int(time.Second/step), 1)
	tick := time.NewTicker(step)
	defer tick.Stop()
	k := 0
	for !done() {
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
				lat = append(lat, latency{start, time.Since(start)})
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
