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

// 120 a minute, measured over 30 s: 2 a second, never a burst.
func TestRolloutRate(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(61)
	rate := 120
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	eventually(t, 45*time.Second, "all 61 sent", func() bool { return s.stats(task.ID).Sent == 61 })
	times := sentTimes(t, s, task.ID)
	span := times[len(times)-1].Sub(times[0])
	measured := float64(len(times)-1) / span.Seconds() * 60
	t.Logf("61 sub-tasks in %v: %.1f a minute", span, measured)
	if measured < 120*0.98 || measured > 120*1.02 {
		t.Fatalf("rate %.1f a minute, want 120 ± 2%%", measured)
	}
	// no second holds more than its share (2)
	perSecond := map[int64]int{}
	for _, at := range times {
		perSecond[at.Sub(times[0]).Milliseconds()/1000]++
	}
	for sec, n := range perSecond {
		if n > 3 {
			t.Fatalf("%d sent in second %d", n, sec)
		}
	}
}

// A small rate spreads evenly: 6 a minute is one every 10 s.
func TestRolloutSmallRateSpreads(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(3)
	rate := 6
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	eventually(t, 30*time.Second, "three sent", func() bool { return s.stats(task.ID).Sent == 3 })
	times := sentTimes(t, s, task.ID)
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 9*time.Second || gap > 11500*time.Millisecond {
			t.Fatalf("gap %v between sends, want 10 s", gap)
		}
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
	time.Sleep(2 * time.Second)
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
	at := time.Now().Add(3 * time.Second)
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, ScheduledAt: &at})
	if task.Status != models.TaskScheduled {
		t.Fatalf("status %s", task.Status)
	}
	time.Sleep(2 * time.Second)
	if len(d.notifies()) != 0 || s.taskStatus(task.ID) != models.TaskScheduled {
		t.Fatal("started early")
	}
	eventually(t, 5*time.Second, "started and notified", func() bool { return len(d.notifies()) == 1 })
	var started time.Time
	s.app.DB.Pool.QueryRow(context.Background(), `SELECT started_at FROM tasks WHERE id = $1`, task.ID).Scan(&started)
	if started.Before(at) || started.Sub(at) > 2500*time.Millisecond {
		t.Fatalf("started at %v, scheduled %v", started, at)
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
