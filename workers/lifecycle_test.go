package workers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fleettasks/internal/app"
	"fleettasks/models"
	"fleettasks/protocol"
)

// startAll creates a task for n devices and waits until each has its notify.
func startAll(t *testing.T, s *stack, n int, in models.TaskInput) (*models.Task, []*rawDevice, []string) {
	t.Helper()
	refs := s.devices(n)
	devs := make([]*rawDevice, n)
	for i, r := range refs {
		devs[i] = newRawDevice(t, s.pk, r.DeviceName)
	}
	in.Target = models.TargetInput{Type: "DEVICE_LIST", Devices: refs}
	task := s.createTask(in)
	eventually(t, 10*time.Second, "all notified", func() bool {
		for _, d := range devs {
			if len(d.notifies()) == 0 {
				return false
			}
		}
		return true
	})
	ids := make([]string, n)
	for i, d := range devs {
		_, nt := notifyTask(t, d.notifies()[0])
		ids[i] = nt.TaskID
	}
	return task, devs, ids
}

// The in-progress timeout counts from the first IN_PROGRESS; the sweeper
// times out the sub-task within seconds, and a late report gets 409.
func TestInProgressTimeoutShortUnit(t *testing.T) {
	t.Parallel()
	s := newStackWith(t, app.WithTimeoutUnit(2*time.Second)) // "1 minute" lasts 2 s here
	one := 1
	task, devs, ids := startAll(t, s, 2, models.TaskInput{InProgressTimeoutMinutes: &one})
	// SENT but not started: no timeout yet, even once the timeout has
	// passed and the sweeper has looked
	var sentAt time.Time
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT max(sent_at) FROM subtasks WHERE task_id = $1`, task.ID).Scan(&sentAt); err != nil {
		t.Fatal(err)
	}
	s.waitSweeps(sentAt.Add(2*time.Second), 15*time.Second)
	if st := s.stats(task.ID); st.TimedOut != 0 {
		t.Fatalf("timed out before starting: %+v", st)
	}
	start := time.Now()
	devs[0].update(ids[0], "IN_PROGRESS", nil)
	devs[1].update(ids[1], "IN_PROGRESS", nil)
	// a report that comes a while after the start; only elapsed time makes
	// it later than the start
	time.Sleep(time.Second)
	devs[1].update(ids[1], "IN_PROGRESS", map[string]any{"progress": 10}) // a report does not restart the timer
	devs[1].update(ids[1], "SUCCEEDED", nil)
	eventually(t, 6*time.Second, "timed out", func() bool { return s.stats(task.ID).TimedOut == 1 })
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("timed out after %v", took)
	}
	if r := devs[0].update(ids[0], "SUCCEEDED", nil); r.Code != 409 || !strings.Contains(r.raw, `"status":"TIMED_OUT"`) || !strings.Contains(r.Message, "ceased") {
		t.Fatalf("late SUCCEEDED: %s", r.raw)
	}
	eventually(t, 5*time.Second, "completed", func() bool { return s.taskStatus(task.ID) == models.TaskCompleted })
}

// One real one-minute timeout.
func TestInProgressTimeoutOneMinute(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	one := 1
	task, devs, ids := startAll(t, s, 1, models.TaskInput{InProgressTimeoutMinutes: &one})
	devs[0].update(ids[0], "IN_PROGRESS", nil)
	start := time.Now()
	eventually(t, 75*time.Second, "timed out", func() bool { return s.stats(task.ID).TimedOut == 1 })
	took := time.Since(start)
	t.Logf("timed out %v after IN_PROGRESS", took)
	if took < 59*time.Second || took > 65*time.Second {
		t.Fatalf("timed out after %v, want about a minute", took)
	}
}

// The 7-day rule: a running task past its window becomes TIMED_OUT and so do
// its unfinished sub-tasks (the finished ones keep their status).
func TestSevenDayExpiry(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	task, devs, ids := startAll(t, s, 3, models.TaskInput{})
	devs[0].update(ids[0], "SUCCEEDED", nil)
	devs[1].update(ids[1], "IN_PROGRESS", nil)
	late := models.TaskExpiry + time.Minute
	s.clock.Add(late)
	eventually(t, 5*time.Second, "task timed out", func() bool { return s.taskStatus(task.ID) == models.TaskTimedOut })
	st := s.stats(task.ID)
	if st.Succeeded != 1 || st.TimedOut != 2 {
		t.Fatalf("stats %+v", st)
	}
	// a timed-out task can be rerun: its window restarts
	s.clock.Add(-late)
	if _, err := s.app.Tasks.RerunTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "re-notified", func() bool { return len(devs[1].notifies()) == 2 && len(devs[2].notifies()) == 2 })
	if len(devs[0].notifies()) != 1 {
		t.Fatal("a succeeded device was sent the task again")
	}
}

// Cancel tells exactly the devices that had been sent their sub-task.
func TestCancelNotifies(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(3)
	devs := []*rawDevice{newRawDevice(t, s.pk, "d1"), newRawDevice(t, s.pk, "d2"), newRawDevice(t, s.pk, "d3")}
	rate := 1 // d1 is sent at once, d2 and d3 stay QUEUED
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	eventually(t, 5*time.Second, "d1 notified", func() bool { return len(devs[0].notifies()) == 1 })
	_, nt := notifyTask(t, devs[0].notifies()[0])
	devs[0].update(nt.TaskID, "IN_PROGRESS", nil)
	// QUEUED sub-tasks are invisible to their devices
	if r := devs[1].request(protocol.KindGet, map[string]string{"taskId": "$list"}); !strings.Contains(r.raw, `"task":[]`) {
		t.Fatalf("QUEUED visible: %s", r.raw)
	}
	if _, err := s.app.Tasks.CancelTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "all cancelled", func() bool { return s.stats(task.ID).Cancelled == 3 })
	eventually(t, 5*time.Second, "d1 told", func() bool { return len(devs[0].notifies()) == 2 })
	_, c := notifyTask(t, devs[0].notifies()[1])
	if c.Status != "CANCELLED" || c.TaskID != nt.TaskID || string(c.JobDocument) != "{}" || string(c.JobFile) != "{}" {
		t.Fatalf("cancel notify %+v", c)
	}
	// Any cancel notify went out in the cancel's outbox batch, before it was
	// settled (and deleted); a reply the server publishes to d2 and d3
	// after that reaches them behind it (the broker keeps each
	// subscriber's messages in order).
	eventually(t, 10*time.Second, "the cancel's outbox batch settled", func() bool {
		var left int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM notify_batches WHERE task_id = $1`, task.ID).Scan(&left)
		return left == 0
	})
	for _, d := range devs[1:] {
		if r := d.request(protocol.KindGet, map[string]string{"taskId": "$list"}); !strings.Contains(r.raw, `"task":[]`) {
			t.Fatalf("a cancelled sub-task listed: %s", r.raw)
		}
	}
	if len(devs[1].notifies())+len(devs[2].notifies()) != 0 {
		t.Fatal("devices that never got the task were told it was cancelled")
	}
	if r := devs[0].update(nt.TaskID, "SUCCEEDED", nil); r.Code != 409 || !strings.Contains(r.raw, "CANCELLED") {
		t.Fatalf("update after cancel: %s", r.raw)
	}
	if _, err := s.app.Tasks.CancelTask(context.Background(), task.ID); err == nil {
		t.Fatal("cancelled twice")
	}
}

