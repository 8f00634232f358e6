package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"fleettasks/models"
	"fleettasks/protocol"
)

// Every refusal of docs/protocol.md gets its code, and a device's bad message
// does not hold up its other work nor anyone else's.
func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	s := newStack(t, "FLEETTASKS_DEVICE_RATE=1000")
	refs := s.devices(3)
	d1, d2 := newRawDevice(t, s.pk, "d1"), newRawDevice(t, s.pk, "d2")
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs[:2]}})
	eventually(t, 10*time.Second, "notified", func() bool { return len(d1.notifies()) == 1 && len(d2.notifies()) == 1 })
	_, n1 := notifyTask(t, d1.notifies()[0])
	_, n2 := notifyTask(t, d2.notifies()[0])

	raw := func(kind, payload string) *reply {
		t.Helper()
		d1.publish(kind, 1, payload)
		id := ""
		if i := strings.Index(payload, `"id":"`); i >= 0 {
			id = payload[i+6 : i+6+strings.Index(payload[i+6:], `"`)]
		}
		replyKind := protocol.KindGetReply
		if kind == protocol.KindUpdate {
			replyKind = protocol.KindUpdateReply
		}
		r, ok := d1.waitReply(replyKind, id, 5*time.Second)
		if !ok {
			t.Fatalf("no reply to %s", payload)
		}
		return r
	}
	big := `{"id":"500","version":"1.0","params":{"taskId":"` + n1.TaskID + `","status":"IN_PROGRESS","statusDetails":{"x":"` + strings.Repeat("a", protocol.MaxPayload) + `"}}}`
	cases := []struct {
		name, kind, payload string
		code                int
		msg                 string
	}{
		{"not JSON, id recoverable", protocol.KindUpdate, `{"id":"501","version":"1.0","params":{"taskId":`, 400, "not a JSON object"},
		{"bad version", protocol.KindGet, `{"id":"502","version":"2.0","params":{"taskId":"$list"}}`, 400, "version"},
		{"no params", protocol.KindGet, `{"id":"503","version":"1.0"}`, 400, "params"},
		{"unknown status", protocol.KindUpdate, `{"id":"504","version":"1.0","params":{"taskId":"` + n1.TaskID + `","status":"DONE"}}`, 400, "status"},
		{"device may not set QUEUED", protocol.KindUpdate, `{"id":"505","version":"1.0","params":{"taskId":"` + n1.TaskID + `","status":"TIMED_OUT"}}`, 400, "status"},
		{"progress over 100", protocol.KindUpdate, `{"id":"506","version":"1.0","params":{"taskId":"` + n1.TaskID + `","status":"IN_PROGRESS","progress":101}}`, 400, "progress"},
		{"progress not an integer", protocol.KindUpdate, `{"id":"507","version":"1.0","params":{"taskId":"` + n1.TaskID + `","status":"IN_PROGRESS","progress":"50"}}`, 400, "progress"},
		{"statusDetails not an object", protocol.KindUpdate, `{"id":"508","version":"1.0","params":{"taskId":"` + n1.TaskID + `","status":"IN_PROGRESS","statusDetails":"x"}}`, 400, "statusDetails"},
		{"payload over 64 KB", protocol.KindUpdate, big, 400, "limit"},
		{"unknown sub-task", protocol.KindUpdate, `{"id":"509","version":"1.0","params":{"taskId":"99999999","status":"IN_PROGRESS"}}`, 404, "no such task"},
		{"opaque garbage id", protocol.KindGet, `{"id":"510","version":"1.0","params":{"taskId":"abc"}}`, 404, "no such task"},
		{"another device's sub-task (update)", protocol.KindUpdate, `{"id":"511","version":"1.0","params":{"taskId":"` + n2.TaskID + `","status":"IN_PROGRESS"}}`, 404, "no such task"},
		{"another device's sub-task (get)", protocol.KindGet, `{"id":"512","version":"1.0","params":{"taskId":"` + n2.TaskID + `"}}`, 404, "no such task"},
		{"SDK version 1.0.0 accepted", protocol.KindGet, `{"id":"513","version":"1.0.0","params":{"taskId":"$list"}}`, 200, ""},
	}
	for _, tc := range cases {
		r := raw(tc.kind, tc.payload)
		if r.Code != tc.code || !strings.Contains(r.Message, tc.msg) {
			t.Errorf("%s: got %s", tc.name, r.raw)
		}
	}
	// a 404 for another device's sub-task looks exactly like an unknown one
	if r := raw(protocol.KindGet, `{"id":"520","version":"1.0","params":{"taskId":"`+n2.TaskID+`"}}`); r.raw != `{"id":"520","code":404,"data":{"taskId":"`+n2.TaskID+`"},"message":"no such task for this device"}` {
		t.Errorf("404 by id: %s", r.raw)
	}
	// unparseable without an id: no answer at all; an invalid id: 400
	// with the id echoed as sent
	d1.publish(protocol.KindGet, 1, `garbage`)
	d1.publish(protocol.KindGet, 1, `{"version":"1.0","params":{"taskId":"$list"}}`)
	for _, id := range []string{"-5", "abc", "4294967296"} {
		if r := raw(protocol.KindGet, `{"id":"`+id+`","version":"1.0","params":{"taskId":"$list"}}`); r.Code != 400 || !strings.Contains(r.Message, "id must be") {
			t.Errorf("invalid id %s: %s", id, r.raw)
		}
	}
	// ... and the device's other work goes on
	if r := d1.update(n1.TaskID, "IN_PROGRESS", nil); r.Code != 200 {
		t.Fatalf("after bad messages: %s", r.raw)
	}
	d1.mu.Lock()
	replies := len(d1.got[protocol.KindGetReply])
	d1.mu.Unlock()
	if replies != 9 { // the 9 get requests above that carry an id
		t.Errorf("%d get replies; bad messages without an id were answered?", replies)
	}

	// retransmission: same id answered with the first reply, applied once
	first := raw(protocol.KindUpdate, `{"id":"600","version":"1.0","params":{"taskId":"`+n1.TaskID+`","status":"IN_PROGRESS","progress":10}}`)
	if r := d1.update(n1.TaskID, "SUCCEEDED", nil); r.Code != 200 {
		t.Fatalf("SUCCEEDED: %s", r.raw)
	}
	d1.mu.Lock()
	d1.got[protocol.KindUpdateReply] = nil
	d1.mu.Unlock()
	again := raw(protocol.KindUpdate, `{"id":"600","version":"1.0","params":{"taskId":"`+n1.TaskID+`","status":"IN_PROGRESS","progress":10}}`)
	if again.raw != first.raw {
		t.Fatalf("retransmission answered %s, first answer was %s", again.raw, first.raw)
	}
	var status string
	var progress int
	s.app.DB.Pool.QueryRow(context.Background(), `SELECT status, progress FROM subtasks WHERE id = $1`, n1.TaskID).Scan(&status, &progress)
	if status != "SUCCEEDED" || progress != 10 {
		t.Fatalf("retransmission applied again: %s %d", status, progress)
	}
	_ = task
}

