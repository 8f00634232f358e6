package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/workers"
)

// startWorkers starts n worker processes, each with its own client id.
func startWorkers(t *testing.T, env []string, n int) {
	for i := range n {
		startProcess(t, append(env[:len(env):len(env)], fmt.Sprintf("FLEETTASKS_MQTT_CLIENT_ID=w%d-%s", i, testenv.ID())), "worker")
	}
}

// Many tasks at once, in one and in two worker processes: every task keeps
// its rate, or says by how much it could not. Measured from its sub-tasks'
// sent times: one batch of at most a second's worth in each second of its
// schedule (the first step is its epoch), and a batch later than its second
// only where the task's rollout_lag_seconds accounts for it, to the second.
// On an idle machine no task lags; on a starved one (the suite beside a
// benchmark) a task may lose a second, and must say so.
func TestManyTasksKeepTheirRate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ tasks, procs int }{{12, 1}, {12, 2}, {50, 1}, {50, 2}} {
		t.Run(fmt.Sprintf("%d tasks in %d workers", c.tasks, c.procs), func(t *testing.T) {
			env, db := workerEnv(t)
			ctx := context.Background()
			const devices, rate, burst = 100, 600, 10 // 10 a second for 10 s
			ids := make([]models.ID, c.tasks)
			for i := range ids {
				pk := testenv.Prefix(t)
				testenv.SeedDevices(t, db, pk, devices)
				task, _ := createTask(t, db, models.TargetInput{Type: "PRODUCT", ProductKey: pk}, rate)
				ids[i] = task.ID
			}
			startWorkers(t, env, c.procs)
			waitFor(t, 60*time.Second, "every task sent", func() bool {
				var left int
				db.Pool.QueryRow(ctx, `SELECT count(*) FROM subtasks WHERE status = 'QUEUED'`).Scan(&left)
				return left == 0
			})
			lagging, worst := 0, 0.0
			for _, id := range ids {
				var lag float64
				if err := db.Pool.QueryRow(ctx, `SELECT rollout_lag_seconds FROM tasks WHERE id = $1`, id).Scan(&lag); err != nil {
					t.Fatal(err)
				}
				// at 10 a second, each batch the schedule gave up is one second
				slip := int(lag + 0.5)
				batches := taskBatches(t, db, id)
				n, biggest, late := 0, 0, 0
				var problems []string
				for k, b := range batches {
					n, biggest = n+b.n, max(biggest, b.n)
					sec := int(b.at / time.Second)
					if k == 0 {
						continue
					}
					switch gap := sec - int(batches[k-1].at/time.Second); {
					case gap < 1:
						problems = append(problems, fmt.Sprintf("batches %d and %d in one second", k-1, k))
					default:
						late += gap - 1
					}
				}
				if n != devices || biggest > burst || len(batches) != devices/burst {
					problems = append(problems, fmt.Sprintf("%d sent in %d batches of at most %d, want %d in %d of at most %d",
						n, len(batches), biggest, devices, devices/burst, burst))
				}
				if late != slip {
					problems = append(problems, fmt.Sprintf("%d s behind its schedule, but its lag says %.1f s", late, lag))
				}
				if len(problems) > 0 {
					t.Errorf("task %s: %v; its batches: %s", id, problems, batchOffsets(batches))
				}
				if slip > 0 {
					lagging++
				}
				// the rate over its window: its devices over the seconds it took
				dev := abs(float64(devices)/float64(devices/burst+slip)*60-rate) / rate
				worst = max(worst, dev)
			}
			t.Logf("%d tasks at %d a minute in %d workers: %d fell behind and said so; worst deviation from the rate %.1f %%",
				c.tasks, rate, c.procs, lagging, worst*100)
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// taskBatch is one rollout step of a task: n sub-tasks sent at offset at
// from the first step.
type taskBatch struct {
	at time.Duration
	n  int
}

func taskBatches(t *testing.T, db *models.DB, id models.ID) []taskBatch {
	rows, err := db.Pool.Query(context.Background(), `SELECT sent_at, count(*) FROM subtasks WHERE task_id = $1 AND sent_at IS NOT NULL
		GROUP BY sent_at ORDER BY sent_at`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []taskBatch
	var first time.Time
	for rows.Next() {
		var at time.Time
		var n int
		if err := rows.Scan(&at, &n); err != nil {
			t.Fatal(err)
		}
		if first.IsZero() {
			first = at
		}
		out = append(out, taskBatch{at.Sub(first), n})
	}
	return out
}

// batchOffsets tells a task's rollout steps, "size@offset" from the first,
// to show whether a failed rate is one late step or a drift.
func batchOffsets(batches []taskBatch) string {
	out := make([]string, len(batches))
	for i, b := range batches {
		out[i] = fmt.Sprintf("%d@%v", b.n, b.at.Round(time.Millisecond))
	}
	return strings.Join(out, " ")
}

// The periodic work (scan, sweep) runs once a second across all worker
// processes, not once a second in each.
func TestPeriodicOnceAcrossWorkers(t *testing.T) {
	t.Parallel()
	env, _ := workerEnv(t)
	var redisURL string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "FLEETTASKS_REDIS_URL="); ok {
			redisURL = v
		}
	}
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	startWorkers(t, env, 3)
	runs := func(typ string, from, to time.Time) int {
		done, err := insp.ListCompletedTasks("default", asynq.PageSize(1000))
		if err != nil && !strings.Contains(err.Error(), "not found") {
			t.Fatal(err)
		}
		k := 0
		for _, ti := range done {
			if ti.Type == typ && !ti.CompletedAt.Before(from) && ti.CompletedAt.Before(to) {
				k++
			}
		}
		return k
	}
	waitFor(t, 30*time.Second, "the first scan", func() bool {
		return runs(workers.TypeRolloutScan, time.Time{}, time.Now().Add(time.Hour)) > 0
	})
	// a window of 5 real seconds is what is measured; it is closed once a
	// run of each kind has completed after it
	from := time.Now()
	to := from.Add(5 * time.Second)
	waitFor(t, 30*time.Second, "a scan and a sweep after the window", func() bool {
		return time.Now().After(to) && runs(workers.TypeRolloutScan, to, to.Add(time.Hour)) > 0 && runs(workers.TypeSweep, to, to.Add(time.Hour)) > 0
	})
	for _, typ := range []string{workers.TypeRolloutScan, workers.TypeSweep} {
		if n := runs(typ, from, to); n < 4 || n > 6 {
			t.Errorf("%s ran %d times in 5 s with 3 workers, want 5 (±1)", typ, n)
		} else {
			t.Logf("%s ran %d times in 5 s with 3 workers", typ, n)
		}
	}
}
