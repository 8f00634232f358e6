package workers_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"fleettasks/device/sim"
	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// simulated registers devices <prefix>1..<prefix>n of the stack's product
// and starts them with behaviour b; it returns their refs in order.
func (s *stack) simulated(prefix string, n int, b sim.Behaviour) []models.DeviceRef {
	s.t.Helper()
	testenv.SeedDevices(s.t, s.app.DB, s.pk, 0) // the product
	names := make([]string, n)
	refs := make([]models.DeviceRef, n)
	for i := range names {
		names[i] = sim.DeviceName(prefix, i+1)
		refs[i] = models.DeviceRef{ProductKey: s.pk, DeviceName: names[i]}
	}
	if _, err := s.app.Registry.CreateDevices(context.Background(), s.pk, names); err != nil {
		s.t.Fatal(err)
	}
	fleet, err := sim.Start(context.Background(), sim.Config{BrokerURL: s.broker, ProductKey: s.pk, Devices: n, Prefix: prefix, Behaviour: b})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { fleet.Close() })
	return refs
}

func (s *stack) policyTask(rate int, policy string, devices ...[]models.DeviceRef) *models.Task {
	s.t.Helper()
	var p models.Policy
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		s.t.Fatal(err)
	}
	var all []models.DeviceRef
	for _, d := range devices {
		all = append(all, d...)
	}
	return s.createTask(models.TaskInput{Target: models.TargetInput{Type: models.TargetDeviceList, Devices: all},
		RolloutPerMinute: &rate, Policy: &p})
}

func (s *stack) task(id models.ID) *models.Task {
	s.t.Helper()
	task, err := s.app.Tasks.GetTask(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return task
}

// byWave counts a task's sub-tasks by wave and status.
func (s *stack) byWave(id models.ID) map[int]map[string]int {
	s.t.Helper()
	rows, err := s.app.DB.Pool.Query(context.Background(), `SELECT wave, status, count(*) FROM subtasks WHERE task_id = $1 GROUP BY 1, 2`, id)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	m := map[int]map[string]int{}
	for rows.Next() {
		var w, n int
		var st string
		rows.Scan(&w, &st, &n)
		if m[w] == nil {
			m[w] = map[string]int{}
		}
		m[w][st] = n
	}
	return m
}

func (s *stack) sent(id models.ID) int {
	s.t.Helper()
	var n int
	s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM subtasks WHERE task_id = $1 AND sent_at IS NOT NULL`, id).Scan(&n)
	return n
}

// A three-wave canary whose waves all pass their gates: every device is
// in the wave its position gives, no device of a wave is sent before the
// wave before it passed, and the task completes.
func TestCanaryWavesOpen(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	devices := s.simulated("ok", 20, sim.Succeed)
	task := s.policyTask(6000, `{"waves":[{"count":2,"successGate":{"percent":100,"minFinished":2}},
		{"percent":30,"successGate":{"percent":90,"minFinished":6}},{}]}`, devices)
	eventually(t, 30*time.Second, "the task completes", func() bool { return s.taskStatus(task.ID) == models.TaskCompleted })
	if got := s.byWave(task.ID); got[1]["SUCCEEDED"] != 2 || got[2]["SUCCEEDED"] != 6 || got[3]["SUCCEEDED"] != 12 {
		t.Errorf("sub-tasks by wave: %v", got)
	}
	// wave k+1's first send comes after wave k's gate was reached
	for w := 1; w <= 2; w++ {
		var gateAt, firstSent time.Time
		if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT
			(SELECT max(finished_at) FROM subtasks WHERE task_id = $1 AND wave = $2),
			(SELECT min(sent_at) FROM subtasks WHERE task_id = $1 AND wave = $2 + 1)`, task.ID, w).Scan(&gateAt, &firstSent); err != nil {
			t.Fatal(err)
		}
		if firstSent.Before(gateAt) {
			t.Errorf("wave %d sent at %v, before wave %d finished at %v", w+1, firstSent, w, gateAt)
		}
	}
	if r := s.task(task.ID).Rollout; r == nil || r.State != models.RolloutDone || r.Wave != 3 || len(r.Waves) != 3 || r.Waves[1].Succeeded != 6 {
		t.Errorf("rollout: %+v", r)
	}
}

