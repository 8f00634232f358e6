package workers_test

import (
	"context"
	"testing"
	"time"

	"fleettasks/models"
)

func sentTimes(t *testing.T, s *stack, task models.ID) []time.Time {
	rows, err := s.app.DB.Pool.Query(context.Background(), `SELECT sent_at FROM subtasks WHERE task_id = $1 AND sent_at IS NOT NULL ORDER BY sent_at`, task)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at time.Time
		rows.Scan(&at)
		out = append(out, at)
	}
	return out
}

// batch is the sub-tasks one rollout step sent: they share one sent_at.
type batch struct {
	at time.Time
	n  int
}

// sentBatches groups a task's sent times by step, in order.
func sentBatches(t *testing.T, s *stack, task models.ID) []batch {
	var out []batch
	for _, at := range sentTimes(t, s, task) {
		if k := len(out); k > 0 && out[k-1].at.Equal(at) {
			out[k-1].n++
		} else {
			out = append(out, batch{at, 1})
		}
	}
	return out
}

func rolloutLag(t *testing.T, s *stack, task models.ID) float64 {
	var lag float64
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT rollout_lag_seconds FROM tasks WHERE id = $1`, task).Scan(&lag); err != nil {
		t.Fatal(err)
	}
	return lag
}

// 1,200 a minute, measured over 10 s: one batch of 20 at the start of each
// second, never a burst, and the schedule kept (no lag).
func TestRolloutRate(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	const rate, perSecond, seconds = 1200, 20, 10
	const n = perSecond * (seconds + 1) // batches at 0 s, 1 s ... 10 s
	refs := s.devices(n)
	r := rate
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &r})
	eventually(t, 30*time.Second, "all sent", func() bool { return s.stats(task.ID).Sent == n })
	batches := sentBatches(t, s, task.ID)
	first, last := batches[0].at, batches[len(batches)-1].at
	for i, b := range batches {
		if b.n > perSecond {
			t.Errorf("batch %d (%v after the first): %d sent at once, want at most a second's worth (%d)", i, b.at.Sub(first), b.n, perSecond)
		}
		// batch i belongs to second i of the schedule, whose epoch is the
		// first step: never early, and within its own second
		if off := b.at.Sub(first) - time.Duration(i)*time.Second; off < 0 || off >= time.Second {
			t.Errorf("batch %d sent %v after the first, want within second %d", i, b.at.Sub(first), i)
		}
	}
	span := last.Sub(first)
	ideal := seconds * time.Second
	t.Logf("%d sub-tasks in %d batches over %v (ideal %v)", n, len(batches), span, ideal)
	if dev := float64(span-ideal) / float64(ideal); dev < -0.02 || dev > 0.02 {
		t.Errorf("first to last batch %v, want %v ± 2%% (%.1f a minute)", span, ideal, float64(n-perSecond)/span.Seconds()*60)
	}
	if len(batches) != seconds+1 {
		t.Errorf("%d batches, want %d", len(batches), seconds+1)
	}
	if lag := rolloutLag(t, s, task.ID); lag != 0 {
		t.Errorf("rollout_lag_seconds %v, want 0", lag)
	}
}

// A small rate spreads evenly: 30 a minute is one every 2 s, each alone
// (not a batch at the start of a minute).
func TestRolloutSmallRateSpreads(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(3)
	rate := 30
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	eventually(t, 15*time.Second, "three sent", func() bool { return s.stats(task.ID).Sent == 3 })
	batches := sentBatches(t, s, task.ID)
	if len(batches) != 3 {
		t.Fatalf("%d batches %v, want three of one", len(batches), batches)
	}
	for i := 1; i < len(batches); i++ {
		// each step comes at (never before) the start of its second, a
		// poll (50 ms) or so after it
		if gap := batches[i].at.Sub(batches[i-1].at); gap < 1800*time.Millisecond || gap > 2700*time.Millisecond {
			t.Fatalf("gap %v between sends, want 2 s", gap)
		}
	}
	if lag := rolloutLag(t, s, task.ID); lag != 0 {
		t.Errorf("rollout_lag_seconds %v, want 0", lag)
	}
}

// A PATCH of the rate applies from the next tick.
func TestRolloutRatePatch(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(40)
	rate := 1
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	eventually(t, 5*time.Second, "first sent", func() bool { return s.stats(task.ID).Sent == 1 })
	// at 1 a minute the next step is a minute away: the pacer only steps a
	// task whose rollout_next_at has come, so nothing more is sent until
	// the patch (no need to watch for it)
	var sentAt, next time.Time
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT (SELECT sent_at FROM subtasks WHERE task_id = $1 AND sent_at IS NOT NULL), rollout_next_at
		FROM tasks WHERE id = $1`, task.ID).Scan(&sentAt, &next); err != nil {
		t.Fatal(err)
	}
	if d := next.Sub(sentAt); d < 59*time.Second || d > 61*time.Second {
		t.Fatalf("next step %v after the first at 1 a minute, want a minute", d)
	}
	if n := s.stats(task.ID).Sent; n != 1 {
		t.Fatalf("%d sent at 1 a minute", n)
	}
	fast := 6000
	if _, err := s.app.Tasks.PatchTask(context.Background(), task.ID, models.TaskPatch{RolloutPerMinute: &fast}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the rest sent at the new rate", func() bool { return s.stats(task.ID).Sent == 40 })
}

// A scheduled task stays SCHEDULED, sends nothing, and starts at its time.
func TestScheduledStart(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(2)
	d := newRawDevice(t, s.pk, "d1")
	at := time.Now().Add(1500 * time.Millisecond)
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, ScheduledAt: &at})
	if task.Status != models.TaskScheduled {
		t.Fatalf("status %s", task.Status)
	}
	eventually(t, 10*time.Second, "started and notified", func() bool { return len(d.notifies()) == 1 })
	// not early: the task started, and its sub-tasks were sent, at or after
	// their time (the sent_at of a step is when it committed)
	var started, firstSent time.Time
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT started_at, (SELECT min(sent_at) FROM subtasks WHERE task_id = $1)
		FROM tasks WHERE id = $1`, task.ID).Scan(&started, &firstSent); err != nil {
		t.Fatal(err)
	}
	if started.Before(at) || started.Sub(at) > 2500*time.Millisecond {
		t.Fatalf("started at %v, scheduled %v", started, at)
	}
	if firstSent.Before(at) {
		t.Fatalf("first sent at %v, scheduled %v", firstSent, at)
	}
	if n := len(d.notifies()); n != 1 {
		t.Fatalf("%d notifies", n)
	}
}

// QoS 0 tasks publish their notifies at QoS 0.
func TestNotifyQoS0(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(1)
	d := newRawDevice(t, s.pk, "d1")
	qos := 0
	s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, QoS: &qos})
	eventually(t, 5*time.Second, "notified", func() bool { return len(d.notifies()) == 1 })
	if q := d.notifies()[0].Qos(); q != 0 {
		t.Fatalf("notify at QoS %d", q)
	}
}
