package testenv

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/protocol"
)

// Notifies counts the notifies the devices of one product receive, by
// sub-task id and status. It resubscribes after a reconnect.
type Notifies struct {
	mu         sync.Mutex
	counts     map[string]int // "taskId status" -> times received
	subscribed time.Time      // when the last (re)subscription was acknowledged
}

// SubscribedAt is when the listener's last subscription, after its first
// connect or a reconnect, was acknowledged: every notify published after it
// (while the connection holds) reaches the listener.
func (n *Notifies) SubscribedAt() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.subscribed
}

// ListenNotifies subscribes to every notify of product pk on broker.
func ListenNotifies(t testing.TB, broker, pk string) *Notifies {
	t.Helper()
	n := &Notifies{counts: map[string]int{}}
	filter := "/sys/" + pk + "/+/thing/job/" + protocol.KindNotify
	handler := func(_ mqtt.Client, m mqtt.Message) {
		var msg struct {
			Params struct {
				Task protocol.Task `json:"task"`
			} `json:"params"`
		}
		if json.Unmarshal(m.Payload(), &msg) == nil {
			n.mu.Lock()
			n.counts[msg.Params.Task.TaskID+" "+msg.Params.Task.Status]++
			n.mu.Unlock()
		}
	}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID("notifies-" + pk + "-" + ID()).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).
		SetOnConnectHandler(func(c mqtt.Client) {
			if tok := c.Subscribe(filter, 1, handler); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
				n.mu.Lock()
				n.subscribed = time.Now()
				n.mu.Unlock()
			}
		})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("testenv: notify listener: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return n
}

// Distinct is how many sub-tasks got a notify with status at least once.
func (n *Notifies) Distinct(status string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for key := range n.counts {
		if len(key) > len(status) && key[len(key)-len(status):] == status {
			k++
		}
	}
	return k
}

// Total is how many notifies arrived in all.
func (n *Notifies) Total() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := 0
	for _, c := range n.counts {
		t += c
	}
	return t
}

// MQTTClient is a connected plain client for publishing in tests.
func MQTTClient(t testing.TB, broker string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("test-" + ID()).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("testenv: mqtt client: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// Has reports whether sub-task taskID got a notify with status.
func (n *Notifies) Has(taskID, status string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.counts[taskID+" "+status] > 0
}