// A canary whose first wave fails its gate: the later waves never open,
// the task says why; an operator's approval opens the next wave anyway.
func TestCanaryGateHolds(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	bad := s.simulated("bad", 2, sim.Fail)
	good := s.simulated("ok", 6, sim.Succeed)
	task := s.policyTask(6000, `{"waves":[{"count":2,"successGate":{"percent":50,"minFinished":2}},{}]}`, bad, good)
	eventually(t, 20*time.Second, "the canary fails", func() bool { return s.byWave(task.ID)[1]["FAILED"] == 2 })
	time.Sleep(3 * time.Second) // three rollout steps at least
	if got := s.byWave(task.ID); got[2]["QUEUED"] != 6 {
		t.Fatalf("wave 2 after a failed canary: %v", got)
	}
	r := s.task(task.ID).Rollout
	if r.State != models.RolloutWaitingGate || r.Wave != 1 || r.Waves[1].State != models.RolloutWaitingGate || r.Waves[0].Failed != 2 {
		t.Fatalf("rollout after a failed canary: %+v", r)
	}
	if _, err := s.app.Tasks.ApproveWave(context.Background(), task.ID, 2); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the approved wave completes the task", func() bool { return s.taskStatus(task.ID) == models.TaskCompleted })
	if got := s.byWave(task.ID); got[2]["SUCCEEDED"] != 6 {
		t.Errorf("wave 2 after its approval: %v", got)
	}
}

// Abort criteria trip on the first count over their threshold, before one
// more device is sent: a PAUSE criterion pauses (and a resume goes on,
// the criterion no longer judged on the same figures); a CANCEL criterion
// cancels the task and its unsent sub-tasks.
func TestAbortCriteria(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	// one device every 2 s: each result is in before the next send
	first := s.simulated("a", 3, sim.Succeed)
	bad := s.simulated("b", 2, sim.Fail)
	rest := s.simulated("c", 3, sim.Succeed)
	criteria := func(action string) string {
		return `{"abort":[{"failureType":"FAILED","thresholdPercent":25,"minFinished":4,"action":"` + action + `"}]}`
	}
	paused := s.policyTask(30, criteria("PAUSE"), first, bad, rest)
	cancelled := s.policyTask(30, criteria("CANCEL"), first, bad, rest)

	// a1 a2 a3 b1: 1 of 4 failed, 25 %, not over; b2: 2 of 5, 40 %: trips
	eventually(t, 40*time.Second, "the PAUSE criterion trips", func() bool { return s.task(paused.ID).Rollout.State == models.RolloutPaused })
	eventually(t, 10*time.Second, "the CANCEL criterion trips", func() bool { return s.taskStatus(cancelled.ID) == models.TaskCancelled })
	time.Sleep(3 * time.Second)
	for _, id := range []models.ID{paused.ID, cancelled.ID} {
		tr := s.task(id).Rollout.Tripped
		if n := s.sent(id); n != 5 || tr == nil || tr.Finished != 5 || tr.Failures != 2 || tr.Scope != "task" {
			t.Errorf("task %s: %d sent, tripped %+v; want 5 sent, 2 of 5", id, n, tr)
		}
	}
	eventually(t, 10*time.Second, "the cancelled task's unsent sub-tasks are cancelled", func() bool {
		return s.byWave(cancelled.ID)[1]["CANCELLED"] == 3
	})

	// resumed, the paused task goes on to the end
	if _, err := s.app.Tasks.ResumeTask(context.Background(), paused.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the resumed task completes", func() bool { return s.taskStatus(paused.ID) == models.TaskCompleted })
	if got := s.byWave(paused.ID)[1]; got["SUCCEEDED"] != 6 || got["FAILED"] != 2 {
		t.Errorf("after the resume: %v", got)
	}
}

// An operator's pause stops the sends at once (devices at work go on); a
// resume continues where it stopped.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	devices := s.simulated("d", 6, sim.Succeed)
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices},
		RolloutPerMinute: ptr(60)})
	eventually(t, 10*time.Second, "two sent", func() bool { return s.sent(task.ID) >= 2 })
	if _, err := s.app.Tasks.PauseTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	at := s.sent(task.ID)
	if _, err := s.app.Tasks.PauseTask(context.Background(), task.ID); err == nil {
		t.Error("a second pause was accepted")
	}
	time.Sleep(3 * time.Second)
	if n := s.sent(task.ID); n != at || s.task(task.ID).Rollout.State != models.RolloutPaused {
		t.Fatalf("paused at %d sent, %d after 3 s (%s)", at, n, s.task(task.ID).Rollout.State)
	}
	if _, err := s.app.Tasks.ResumeTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the resumed task completes", func() bool { return s.taskStatus(task.ID) == models.TaskCompleted })
}