// Rerun re-queues FAILED and TIMED_OUT sub-tasks only, with attempt 2.
func TestRerun(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	task, devs, ids := startAll(t, s, 3, models.TaskInput{})
	if _, err := s.app.Tasks.RerunTask(context.Background(), task.ID); err == nil || !strings.Contains(err.Error(), "rerun is for completed") {
		t.Fatalf("rerun of a running task: %v", err)
	}
	devs[0].update(ids[0], "SUCCEEDED", nil)
	devs[1].update(ids[1], "FAILED", map[string]any{"statusDetails": map[string]string{"reason": "disk full"}})
	devs[2].update(ids[2], "REJECTED", nil)
	eventually(t, 5*time.Second, "completed", func() bool { return s.taskStatus(task.ID) == models.TaskCompleted })
	if _, err := s.app.Tasks.RerunTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "failed device re-notified", func() bool { return len(devs[1].notifies()) == 2 })
	_, again := notifyTask(t, devs[1].notifies()[1])
	if again.TaskID != ids[1] || again.Status != "SENT" {
		t.Fatalf("rerun notify %+v", again)
	}
	var attempt int
	s.app.DB.Pool.QueryRow(context.Background(), `SELECT attempt FROM subtasks WHERE id = $1`, ids[1]).Scan(&attempt)
	if attempt != 2 || len(devs[0].notifies()) != 1 || len(devs[2].notifies()) != 1 {
		t.Fatalf("attempt %d; others notified %d, %d", attempt, len(devs[0].notifies()), len(devs[2].notifies()))
	}
	devs[1].update(ids[1], "SUCCEEDED", nil)
	eventually(t, 5*time.Second, "completed again", func() bool { return s.taskStatus(task.ID) == models.TaskCompleted })
	if _, err := s.app.Tasks.RerunTask(context.Background(), task.ID); err == nil || !strings.Contains(err.Error(), "no failed or timed-out") {
		t.Fatalf("rerun with nothing to rerun: %v", err)
	}
}

// Delete tells devices with unfinished sub-tasks (REMOVED) and deletes the
// task's data.
func TestDeleteNotifiesAndPurges(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	task, devs, ids := startAll(t, s, 3, models.TaskInput{})
	devs[0].update(ids[0], "SUCCEEDED", nil)
	devs[1].update(ids[1], "IN_PROGRESS", nil)
	if err := s.app.Tasks.DeleteTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.app.Tasks.GetTask(context.Background(), task.ID); !models.IsNotFound(err) {
		t.Fatalf("deleted task still readable: %v", err)
	}
	eventually(t, 10*time.Second, "d2 and d3 told", func() bool { return len(devs[1].notifies()) == 2 && len(devs[2].notifies()) == 2 })
	for _, d := range devs[1:] {
		if _, n := notifyTask(t, d.notifies()[1]); n.Status != "REMOVED" {
			t.Fatalf("delete notify %+v", n)
		}
	}
	eventually(t, 10*time.Second, "data deleted", func() bool {
		var n int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM subtasks WHERE task_id = $1) + (SELECT count(*) FROM tasks WHERE id = $1)
			+ (SELECT count(*) FROM task_counters WHERE task_id = $1)`, task.ID).Scan(&n)
		return n == 0
	})
	if len(devs[0].notifies()) != 1 {
		t.Fatal("a finished device was told of the delete")
	}
	if r := devs[1].request(protocol.KindGet, map[string]string{"taskId": ids[1]}); r.Code != 404 {
		t.Fatalf("deleted sub-task: %s", r.raw)
	}
}
