package sim_test

import (
	"context"
	"testing"
	"time"

	"fleettasks/device/internal/peer"
	"fleettasks/device/sim"
)

// Devices given their secrets connect alone and sign in; the others share
// the fleet's connection; both kinds work their sub-tasks.
func TestSimSignedDevices(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	p.Add("d1", peer.Task{ID: "1"})
	p.Add("d2", peer.Task{ID: "2"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := sim.Start(ctx, sim.Config{BrokerURL: peer.BrokerURL(), ProductKey: p.PK, Devices: 2,
		Secrets: map[string]string{"d1": "kT3vQ9xLm2Pz8RwB4nYc6HdJ0sFgA1eU"}, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	waitTrace(t, p, "d1", `1:IN_PROGRESS/0 1:IN_PROGRESS/50 1:SUCCEEDED/100{"result":"ok"}`)
	waitTrace(t, p, "d2", `2:IN_PROGRESS/0 2:IN_PROGRESS/50 2:SUCCEEDED/100{"result":"ok"}`)

	// every device signed: no shared connection at all
	all, err := sim.Start(ctx, sim.Config{BrokerURL: peer.BrokerURL(), ProductKey: p.PK, Devices: 1, Prefix: "s",
		Secrets: map[string]string{"s1": "kT3vQ9xLm2Pz8RwB4nYc6HdJ0sFgA1eU"}, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.Add("s1", peer.Task{ID: "3"})
	p.Notify("s1", "3", "SENT")
	waitTrace(t, p, "s1", `3:IN_PROGRESS/0 3:IN_PROGRESS/50 3:SUCCEEDED/100{"result":"ok"}`)
	all.Close()
}
