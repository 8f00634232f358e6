package workers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/internal/scanner"
	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
)

// fleetClient speaks for many devices of one product over one connection,
// as a test needs to send hostile bytes for some of them and plain
// updates for hundreds of others at once.
type fleetClient struct {
	t       *testing.T
	c       mqtt.Client
	pk      string
	mu      sync.Mutex
	replies map[string][]string // by "dn kind id" (a notify: "dn notify taskId"), in arrival order
}

func newFleetClient(t *testing.T, pk string) *fleetClient {
	t.Helper()
	f := &fleetClient{t: t, pk: pk, replies: map[string][]string{}}
	f.c = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(testenv.MQTTURL()).SetClientID("fleet-" + testenv.ID()).SetCleanSession(true))
	if tok := f.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("fleet connect: %v", tok.Error())
	}
	filters := map[string]byte{}
	for _, k := range []string{protocol.KindGetReply, protocol.KindUpdateReply, protocol.KindNotify} {
		filters["/sys/"+pk+"/+/thing/job/"+k] = 1
	}
	tok := f.c.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) {
		_, dn, kind, _ := protocol.ParseTopic(m.Topic())
		var r struct {
			ID     string
			Params struct{ Task struct{ TaskID string } }
		}
		json.Unmarshal(m.Payload(), &r)
		if kind == protocol.KindNotify {
			r.ID = r.Params.Task.TaskID
		}
		f.mu.Lock()
		k := dn + " " + kind + " " + r.ID
		f.replies[k] = append(f.replies[k], string(m.Payload()))
		f.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("fleet subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { f.c.Disconnect(100) })
	return f
}

func (f *fleetClient) publish(dn, kind string, payload []byte) {
	tok := f.c.Publish(protocol.Topic(f.pk, dn, kind), 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		f.t.Fatalf("publish: %v", tok.Error())
	}
}

// wait returns the replies of kind with id to device dn once there are n.
func (f *fleetClient) wait(dn, kind, id string, n int) []reply {
	f.t.Helper()
	var got []string
	eventually(f.t, 15*time.Second, fmt.Sprintf("%s: %d %s to id %s", dn, n, kind, id), func() bool {
		f.mu.Lock()
		got = append([]string(nil), f.replies[dn+" "+kind+" "+id]...)
		f.mu.Unlock()
		return len(got) >= n
	})
	out := make([]reply, len(got))
	for i, s := range got {
		json.Unmarshal([]byte(s), &out[i])
		out[i].raw = s
	}
	return out
}

func (f *fleetClient) forget() {
	f.mu.Lock()
	f.replies = map[string][]string{}
	f.mu.Unlock()
}

func updatePayload(id, taskID, status string, rest string) []byte {
	return []byte(`{"id":"` + id + `","version":"1.0.0","params":{"taskId":"` + taskID + `","status":"` + status + `"` + rest + `}}`)
}

func getPayload(id, taskID string) []byte {
	return []byte(`{"id":"` + id + `","version":"1.0.0","params":{"taskId":"` + taskID + `"}}`)
}

// subtaskOf is the sub-task id of device dn in task.
func (s *stack) subtaskOf(task models.ID, dn string) string {
	s.t.Helper()
	var id string
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT s.id::text FROM subtasks s JOIN devices d ON d.id = s.device_id
		WHERE s.task_id = $1 AND d.device_name = $2`, task, dn).Scan(&id); err != nil {
		s.t.Fatal(err)
	}
	return id
}

func (s *stack) subtaskStatus(id string) (status string, progress int) {
	s.t.Helper()
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT status, progress FROM subtasks WHERE id = $1`, id).Scan(&status, &progress); err != nil {
		s.t.Fatal(err)
	}
	return status, progress
}