func ptr[T any](v T) *T { return &v }

// An end time stops the rollout: STOP_ROLLOUT cancels the sub-tasks not
// yet sent (the task then completes), CANCEL cancels the task.
func TestEndTime(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	devices := s.simulated("d", 8, sim.Succeed)
	end := time.Now().Add(5 * time.Second).UTC().Format(time.RFC3339Nano)
	stop := s.policyTask(30, `{"endAt":"`+end+`"}`, devices)
	cancel := s.policyTask(30, `{"endAt":"`+end+`","endBehavior":"CANCEL"}`, devices)
	eventually(t, 20*time.Second, "STOP_ROLLOUT: the task completes with its unsent sub-tasks cancelled", func() bool {
		return s.taskStatus(stop.ID) == models.TaskCompleted
	})
	got := s.byWave(stop.ID)[1]
	if got["SUCCEEDED"] < 2 || got["SUCCEEDED"] > 4 || got["SUCCEEDED"]+got["CANCELLED"] != 8 {
		t.Errorf("STOP_ROLLOUT at 30 a minute after 5 s: %v", got)
	}
	var msg string
	s.app.DB.Pool.QueryRow(context.Background(), `SELECT message FROM subtasks WHERE task_id = $1 AND status = 'CANCELLED' LIMIT 1`, stop.ID).Scan(&msg)
	if msg != "not sent: the task's end time passed first" {
		t.Errorf("a cancelled sub-task says %q", msg)
	}
	eventually(t, 10*time.Second, "CANCEL: the task is cancelled", func() bool { return s.taskStatus(cancel.ID) == models.TaskCancelled })
	if r := s.task(stop.ID).Rollout; r.State != models.RolloutDone {
		t.Errorf("rollout after the end time: %+v", r)
	}
}

