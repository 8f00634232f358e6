package device_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/device"
	"fleettasks/device/internal/peer"
	"fleettasks/protocol"
)

func newFleet(t *testing.T, p *peer.Peer, conns int) *device.Fleet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := device.NewFleet(ctx, device.FleetConfig{BrokerURL: peer.BrokerURL(), ProductKey: p.PK, Conns: conns, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func TestFleetTwoThousandDevicesOnOneConnection(t *testing.T) {
	t.Parallel()
	const n = 2000
	p := peer.New(t, peer.Prefix(t))
	f := newFleet(t, p, 1)
	var mu sync.Mutex
	got := map[string][]string{} // device → task ids notified
	for i := 1; i <= n; i++ {
		dn := fmt.Sprintf("d%d", i)
		_, err := f.Add(dn, device.Handlers{OnNotify: func(nt device.Notify) {
			mu.Lock()
			got[dn] = append(got[dn], nt.Task.TaskID)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Add("d1", device.Handlers{}); err == nil {
		t.Fatal("a device was added twice")
	}
	for i := 0; i < n; i += 100 { // in batches: well within the broker's queue per client
		var batch [][2]string
		for j := i + 1; j <= i+100; j++ {
			batch = append(batch, [2]string{fmt.Sprintf("d%d", j), fmt.Sprintf("t%d", j)})
		}
		p.NotifySent(batch)
	}
	peer.Eventually(t, 30*time.Second, "every device notified and acknowledging", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n && len(p.Received("", protocol.KindNotifyReply)) == n
	})
	for i := 1; i <= n; i++ {
		if ids := got[fmt.Sprintf("d%d", i)]; len(ids) != 1 || ids[0] != fmt.Sprintf("t%d", i) {
			t.Fatalf("d%d got %v", i, ids)
		}
	}
}

func TestFleetRoutesRepliesAcrossSharedConnections(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	f := newFleet(t, p, 3)
	var wg sync.WaitGroup
	resumed := make(chan string, 30)
	for i := 1; i <= 30; i++ {
		dn := fmt.Sprintf("d%d", i)
		p.Add(dn, peer.Task{ID: "task-of-" + dn})
		c, err := f.Add(dn, device.Handlers{OnResume: func(items []protocol.ListItem) {
			if len(items) == 1 && items[0].TaskID == "task-of-"+dn {
				resumed <- dn
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			job, err := c.Next(context.Background())
			if err != nil || job.TaskID != "task-of-"+dn {
				t.Errorf("%s: Next: %+v, %v", dn, job, err)
				return
			}
			if s, err := c.Update(context.Background(), job.TaskID, "IN_PROGRESS"); err != nil || s != "IN_PROGRESS" {
				t.Errorf("%s: Update: %q, %v", dn, s, err)
			}
		}()
	}
	wg.Wait()
	for range 30 {
		select {
		case <-resumed:
		case <-time.After(10 * time.Second):
			t.Fatal("not every device resumed with its own $list")
		}
	}
	if got := f.Len(); got != 30 {
		t.Fatalf("Len %d", got)
	}
}

func TestFleetResumesEveryDeviceAfterReconnect(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prefix := "fleet-" + p.PK
	f, err := device.NewFleet(ctx, device.FleetConfig{BrokerURL: peer.BrokerURL(), ProductKey: p.PK, ClientIDPrefix: prefix, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resumed := make(chan string, 10)
	for _, dn := range []string{"d1", "d2"} {
		p.Add(dn, peer.Task{ID: "t-" + dn})
		if _, err := f.Add(dn, device.Handlers{OnResume: func([]protocol.ListItem) { resumed <- dn }}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(when string) {
		t.Helper()
		for range 2 {
			select {
			case <-resumed:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: not every device resumed", when)
			}
		}
	}
	wait("after Add")
	thief := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(peer.BrokerURL()).SetClientID(prefix + "-0").SetAutoReconnect(false))
	if tok := thief.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("second client: %v", tok.Error())
	}
	thief.Disconnect(0)
	wait("after reconnect")
}
