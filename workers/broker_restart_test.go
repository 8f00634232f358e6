package workers_test

import (
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
	eventually(t, 30*time.Second, "every device notified", func() bool { return notes.Distinct("SENT") == 200 })
	// the bridge answers again after the restart
	d := newRawDeviceOn(t, broker.URL(), s.pk, "d7")
	if r := d.request("get", map[string]string{"taskId": "$list"}); r.Code != 200 {
		t.Fatalf("after restart: %s", r.raw)
	}
}
