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
	time.Sleep(2 * time.Second)
	broker.Start()
	eventually(t, 60*time.Second, "all sent", func() bool { return s.stats(task.ID).Sent == 200 })
	time.Sleep(time.Second)
	// A notify published while a device was offline (its session died with
	// the broker) is not queued for it; such a device finds its sub-task
	// with $list when it is back, as devices do after a reconnect.
	rows, err := s.app.DB.Pool.Query(context.Background(), `SELECT id, device_name FROM subtasks WHERE task_id = $1`, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	missed := 0
	for rows.Next() {
		var id, dn string
		rows.Scan(&id, &dn)
		if notes.Has(id, "SENT") {
			continue
		}
		missed++
		d := newRawDeviceOn(t, broker.URL(), s.pk, dn)
		if r := d.request("get", map[string]string{"taskId": "$list"}); !strings.Contains(r.raw, `"taskId":"`+id+`","status":"SENT"`) {
			t.Fatalf("%s missed its notify and its $list is %s", dn, r.raw)
		}
	}
	rows.Close()
	t.Logf("%d of 200 devices were offline when their notify went out", missed)
	if missed > 100 {
		t.Fatalf("%d notifies missed", missed)
	}
}
