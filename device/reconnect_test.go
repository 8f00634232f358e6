package device_test

import (
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/device"
	"fleettasks/device/internal/peer"
	"fleettasks/protocol"
)

// After Mosquitto kicks the device (another client took its client id
// and, with a clean session, dropped its subscriptions), the client comes
// back, subscribes again and resumes with $list.
func TestClientResubscribesAndResumesAfterReconnect(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	p.Add("d1", peer.Task{ID: "3"})
	resumed := make(chan []protocol.ListItem, 4)
	notified := make(chan device.Notify, 4)
	clientID := "dev-" + p.PK
	connect(t, p, "d1", device.Config{
		ClientID: clientID,
		OnResume: func(items []protocol.ListItem) { resumed <- items },
		OnNotify: func(n device.Notify) { notified <- n },
	})
	waitResume := func(when string) {
		t.Helper()
		select {
		case items := <-resumed:
			if len(items) != 1 || items[0].TaskID != "3" {
				t.Fatalf("%s: OnResume with %+v", when, items)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: OnResume was not called", when)
		}
	}
	waitResume("after connect")

	o := mqtt.NewClientOptions().AddBroker(peer.BrokerURL()).SetClientID(clientID).
		SetCleanSession(true).SetAutoReconnect(false)
	thief := mqtt.NewClient(o)
	if tok := thief.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("second client: %v", tok.Error())
	}
	thief.Disconnect(0)
	waitResume("after reconnect")

	p.Add("d1", peer.Task{ID: "4"})
	p.Notify("d1", "4", "SENT")
	select {
	case n := <-notified:
		if n.Task.TaskID != "4" {
			t.Fatalf("notify %+v", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notify after the reconnect: not subscribed again")
	}
}