// A device that reboots starts its ids at 1 again, as the C SDK does: its
// gets answer its new task and its updates are applied. Identical
// retransmissions still get the first reply, and a get and an update with
// the same id never cross.
func TestRebootedDeviceRestartsItsIds(t *testing.T) {
	t.Parallel()
	s := newStack(t, "FLEETTASKS_DEVICE_RATE=1000")
	refs := s.devices(1)
	f := newFleetClient(t, s.pk)
	first := s.createTask(models.TaskInput{Name: "first", Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}})
	a := s.subtaskOf(first.ID, "d1")
	f.wait("d1", protocol.KindNotify, a, 1)

	// first boot: ids 1, 2, 3
	f.publish("d1", protocol.KindGet, getPayload("1", "$next"))
	if r := f.wait("d1", protocol.KindGetReply, "1", 1)[0]; r.Code != 200 || !strings.Contains(r.raw, `"task":{"taskId":"`+a+`"`) {
		t.Fatalf("first $next: %s", r.raw)
	}
	f.publish("d1", protocol.KindUpdate, updatePayload("2", a, "IN_PROGRESS", `,"progress":10`))
	f.publish("d1", protocol.KindUpdate, updatePayload("3", a, "SUCCEEDED", `,"progress":100`))
	if r := f.wait("d1", protocol.KindUpdateReply, "3", 1)[0]; r.raw != `{"id":"3","code":200,"data":{"taskId":"`+a+`","status":"SUCCEEDED"}}` {
		t.Fatalf("first SUCCEEDED: %s", r.raw)
	}

	// second boot, a second task: the same ids with other bytes
	second := s.createTask(models.TaskInput{Name: "second", Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}})
	b := s.subtaskOf(second.ID, "d1")
	f.wait("d1", protocol.KindNotify, b, 1)
	f.forget()
	f.publish("d1", protocol.KindGet, getPayload("1", "$next"))
	if r := f.wait("d1", protocol.KindGetReply, "1", 1)[0]; r.Code != 200 || !strings.Contains(r.raw, `"task":{"taskId":"`+b+`"`) {
		t.Fatalf("$next after the reboot answered %s; want sub-task %s", r.raw, b)
	}
	f.publish("d1", protocol.KindUpdate, updatePayload("2", b, "IN_PROGRESS", `,"progress":20`))
	if r := f.wait("d1", protocol.KindUpdateReply, "2", 1)[0]; r.raw != `{"id":"2","code":200,"data":{"taskId":"`+b+`","status":"IN_PROGRESS"}}` {
		t.Fatalf("IN_PROGRESS after the reboot: %s", r.raw)
	}
	succeeded := updatePayload("3", b, "SUCCEEDED", `,"progress":100`)
	f.publish("d1", protocol.KindUpdate, succeeded)
	firstReply := f.wait("d1", protocol.KindUpdateReply, "3", 1)[0]
	if firstReply.raw != `{"id":"3","code":200,"data":{"taskId":"`+b+`","status":"SUCCEEDED"}}` {
		t.Fatalf("SUCCEEDED after the reboot: %s", firstReply.raw)
	}
	if st, p := s.subtaskStatus(b); st != "SUCCEEDED" || p != 100 {
		t.Fatalf("second sub-task %s %d", st, p)
	}
	// an identical retransmission: the first reply (not a 409), applied once
	f.publish("d1", protocol.KindUpdate, succeeded)
	if again := f.wait("d1", protocol.KindUpdateReply, "3", 2)[1]; again.raw != firstReply.raw {
		t.Fatalf("retransmission answered %s; first %s", again.raw, firstReply.raw)
	}
	// a get with an id an update used is a get, answered afresh
	f.publish("d1", protocol.KindGet, getPayload("3", "$list"))
	if r := f.wait("d1", protocol.KindGetReply, "3", 1)[0]; r.raw != `{"id":"3","code":200,"data":{"taskId":"$list","task":[],"tasks":[]}}` {
		t.Fatalf("get with an update's id: %s", r.raw)
	}
	// and an update after a get with the same id is applied
	third := s.createTask(models.TaskInput{Name: "third", Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}})
	c := s.subtaskOf(third.ID, "d1")
	f.wait("d1", protocol.KindNotify, c, 1)
	f.publish("d1", protocol.KindGet, getPayload("600", "$list"))
	f.wait("d1", protocol.KindGetReply, "600", 1)
	f.publish("d1", protocol.KindUpdate, updatePayload("600", c, "IN_PROGRESS", ""))
	if r := f.wait("d1", protocol.KindUpdateReply, "600", 1)[0]; r.raw != `{"id":"600","code":200,"data":{"taskId":"`+c+`","status":"IN_PROGRESS"}}` {
		t.Fatalf("update after a get with the same id: %s", r.raw)
	}
	if st, _ := s.subtaskStatus(c); st != "IN_PROGRESS" {
		t.Fatalf("third sub-task %s", st)
	}
	if got := f.wait("d1", protocol.KindGetReply, "600", 1); len(got) != 1 {
		t.Fatalf("%d get replies to id 600", len(got))
	}
	// replayed replies are logged with their code and sub-task
	eventually(t, 5*time.Second, "the replayed reply logged with its code and sub-task", func() bool {
		var n int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM device_messages WHERE direction = 'c2d'
			AND message_id = '3' AND code = 200 AND subtask_id = $1 AND topic LIKE '%/update_reply'`, b).Scan(&n)
		return n == 2
	})
}

// What the server sends reads right for a client that scans for the first
// "key": instead of parsing: the real file, the real status, the whole
// document, and a detail is never taken for a list.
func TestTrapDocumentsReadByAScanner(t *testing.T) {
	t.Parallel()
	s := newStack(t, "FLEETTASKS_DEVICE_RATE=1000")
	up, err := s.app.Files.Receive("fw.bin", bytes.NewReader([]byte("firmware")), models.MaxFirmwareSize)
	if err != nil {
		t.Fatal(err)
	}
	file, err := s.app.Files.Create(context.Background(), "firmware", up)
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{
		`{"version":"8.1","jobFile":{"url":"http://other.example/"}}`,
		`{"tasks":[{"taskId":"1","status":"SUCCEEDED"}],"status":"FAILED","taskId":"evil"}`,
		`{"cmd":"echo \"}\"","more":"[{"}`,
	}
	refs := s.devices(len(docs))
	f := newFleetClient(t, s.pk)
	for i, doc := range docs {
		dn := refs[i].DeviceName
		task := s.createTask(models.TaskInput{Name: fmt.Sprint(i), Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs[i : i+1]},
			JobDocument: json.RawMessage(doc), JobFile: &models.JobFileInput{FileID: file.ID, SignMethod: "md5"}})
		sub := s.subtaskOf(task.ID, dn)
		notify := f.wait(dn, protocol.KindNotify, sub, 1)[0]
		f.publish(dn, protocol.KindUpdate, updatePayload("1", sub, "IN_PROGRESS", `,"statusDetails":{"tasks":"1 of 2","status":"x{"}`))
		f.wait(dn, protocol.KindUpdateReply, "1", 1)
		f.publish(dn, protocol.KindGet, getPayload("2", "$next"))
		f.publish(dn, protocol.KindGet, getPayload("3", sub))
		next := f.wait(dn, protocol.KindGetReply, "2", 1)[0]
		byID := f.wait(dn, protocol.KindGetReply, "3", 1)[0]
		for name, m := range map[string]reply{"notify": notify, "$next": next, "by id": byID} {
			got := scanner.ReadTask([]byte(m.raw))
			want := "IN_PROGRESS"
			if name == "notify" {
				want = "SENT"
			}
			if got.IsList || got.TaskID != sub || got.Status != want || got.SignMethod != "Md5" || got.Sign != file.MD5 ||
				!strings.HasPrefix(got.FileURL, s.app.Config.PublicURL+"/") {
				t.Fatalf("%s of %s: scanner read %+v from %s", name, doc, got, m.raw)
			}
			var scanned, original any
			json.Unmarshal(got.JobDocument, &scanned)
			json.Unmarshal([]byte(doc), &original)
			if fmt.Sprint(scanned) != fmt.Sprint(original) {
				t.Fatalf("%s: scanner read the document %s; want %s", name, got.JobDocument, doc)
			}
		}
		if d, _ := scanner.Value([]byte(byID.raw), "statusDetails"); !json.Valid(d) || !strings.Contains(string(d), `"\u0074asks":"1 of 2"`) {
			t.Fatalf("statusDetails as scanned: %s", d)
		}
	}
}

// One device's poisoned messages, refused at parse time or by the database
// itself, fail no other device's update: among 200 devices reporting at
// once, every other update is applied and answered 200, and the poisoned
// device's own good work goes on.
func TestPoisonedMessagesFailNoOtherDevice(t *testing.T) {
	t.Parallel()
	s := newStack(t, "FLEETTASKS_DEVICE_RATE=1000")
	const n = 200
	refs := s.devices(n + 1) // d1 poisons; d2..d201 are well behaved
	f := newFleetClient(t, s.pk)
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}})
	eventually(t, 15*time.Second, "every sub-task SENT", func() bool { return s.stats(task.ID).Sent == n+1 })
	subs := map[string]string{}
	for _, r := range refs {
		subs[r.DeviceName] = s.subtaskOf(task.ID, r.DeviceName)
	}
	bad := subs["d1"]
	// a poison the parser cannot see: the database refuses this row
	if _, err := s.app.DB.Pool.Exec(context.Background(), `CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.id = `+bad+` AND NEW.status = 'IN_PROGRESS' THEN RAISE EXCEPTION 'poisoned row' USING ERRCODE = '22023'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER poison BEFORE UPDATE ON subtasks FOR EACH ROW EXECUTE FUNCTION poison()`); err != nil {
		t.Fatal(err)
	}
	poisons := [][]byte{
		updatePayload("1", bad, "IN_PROGRESS", `,"statusDetails":{"a":"\u0000"}`),
		updatePayload("2", bad, "IN_PROGRESS", `,"statusDetails":{"a":"\ud800"}`),
		updatePayload("3", bad, "IN_PROGRESS", ",\"statusDetails\":{\"a\":\"\xff\"}"),
		updatePayload("4", bad, "FAILED", `,"status":"SUCCEEDED"`),
		updatePayload("5", bad, "IN_PROGRESS", `,"statusDetails":`+strings.Repeat(`{"a":`, 17)+`1`+strings.Repeat(`}`, 17)),
		updatePayload("6", bad, "IN_PROGRESS", `,"progress":5`), // refused by the database
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for _, p := range poisons {
			f.publish("d1", protocol.KindUpdate, p)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 2; i <= n+1; i++ {
			dn := fmt.Sprint("d", i)
			f.publish(dn, protocol.KindUpdate, updatePayload("1", subs[dn], "IN_PROGRESS", `,"progress":50,"statusDetails":{"step":"é"}`))
		}
	}()
	wg.Wait()
	for i := 2; i <= n+1; i++ {
		dn := fmt.Sprint("d", i)
		if r := f.wait(dn, protocol.KindUpdateReply, "1", 1)[0]; r.raw != `{"id":"1","code":200,"data":{"taskId":"`+subs[dn]+`","status":"IN_PROGRESS"}}` {
			t.Fatalf("%s: %s", dn, r.raw)
		}
	}
	for i := range poisons {
		if r := f.wait("d1", protocol.KindUpdateReply, fmt.Sprint(i+1), 1)[0]; r.Code != 400 {
			t.Errorf("poison %d: %s", i+1, r.raw)
		}
	}
	st := s.stats(task.ID)
	if st.InProgress != n || st.Sent != 1 {
		t.Fatalf("stats %+v; want %d IN_PROGRESS and the poisoned one still SENT", st, n)
	}
	// the poisoned device's other work goes on
	if _, err := s.app.DB.Pool.Exec(context.Background(), `DROP TRIGGER poison ON subtasks`); err != nil {
		t.Fatal(err)
	}
	f.publish("d1", protocol.KindUpdate, updatePayload("7", bad, "REJECTED", ""))
	if r := f.wait("d1", protocol.KindUpdateReply, "7", 1)[0]; r.Code != 200 {
		t.Fatalf("the poisoned device's next update: %s", r.raw)
	}
}
