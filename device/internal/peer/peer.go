// Package peer plays the server's side of docs/protocol.md in the device
// client's tests: a raw MQTT client that answers get and update from a
// small in-memory table and publishes notifies, on the real broker.
package peer

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/protocol"
)

// BrokerURL is the broker the tests use: FLEETTASKS_TEST_MQTT_URL, or a
// Mosquitto on the default port (the same as the server's tests).
func BrokerURL() string {
	if u := os.Getenv("FLEETTASKS_TEST_MQTT_URL"); u != "" {
		return u
	}
	return "tcp://127.0.0.1:1883"
}

// Prefix returns a product key unique to this test, e.g. "t3f9a0c1e2".
func Prefix(t testing.TB) string {
	b := make([]byte, 5)
	rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

// Task is a sub-task in the peer's table.
type Task struct {
	ID       string
	Status   string
	Progress *int
	Document json.RawMessage
	File     *protocol.JobFile
	Details  json.RawMessage
}

// Message is a get, update or notify_reply the peer received.
type Message struct {
	DN, Kind string
	Payload  []byte
	ID       string                // request id (get, update)
	Update   protocol.UpdateParams // for an update
}

// Peer is the test's server.
type Peer struct {
	PK string
	t  testing.TB
	mc mqtt.Client

	mu       sync.Mutex
	tasks    map[string][]*Task // by device name, oldest first
	replies  map[string][]byte  // dn/request id → the reply, for retransmissions
	received []Message
	drop     map[string]int // dn → replies still to drop
	notifyID int
}

// New connects a peer for product pk; it listens to get, update and
// notify_reply of every device of pk (not to /#, which would echo its own
// notifies and replies back to it).
func New(t testing.TB, pk string) *Peer {
	t.Helper()
	p := &Peer{PK: pk, t: t, tasks: map[string][]*Task{}, replies: map[string][]byte{}, drop: map[string]int{}, notifyID: 7000}
	o := mqtt.NewClientOptions().AddBroker(BrokerURL()).SetClientID("peer-" + pk).
		SetCleanSession(true).SetOrderMatters(false).SetAutoReconnect(true)
	p.mc = mqtt.NewClient(o)
	if tok := p.mc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("peer: connect: %v", tok.Error())
	}
	filters := map[string]byte{}
	for _, kind := range []string{protocol.KindGet, protocol.KindUpdate, protocol.KindNotifyReply} {
		filters["/sys/"+pk+"/+/thing/job/"+kind] = 1
	}
	if tok := p.mc.SubscribeMultiple(filters, p.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("peer: subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { p.mc.Disconnect(100) })
	return p
}

// Add appends a sub-task of device dn (status SENT unless given).
func (p *Peer) Add(dn string, task Task) {
	if task.Status == "" {
		task.Status = "SENT"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tasks[dn] = append(p.tasks[dn], &task)
}

// SetStatus changes a sub-task's status, as the server would on cancel.
func (p *Peer) SetStatus(dn, id, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.find(dn, id); t != nil {
		t.Status = status
	}
}

// Task returns a copy of a sub-task.
func (p *Peer) Task(dn, id string) Task {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.find(dn, id); t != nil {
		return *t
	}
	return Task{}
}

// DropReplies makes the peer lose its next n replies to dn (it still
// records them, so a retransmission gets the same answer).
func (p *Peer) DropReplies(dn string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop[dn] += n
}

// Notify publishes a notify about sub-task id of dn with status (SENT,
// CANCELLED, REMOVED) and returns the notify id. CANCELLED and REMOVED
// also set the table's status.
func (p *Peer) Notify(dn, id, status string) string {
	nid, tok := p.publishNotify(dn, id, status)
	p.wait(tok, dn, id)
	return nid
}

// NotifySent publishes a SENT notify for each device → sub-task pair and
// then waits for the broker to take them all, which keeps a long run from
// paying a round trip (and Mosquitto's Nagle delay) per message.
func (p *Peer) NotifySent(pairs [][2]string) {
	toks := make([]mqtt.Token, len(pairs))
	for i, dt := range pairs {
		_, toks[i] = p.publishNotify(dt[0], dt[1], "SENT")
	}
	for i, tok := range toks {
		p.wait(tok, pairs[i][0], pairs[i][1])
	}
}

// Publish sends payload on dn's kind topic as it is (QoS 1).
func (p *Peer) Publish(dn, kind string, payload []byte) {
	p.wait(p.mc.Publish(protocol.Topic(p.PK, dn, kind), 1, false, payload), dn, kind)
}

func (p *Peer) publishNotify(dn, id, status string) (string, mqtt.Token) {
	p.mu.Lock()
	p.notifyID++
	nid := strconv.Itoa(p.notifyID)
	t := p.find(dn, id)
	task := protocol.Task{TaskID: id, Status: status, JobDocument: protocol.EmptyDocument, JobFile: protocol.Empty}
	if status == "SENT" && t != nil {
		task = wireTask(t)
		task.Status = status
	} else if t != nil {
		t.Status = status
	}
	p.mu.Unlock()
	msg := protocol.Marshal(protocol.Notify{ID: nid, Version: protocol.Version, Params: protocol.NotifyParams{Task: task}})
	return nid, p.mc.Publish(protocol.Topic(p.PK, dn, protocol.KindNotify), 1, false, msg)
}

func (p *Peer) wait(tok mqtt.Token, dn, id string) {
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		p.t.Errorf("peer: notify %s/%s: %v", dn, id, tok.Error())
	}
}

// Received returns what device dn sent of kind ("" for any device).
func (p *Peer) Received(dn, kind string) []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Message
	for _, m := range p.received {
		if (dn == "" || m.DN == dn) && m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// Updates returns dn's updates, one per request id (retransmissions
// left out), in arrival order.
func (p *Peer) Updates(dn string) []protocol.UpdateParams {
	seen := map[string]bool{}
	var out []protocol.UpdateParams
	for _, m := range p.Received(dn, protocol.KindUpdate) {
		if !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m.Update)
		}
	}
	return out
}

func (p *Peer) find(dn, id string) *Task {
	for _, t := range p.tasks[dn] {
		if t.ID == id {
			return t
		}
	}
	return nil
}

func wireTask(t *Task) protocol.Task {
	w := protocol.Task{TaskID: t.ID, Status: t.Status, Progress: t.Progress, JobDocument: protocol.UserJSON(t.Document)}
	if w.JobDocument == nil {
		w.JobDocument = protocol.EmptyDocument
	}
	if t.File != nil {
		w.JobFile = protocol.Marshal(t.File)
	}
	return w
}

// Eventually fails t unless cond holds within timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
