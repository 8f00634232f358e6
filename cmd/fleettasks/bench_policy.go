package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"fleettasks/models"
)

// benchPolicy is (j)'s policy: three waves whose gates pass as soon as a
// wave is all sent (the devices here only count their notifies), an abort
// criterion judged at every step, and a retry rule.
const benchPolicy = `{"waves":[{"percent":1,"successGate":{"percent":0,"minFinished":0}},{"percent":10,"successGate":{"percent":0,"minFinished":0}},{}],
	"abort":[{"failureType":"ANY","thresholdPercent":5,"minFinished":100,"action":"PAUSE"}],
	"retry":[{"failureType":"TIMED_OUT","maxAttempts":2,"backoffMinutes":5}]}`

// (j) a 100,000-device task at 100,000 a minute with the policy above
// against the same task without a policy, in the same run: the time from
// its start to the last notify its devices received. Then the stop: with
// the rollout under way, enough sub-tasks fail at once to trip a PAUSE
// criterion; the time from that commit to the pause, and to the last
// sub-task sent.
func (b *benchRun) policyRollout(ctx context.Context) error {
	const n, pk = 100_000, "bench-j"
	if err := b.seedProduct(ctx, pk, n); err != nil {
		return err
	}
	fleet, err := b.newFleet(ctx, b.cfg.MQTTURL, pk, n)
	if err != nil {
		return err
	}
	defer fleet.fleet.Close()
	time.Sleep(5 * time.Second) // the devices' first $list, before the server runs, goes unanswered

	var policy models.Policy
	if err := json.Unmarshal([]byte(benchPolicy), &policy); err != nil {
		return err
	}
	rate := models.MaxRolloutPerMin
	one := func(pol *models.Policy) (time.Duration, error) {
		if err := b.resetTasks(ctx); err != nil {
			return 0, err
		}
		server, err := b.startServer(ctx)
		if err != nil {
			return 0, err
		}
		defer stopServer(server)
		fleet.reset()
		start := time.Now().Add(2 * time.Second)
		if _, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: "j", Target: models.TargetInput{Type: models.TargetProduct, ProductKey: pk},
			JobDocument: json.RawMessage(`{"version":"2.1"}`), RolloutPerMinute: &rate, ScheduledAt: &start, Policy: pol}); err != nil {
			return 0, err
		}
		if _, err := fleet.waitFor(n, 3*time.Minute); err != nil {
			return 0, err
		}
		fleet.mu.Lock()
		defer fleet.mu.Unlock()
		return fleet.last.Sub(start), nil
	}
	var plain, with []time.Duration
	for r := 0; r < b.runs; r++ {
		d, err := one(nil)
		if err != nil {
			return err
		}
		plain = append(plain, d)
		if d, err = one(&policy); err != nil {
			return err
		}
		with = append(with, d)
	}
	fmt.Printf("(j) 100,000 sub-tasks at 100,000/min, 3 waves + abort criterion + retry rule: %s from the start to the last notify (median; runs %v), "+
		"without a policy %s (runs %v): %.3f of it  target ≤ 1.05\n",
		median(with).Round(time.Millisecond), roundedD(with), median(plain).Round(time.Millisecond), roundedD(plain),
		median(with).Seconds()/median(plain).Seconds())

	var toPause, toLast []time.Duration
	for r := 0; r < b.runs; r++ {
		p, l, err := b.tripStop(ctx, pk, rate)
		if err != nil {
			return err
		}
		toPause, toLast = append(toPause, p), append(toLast, l)
	}
	fmt.Printf("(j) a PAUSE criterion tripped mid-rollout: paused %s after the failures' commit, last sub-task sent %s after it (medians; runs %v, %v)  target ≤ 1 s\n",
		ms(median(toPause)), ms(median(toLast)), roundedD(toPause), roundedD(toLast))
	return nil
}

// tripStop runs the 100,000-device task with a PAUSE criterion; 10 s in,
// it marks 1,000 sent sub-tasks FAILED in one commit and returns how long
// after that the task was paused and its last sub-task sent.
func (b *benchRun) tripStop(ctx context.Context, pk string, rate int) (time.Duration, time.Duration, error) {
	if err := b.resetTasks(ctx); err != nil {
		return 0, 0, err
	}
	server, err := b.startServer(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer stopServer(server)
	var pol models.Policy
	json.Unmarshal([]byte(`{"abort":[{"failureType":"FAILED","thresholdPercent":5,"minFinished":100,"action":"PAUSE"}]}`), &pol)
	task, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: "j-trip", Target: models.TargetInput{Type: models.TargetProduct, ProductKey: pk},
		JobDocument: json.RawMessage(`{"version":"2.1"}`), RolloutPerMinute: &rate, Policy: &pol})
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(10 * time.Second)
	var failedAt time.Time
	if err := b.db.Pool.QueryRow(ctx, `WITH f AS (SELECT id FROM subtasks WHERE task_id = $1 AND status = 'SENT' ORDER BY id LIMIT 1000)
		UPDATE subtasks s SET status = 'FAILED', finished_at = clock_timestamp(), updated_at = clock_timestamp()
		FROM f WHERE s.task_id = $1 AND s.id = f.id RETURNING clock_timestamp()`, task.ID).Scan(&failedAt); err != nil {
		return 0, 0, err
	}
	// the commit is done when the statement returns (autocommit)
	committed := time.Now()
	deadline := committed.Add(30 * time.Second)
	for {
		var paused *time.Time
		var last time.Time
		if err := b.db.Pool.QueryRow(ctx, `SELECT paused_at, (SELECT max(sent_at) FROM subtasks WHERE task_id = $1) FROM tasks WHERE id = $1`,
			task.ID).Scan(&paused, &last); err != nil {
			return 0, 0, err
		}
		if paused != nil {
			time.Sleep(2 * time.Second) // anything still sent after the pause shows now
			if err := b.db.Pool.QueryRow(ctx, `SELECT max(sent_at) FROM subtasks WHERE task_id = $1`, task.ID).Scan(&last); err != nil {
				return 0, 0, err
			}
			return paused.Sub(committed), max(last.Sub(committed), 0), nil
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("(j) the criterion did not trip within 30 s of the failures")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func roundedD(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond).String()
	}
	return out
}