// A device that is not registered here is not answered (another deployment
// may share the broker); one that is registered later is.
func TestUnregisteredDeviceIsNotAnswered(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.devices(1)
	ghost := newRawDevice(t, s.pk, "ghost")
	ghost.publish(protocol.KindGet, 1, `{"id":"1","version":"1.0","params":{"taskId":"$list"}}`)
	ghost.publish(protocol.KindUpdate, 1, `not json`)
	known := newRawDevice(t, s.pk, "d1")
	if r := known.request(protocol.KindGet, map[string]string{"taskId": "$list"}); r.Code != 200 {
		t.Fatalf("registered device: %s", r.raw)
	}
	if _, ok := ghost.waitReply(protocol.KindGetReply, "1", 2*time.Second); ok {
		t.Fatal("an unregistered device was answered")
	}
}

// Too many requests from one device are answered 429; others are not slowed.
func TestDeviceRateLimit(t *testing.T) {
	t.Parallel()
	s := newStack(t, "FLEETTASKS_DEVICE_RATE=2")
	s.devices(2)
	d := newRawDevice(t, s.pk, "d1")
	for i := 0; i < 12; i++ {
		d.publish(protocol.KindGet, 0, fmt.Sprintf(`{"id":"%d","version":"1.0","params":{"taskId":"$list"}}`, 700+i))
	}
	limited := 0
	for i := 0; i < 12; i++ {
		r, ok := d.waitReply(protocol.KindGetReply, fmt.Sprint(700+i), 5*time.Second)
		if !ok {
			t.Fatalf("request %d not answered", i)
		}
		if r.Code == 429 {
			limited++
		}
	}
	if limited < 6 {
		t.Fatalf("%d of 12 requests limited at 2/s (burst 4)", limited)
	}
	other := newRawDevice(t, s.pk, "d2")
	if r := other.request(protocol.KindGet, map[string]string{"taskId": "$list"}); r.Code != 200 {
		t.Fatalf("another device: %s", r.raw)
	}
}

// $list holds at most 10 executable sub-tasks, oldest first; $next is the
// oldest; finished ones leave the list.
func TestListCapAndOrder(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(1)
	d := newRawDevice(t, s.pk, "d1")
	for i := 0; i < 12; i++ {
		s.createTask(models.TaskInput{Name: fmt.Sprint(i), Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}})
	}
	eventually(t, 10*time.Second, "12 notifies", func() bool { return len(d.notifies()) == 12 })
	var ids []string
	rows, err := s.app.DB.Pool.Query(context.Background(), `SELECT id FROM subtasks ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	list := d.request(protocol.KindGet, map[string]string{"taskId": "$list"})
	var data struct {
		Task, Tasks []protocol.ListItem
	}
	json.Unmarshal(list.Data, &data)
	if len(data.Task) != 10 || len(data.Tasks) != 10 || data.Task[0].TaskID != ids[0] || data.Task[9].TaskID != ids[9] {
		t.Fatalf("$list: %s", list.raw)
	}
	// IN_PROGRESS -> FAILED is allowed; a finished sub-task leaves the list
	d.update(ids[0], "IN_PROGRESS", nil)
	if r := d.update(ids[0], "FAILED", map[string]any{"statusDetails": map[string]string{"reason": "no space"}}); r.Code != 200 {
		t.Fatalf("FAILED: %s", r.raw)
	}
	list = d.request(protocol.KindGet, map[string]string{"taskId": "$list"})
	json.Unmarshal(list.Data, &data)
	if data.Task[0].TaskID != ids[1] || data.Task[9].TaskID != ids[10] {
		t.Fatalf("$list after a failure: %s", list.raw)
	}
	if next := d.request(protocol.KindGet, map[string]string{"taskId": "$next"}); !strings.Contains(next.raw, `"task":{"taskId":"`+ids[1]+`"`) {
		t.Fatalf("$next: %s", next.raw)
	}
}
