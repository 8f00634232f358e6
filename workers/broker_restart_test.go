package workers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// The broker restarts mid-rollout (losing every session): the engine
// reconnects, resubscribes, and the rollout finishes with every sub-task
// SENT and notified.
func TestBrokerRestartMidRollout(t *testing.T) {
	t.Parallel()
	broker := testenv.NewBroker(t)
	s := newStackOn(t, broker.URL())
	refs := s.devices(200)
	notes := testenv.ListenNotifies(t, broker.URL(), s.pk)
	rate := 3000 // 50 a second: about 4 s in all
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	eventually(t, 10*time.Second, "rollout under way", func() bool { return s.stats(task.ID).Sent >= 40 })
	broker.Stop()
	// an outage of a second (a fixed wait: its length is the scenario):
	// the engine sees the connection drop at once, and the pacer goes on
	// stepping (about 50 notifies fail and stay in the outbox)
	time.Sleep(time.Second)
	broker.Start()
	startedAt := time.Now()
	eventually(t, 30*time.Second, "the notify listener back", func() bool { return notes.SubscribedAt().After(startedAt) })
	eventually(t, 60*time.Second, "all sent", func() bool { return s.stats(task.ID).Sent == 200 })
	// every notify published (the outbox settled: the broker took each
	// one, those refused during the outage again once their lease ran
	// out), so the listener has had its chance at each
	eventually(t, 60*time.Second, "the outbox settled", func() bool {
		var left int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM notify_batches WHERE task_id = $1`, task.ID).Scan(&left)
		return left == 0
	})
	// A notify published while a device was offline (its session died with
	// the broker) is not queued for it; such a device finds its sub-task
	// with $list when it is back, as devices do after a reconnect.
	// How many that are depends on who reconnects first, the engine or
	// the listener; but a sub-task first sent after the listener was back
	// must have reached it.
	back := notes.SubscribedAt()
	rows, err := s.app.DB.Pool.Query(context.Background(), `SELECT id, device_name, sent_at FROM subtasks WHERE task_id = $1`, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	missed := 0
	for rows.Next() {
		var id, dn string
		var sentAt time.Time
		rows.Scan(&id, &dn, &sentAt)
		if notes.Has(id, "SENT") {
			continue
		}
		if sentAt.After(back) {
			t.Errorf("%s: sent %v after the listener was back, and its notify never came", dn, sentAt.Sub(back))
		}
		missed++
		d := newRawDeviceOn(t, broker.URL(), s.pk, dn)
		if r := d.request("get", map[string]string{"taskId": "$list"}); !strings.Contains(r.raw, `"taskId":"`+id+`","status":"SENT"`) {
			t.Fatalf("%s missed its notify and its $list is %s", dn, r.raw)
		}
	}
	rows.Close()
	t.Logf("%d of 200 devices were offline when their notify went out (the listener was back %v after the broker)", missed, back.Sub(startedAt).Round(time.Millisecond))
}