// Automatic retries: a failed sub-task is queued again (same id, attempt
// + 1) once its backoff is over, doubling each time, until the attempts
// run out; the task does not complete while a retry is due, and the
// sub-task's history keeps each attempt with its result.
func TestRetries(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	devices := s.simulated("f", 1, sim.Fail)
	task := s.policyTask(600, `{"retry":[{"failureType":"FAILED","maxAttempts":2,"backoffMinutes":1,"backoffDoubling":true}]}`, devices)
	attempt := func() (int, string) {
		var n int
		var st string
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT attempt, status FROM subtasks WHERE task_id = $1`, task.ID).Scan(&n, &st)
		return n, st
	}
	waitFailed := func(n int) {
		eventually(t, 15*time.Second, "attempt "+strconv.Itoa(n)+" fails", func() bool {
			a, st := attempt()
			return a == n && st == "FAILED"
		})
	}
	waitFailed(1)
	time.Sleep(2500 * time.Millisecond) // the backoff (1 min) is not over: no retry, no completion
	if a, st := attempt(); a != 1 || st != "FAILED" || s.taskStatus(task.ID) != models.TaskInProgress {
		t.Fatalf("within the backoff: attempt %d %s, task %s", a, st, s.taskStatus(task.ID))
	}
	s.clock.Add(61 * time.Second)
	waitFailed(2)
	s.clock.Add(61 * time.Second) // the second backoff is 2 min
	time.Sleep(2500 * time.Millisecond)
	if a, _ := attempt(); a != 2 {
		t.Fatalf("within the doubled backoff: attempt %d", a)
	}
	s.clock.Add(60 * time.Second)
	waitFailed(3)
	eventually(t, 10*time.Second, "the task completes once no retry is left", func() bool { return s.taskStatus(task.ID) == models.TaskCompleted })
	var id models.ID
	s.app.DB.Pool.QueryRow(context.Background(), `SELECT id FROM subtasks WHERE task_id = $1`, task.ID).Scan(&id)
	history, err := s.app.Tasks.Attempts(context.Background(), task.ID, id)
	if err != nil || len(history) != 2 || history[0].Attempt != 1 || history[1].Attempt != 2 ||
		history[0].Status != models.SubFailed || history[1].Status != models.SubFailed || history[0].FinishedAt == nil {
		t.Errorf("history: %+v %v", history, err)
	}
}

// Continuous targets: a task for a product or a static group stays open,
// and a device that joins later (registered in the product, added to the
// group) gets the task too, until the task is cancelled.
func TestContinuousTargets(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := context.Background()
	early := s.simulated("e", 2, sim.Succeed)
	g, err := s.app.Registry.CreateGroup(ctx, models.GroupInput{Name: "g-" + s.pk, Kind: "static"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.app.Registry.AddGroupDevices(ctx, g.ID, early[:1]); err != nil {
		t.Fatal(err)
	}
	var p models.Policy
	json.Unmarshal([]byte(`{"continuous":true}`), &p)
	product := s.createTask(models.TaskInput{Target: models.TargetInput{Type: models.TargetProduct, ProductKey: s.pk}, Policy: &p})
	group := s.createTask(models.TaskInput{Target: models.TargetInput{Type: models.TargetGroup, GroupID: g.ID}, Policy: &p})
	if product.ExpiresAt != nil {
		t.Errorf("a continuous task expires at %v", product.ExpiresAt)
	}
	succeeded := func(id models.ID) int { return s.byWave(id)[1]["SUCCEEDED"] }
	eventually(t, 15*time.Second, "the first devices succeed", func() bool { return succeeded(product.ID) == 2 && succeeded(group.ID) == 1 })
	s.waitSweeps(time.Now(), 15*time.Second)
	if s.taskStatus(product.ID) != models.TaskInProgress || s.taskStatus(group.ID) != models.TaskInProgress {
		t.Fatalf("continuous tasks with every sub-task done: %s, %s", s.taskStatus(product.ID), s.taskStatus(group.ID))
	}
	s.simulated("late", 1, sim.Succeed) // registered in the product
	if _, err := s.app.Registry.AddGroupDevices(ctx, g.ID, early[1:]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the devices that joined get the tasks", func() bool { return succeeded(product.ID) == 3 && succeeded(group.ID) == 2 })
	if task := s.task(product.ID); task.Target.DeviceCount != 3 {
		t.Errorf("the product task counts %d devices", task.Target.DeviceCount)
	}
	for _, id := range []models.ID{product.ID, group.ID} {
		if _, err := s.app.Tasks.CancelTask(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	s.simulated("later", 1, sim.Succeed)
	if n := s.byWave(product.ID)[1]; n["SUCCEEDED"] != 3 || len(n) != 1 {
		t.Errorf("a device registered after the cancel: %v", n)
	}
}

// An exponential rate grows step by step: 60 a minute for the first 4
// devices notified, then 120, 240, 480, and the task's 600 at most.
func TestExponentialRate(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	devices := s.simulated("x", 24, sim.Succeed)
	task := s.policyTask(600, `{"exponentialRate":{"baseRatePerMinute":60,"incrementFactor":2,"increaseAfter":{"notified":4}}}`, devices)
	var seen []int
	deadline := time.Now().Add(40 * time.Second)
	for done := false; !done && time.Now().Before(deadline); {
		done = s.sent(task.ID) == 24 // read once more after the last send
		var rate *int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT rollout_rate FROM tasks WHERE id = $1`, task.ID).Scan(&rate)
		if rate != nil && (len(seen) == 0 || seen[len(seen)-1] != *rate) {
			seen = append(seen, *rate)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := []int{60, 120, 240, 480, 600}; !slices.Equal(seen, want) {
		var final *int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT rollout_rate FROM tasks WHERE id = $1`, task.ID).Scan(&final)
		t.Fatalf("rates seen %v, want %v (now %v, %d sent)", seen, want, *final, s.sent(task.ID))
	}
	// each step's devices went at its rate: the first 4 over 3 s or more
	// (one a second), the next 4 in about half that
	var gaps []float64
	rows, _ := s.app.DB.Pool.Query(context.Background(), `SELECT extract(epoch FROM max(sent_at) - min(sent_at))::float8
		FROM (SELECT sent_at, (row_number() OVER (ORDER BY sent_at, id) - 1) / 4 AS step FROM subtasks WHERE task_id = $1) x
		GROUP BY step ORDER BY step`, task.ID)
	for rows.Next() {
		var g float64
		rows.Scan(&g)
		gaps = append(gaps, g)
	}
	rows.Close()
	if len(gaps) < 3 || gaps[0] < 2.9 || gaps[1] >= gaps[0] || gaps[2] >= gaps[1]+0.01 {
		t.Errorf("time to send each step's 4 devices: %v s", gaps)
	}
}

// Maintenance windows: outside them nothing is sent and the task says when
// the next opens; inside, the rollout runs; when the window closes, it
// stops again.
func TestMaintenanceWindow(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	devices := s.simulated("m", 6, sim.Succeed)
	now := s.clock.Now().UTC()
	// a window at 03:00 UTC for an hour: move the clock out of it first
	if now.Hour() == 3 {
		s.clock.Add(2 * time.Hour)
		now = s.clock.Now().UTC()
	}
	task := s.policyTask(60, `{"maintenanceWindows":[{"cron":"0 3 * * *","durationMinutes":60,"timeZone":"UTC"}]}`, devices)
	time.Sleep(2500 * time.Millisecond)
	r := s.task(task.ID).Rollout
	next := time.Date(now.Year(), now.Month(), now.Day(), 3, 0, 0, 0, time.UTC)
	if !next.After(now) {
		next = next.Add(24 * time.Hour)
	}
	if n := s.sent(task.ID); n != 0 || r.State != models.RolloutWaitingWindow || r.NextWindowAt == nil || !r.NextWindowAt.Equal(next) {
		t.Fatalf("outside the window: %d sent, %+v (next window %v, want %v)", n, r, r.NextWindowAt, next)
	}
	s.clock.Add(next.Sub(s.clock.Now()) + 58*time.Minute) // 03:58: two minutes of window left
	eventually(t, 10*time.Second, "sends in the window", func() bool { return s.sent(task.ID) >= 1 })
	s.clock.Add(2 * time.Minute) // 04:00: closed
	time.Sleep(1500 * time.Millisecond)
	at := s.sent(task.ID)
	time.Sleep(2500 * time.Millisecond)
	if n := s.sent(task.ID); n != at || n == 6 || s.task(task.ID).Rollout.State != models.RolloutWaitingWindow {
		t.Errorf("after the window closed: %d sent, then %d (%s)", at, n, s.task(task.ID).Rollout.State)
	}
}
