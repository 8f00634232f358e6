package workers_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
)

// A cancel while the broker stalls (SIGSTOP): the sub-tasks are cancelled
// and committed without waiting for the broker, no sub-task row stays
// locked while the notifies wait, updates for the task's sub-tasks are
// applied and answered meanwhile, and once the broker goes on every device
// that had been sent the task hears it was cancelled.
func TestCancelDuringBrokerStall(t *testing.T) {
	t.Parallel()
	b := testenv.NewBroker(t)
	s := newStackOn(t, b.URL())
	ctx := context.Background()
	const n = 200
	refs := s.devices(n)
	rate := models.MaxRolloutPerMin
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	dev := newRawDeviceOn(t, b.URL(), s.pk, "d1")
	eventually(t, 15*time.Second, "all sent", func() bool { return s.stats(task.ID).Sent == n })
	var sub models.ID
	var deviceID models.ID
	if err := s.app.DB.Pool.QueryRow(ctx, `SELECT id, device_id FROM subtasks WHERE task_id = $1 AND device_name = 'd1'`, task.ID).Scan(&sub, &deviceID); err != nil {
		t.Fatal(err)
	}

	b.Pause()
	paused := time.Now()
	if _, err := s.app.Tasks.CancelTask(ctx, task.ID); err != nil {
		b.Resume()
		t.Fatal(err)
	}
	stalled := func(what string, cond func() error) {
		t.Helper()
		if err := cond(); err != nil {
			b.Resume()
			t.Fatalf("%s while the broker stalls: %v", what, err)
		}
	}
	stalled("cancel committed", func() error {
		deadline := time.Now().Add(10 * time.Second)
		for s.stats(task.ID).Cancelled != n {
			if time.Now().After(deadline) {
				return fmt.Errorf("%d of %d cancelled", s.stats(task.ID).Cancelled, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})
	for time.Since(paused) < 4*time.Second {
		stalled("every sub-task row free", func() error {
			return pgx.BeginFunc(ctx, s.app.DB.Pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `SELECT id FROM subtasks WHERE task_id = $1 FOR UPDATE NOWAIT`, task.ID)
				return err
			})
		})
		stalled("an update applied and answered", func() error {
			uctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			res, err := s.app.Tasks.ApplyUpdates(uctx, []models.DeviceUpdate{{DeviceID: deviceID, TaskID: sub.String(), Status: models.SubSucceeded}})
			if err == nil && (res[0].Code != protocol.CodeConflict || res[0].Status != models.SubCancelled) {
				t.Errorf("update of a cancelled sub-task: %+v", res[0])
			}
			return err
		})
		time.Sleep(200 * time.Millisecond)
	}
	b.Resume()

	if r := dev.update(sub.String(), "SUCCEEDED", nil); r.Code != protocol.CodeConflict {
		t.Fatalf("update after the cancel: %s", r.raw)
	}
	eventually(t, 30*time.Second, "the CANCELLED notify", func() bool {
		for _, m := range dev.notifies() {
			if _, nt := notifyTask(t, m); nt.TaskID == sub.String() && nt.Status == string(models.SubCancelled) {
				return true
			}
		}
		return false
	})
}

// A worker that died between the commit of a rollout step and the
// publishing of its notifies: the batch stays in the outbox, and once its
// lease has run out another worker publishes it, with the notify ids
// recorded at the commit, and sends nothing twice.
func TestOutboxPublishedAfterDeath(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := context.Background()
	s.stop() // the "dead" worker below is the test itself
	refs := s.devices(5)
	devs := make([]*rawDevice, len(refs))
	for i, r := range refs {
		devs[i] = newRawDevice(t, s.pk, r.DeviceName)
	}
	rate := 6000
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	step, err := s.app.Tasks.RolloutStep(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if step.Batch == nil || len(step.Batch.Notices) != len(refs) {
		t.Fatalf("step: %+v", step)
	}
	want := map[string]string{} // sub-task id -> notify id
	for _, x := range step.Batch.Notices {
		want[x.SubtaskID.String()] = strconv.FormatInt(x.MessageID, 10)
	}
	// the worker died: nothing was published, and its lease runs out
	if _, err := s.app.DB.Pool.Exec(ctx, `UPDATE notify_batches SET lease_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	s.start()
	for _, d := range devs {
		eventually(t, 15*time.Second, d.dn+"'s notify", func() bool { return len(d.notifies()) > 0 })
		id, nt := notifyTask(t, d.notifies()[0])
		if nt.Status != string(models.SubSent) || want[nt.TaskID] != id {
			t.Fatalf("%s: notify %s for sub-task %s (%s), want id %s", d.dn, id, nt.TaskID, nt.Status, want[nt.TaskID])
		}
	}
	eventually(t, 10*time.Second, "the outbox settled", func() bool {
		var left int
		s.app.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM notify_batches`).Scan(&left)
		return left == 0
	})
	for _, d := range devs {
		if k := len(d.notifies()); k != 1 {
			t.Fatalf("%s got %d notifies", d.dn, k)
		}
	}
	if st := s.stats(task.ID); st.Sent != int64(len(refs)) {
		t.Fatalf("stats %+v", st)
	}
}
