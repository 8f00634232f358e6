package device_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"fleettasks/device"
	"fleettasks/device/internal/peer"
	"fleettasks/protocol"
)

// connect connects device dn of p's product with short timeouts.
func connect(t *testing.T, p *peer.Peer, dn string, cfg device.Config) *device.Client {
	t.Helper()
	cfg.BrokerURL, cfg.ProductKey, cfg.DeviceName = peer.BrokerURL(), p.PK, dn
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := device.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestClientNotifyCallsBackAndAcknowledges(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	file := &protocol.JobFile{SignMethod: "Md5", Sign: "00ff", FileURL: "http://h/f?sig=1&e=2"}
	p.Add("d1", peer.Task{ID: "41", Document: json.RawMessage(`{"status":"inside","n":1}`), File: file})
	got := make(chan device.Notify, 4)
	connect(t, p, "d1", device.Config{OnNotify: func(n device.Notify) { got <- n }})

	nid := p.Notify("d1", "41", "SENT")
	var n device.Notify
	select {
	case n = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("OnNotify was not called")
	}
	if n.ID != nid || n.Task.TaskID != "41" || n.Task.Status != "SENT" || string(n.Task.JobDocument) != `{"\u0073tatus":"inside","n":1}` {
		t.Fatalf("notify %+v", n)
	}
	job, err := n.Job()
	if err != nil || job.File == nil || *job.File != *file {
		t.Fatalf("job %+v, %v", job, err)
	}
	peer.Eventually(t, 5*time.Second, "notify_reply", func() bool { return len(p.Received("d1", protocol.KindNotifyReply)) == 1 })
	if ack := string(p.Received("d1", protocol.KindNotifyReply)[0].Payload); ack != `{"id":"`+nid+`","code":200,"data":{}}` {
		t.Fatalf("notify_reply %s", ack)
	}

	p.Notify("d1", "41", "CANCELLED")
	if n := <-got; n.Task.Status != "CANCELLED" || n.Task.TaskID != "41" {
		t.Fatalf("second notify %+v", n)
	}
}

// A redelivered notify (same id, same content) is acknowledged again but
// handed to OnNotify once; a new id for the same task is new.
func TestClientNotifyRedeliveryIsHandedOnOnce(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	var mu sync.Mutex
	var got []string
	connect(t, p, "d1", device.Config{OnNotify: func(n device.Notify) {
		mu.Lock()
		got = append(got, n.ID+":"+n.Task.Status)
		mu.Unlock()
	}})
	notify := func(id, status string) []byte {
		return protocol.Marshal(protocol.Notify{ID: id, Version: protocol.Version,
			Params: protocol.NotifyParams{Task: protocol.Task{TaskID: "8", Status: status, JobDocument: protocol.EmptyDocument}}})
	}
	p.Publish("d1", protocol.KindNotify, notify("100", "SENT"))
	p.Publish("d1", protocol.KindNotify, notify("100", "SENT"))
	p.Publish("d1", protocol.KindNotify, notify("101", "CANCELLED"))
	peer.Eventually(t, 5*time.Second, "three acknowledgements", func() bool { return len(p.Received("d1", protocol.KindNotifyReply)) == 3 })
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, " ") != "100:SENT 101:CANCELLED" {
		t.Fatalf("OnNotify got %v", got)
	}
}

func TestClientListNextGetUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := peer.New(t, peer.Prefix(t))
	p.Add("d1", peer.Task{ID: "11", Document: json.RawMessage(`{"a":1}`),
		File: &protocol.JobFile{SignMethod: "Sha256", Sign: "ab", FileURL: "http://h/f"}})
	p.Add("d1", peer.Task{ID: "12"})
	p.Add("d1", peer.Task{ID: "13", Status: "SUCCEEDED"})
	c := connect(t, p, "d1", device.Config{})

	items, err := c.List(ctx)
	if err != nil || len(items) != 2 || items[0] != (protocol.ListItem{TaskID: "11", Status: "SENT"}) || items[1].TaskID != "12" {
		t.Fatalf("List: %+v, %v", items, err)
	}
	job, err := c.Next(ctx)
	if err != nil || job.TaskID != "11" || job.File == nil || job.File.SignMethod != "Sha256" || string(job.Document) != `{"a":1}` {
		t.Fatalf("Next: %+v, %v", job, err)
	}
	if job, err := c.Get(ctx, "13"); err != nil || job.Status != "SUCCEEDED" || job.File != nil {
		t.Fatalf("Get 13: %+v, %v", job, err)
	}
	var re *device.ReplyError
	if _, err := c.Get(ctx, "99"); !errors.As(err, &re) || re.Code != protocol.CodeNotFound {
		t.Fatalf("Get 99: %v", err)
	}

	status, err := c.Update(ctx, "11", "IN_PROGRESS", device.WithProgress(10), device.WithDetails(map[string]string{"step": "dl"}))
	if err != nil || status != "IN_PROGRESS" {
		t.Fatalf("Update: %q, %v", status, err)
	}
	sent := p.Received("d1", protocol.KindUpdate)
	want := `,"version":"1.0","params":{"taskId":"11","status":"IN_PROGRESS","statusDetails":{"step":"dl"},"progress":10}}`
	if payload := string(sent[0].Payload); !strings.HasPrefix(payload, `{"id":"`+sent[0].ID+`"`) || !strings.HasSuffix(payload, want) {
		t.Fatalf("update payload %s", payload)
	}
	if job, err := c.Get(ctx, "11"); err != nil || string(job.StatusDetails) != `{"step":"dl"}` {
		t.Fatalf("Get 11 after update: %+v, %v", job, err)
	}
	if _, err := c.Update(ctx, "11", "SUCCEEDED", device.WithProgress(100)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(ctx, "12", "REJECTED"); err != nil {
		t.Fatal(err)
	}
	if job, err := c.Next(ctx); job != nil || err != nil {
		t.Fatalf("Next with nothing left: %+v, %v", job, err)
	}
	if items, err := c.List(ctx); err != nil || len(items) != 0 {
		t.Fatalf("List with nothing left: %+v, %v", items, err)
	}
	for _, m := range append(p.Received("d1", protocol.KindGet), p.Received("d1", protocol.KindUpdate)...) {
		if !protocol.ValidID(m.ID) || strings.ContainsAny(string(m.Payload), " \n") {
			t.Errorf("request %s", m.Payload)
		}
	}
}

func TestClientUpdateConflictCarriesStatus(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	p.Add("d1", peer.Task{ID: "5", Status: "CANCELLED"})
	c := connect(t, p, "d1", device.Config{})
	_, err := c.Update(context.Background(), "5", "SUCCEEDED")
	var re *device.ReplyError
	if !errors.As(err, &re) || re.Code != protocol.CodeConflict || re.Status != "CANCELLED" || re.Message == "" {
		t.Fatalf("err %v (%+v)", err, re)
	}
}

func TestClientUpdateRefusesBadValuesBeforeSending(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	c := connect(t, p, "d1", device.Config{})
	for _, opts := range [][]device.UpdateOption{
		{device.WithProgress(101)},
		{device.WithDetails([]int{1})},
		{device.WithDetails(json.RawMessage(`{"a":`))},
	} {
		if _, err := c.Update(context.Background(), "5", "IN_PROGRESS", opts...); err == nil {
			t.Error("bad update accepted")
		}
	}
	if _, err := c.Update(context.Background(), "5", "DONE"); err == nil || !strings.Contains(err.Error(), "status") {
		t.Errorf("unknown status: %v", err)
	}
	if n := len(p.Received("d1", protocol.KindUpdate)); n != 0 {
		t.Fatalf("%d bad updates were sent", n)
	}
}

func TestClientRetransmitsWithSameIDWhenReplyIsLost(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	p.Add("d1", peer.Task{ID: "7"})
	c := connect(t, p, "d1", device.Config{RequestTimeout: 300 * time.Millisecond})
	p.DropReplies("d1", 1)
	items, err := c.List(context.Background())
	if err != nil || len(items) != 1 {
		t.Fatalf("List: %+v, %v", items, err)
	}
	gets := p.Received("d1", protocol.KindGet)
	if len(gets) != 2 || gets[0].ID != gets[1].ID || string(gets[0].Payload) != string(gets[1].Payload) {
		t.Fatalf("want one request sent twice, got %d: %+v", len(gets), gets)
	}
}

func TestClientGivesUpWithoutReply(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	c := connect(t, p, "d1", device.Config{RequestTimeout: 150 * time.Millisecond, Retries: 2})
	p.DropReplies("d1", 100)
	start := time.Now()
	_, err := c.List(context.Background())
	if !errors.Is(err, device.ErrNoReply) || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("gave up after %s", d)
	}
	if n := len(p.Received("d1", protocol.KindGet)); n != 3 {
		t.Fatalf("%d requests sent, want 3", n)
	}
}
