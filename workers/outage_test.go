package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
)

// The registry database is cut off for real (no new connections, every
// backend terminated) while devices report: nothing is answered 500 or
// taken for an unregistered device; the requests are held, and once the
// database is back every one of them gets exactly its reply and every
// update is applied.
func TestRegistryOutageLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// a broker of its own: on the shared one, other deployments' messages
	// reach the bridge too and would be the ones held first
	broker := testenv.NewBroker(t)
	s := newStackOn(t, broker.URL())
	const n = 40
	refs := s.devices(n)
	u, err := url.Parse(s.app.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	f := newOutageFleet(t, broker.URL(), s.pk)

	rate := 60_000
	task := s.createTask(models.TaskInput{Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, RolloutPerMinute: &rate})
	eventually(t, 20*time.Second, "every device notified", func() bool {
		return s.stats(task.ID).Sent == n && f.notified() == n
	})
	sub := map[string]string{} // device name -> its sub-task id
	rows, err := s.app.DB.Pool.Query(ctx, `SELECT id, device_name FROM subtasks WHERE task_id = $1`, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var dn string
		if err := rows.Scan(&id, &dn); err != nil {
			t.Fatal(err)
		}
		sub[dn] = fmt.Sprint(id)
	}
	rows.Close()
	if len(sub) != n {
		t.Fatalf("%d sub-tasks, want %d", len(sub), n)
	}

	// the first half is in the bridge's device cache, the second is not
	for _, r := range refs[:n/2] {
		f.publish(r.DeviceName, protocol.KindGet, 1, `{"id":"1","version":"1.0","params":{"taskId":"$list"}}`)
	}
	eventually(t, 10*time.Second, "$list answered", func() bool {
		for _, r := range refs[:n/2] {
			if len(f.replies(r.DeviceName, protocol.KindGetReply, "1")) == 0 {
				return false
			}
		}
		return true
	})
	for _, r := range refs[:n/2] {
		if rep := f.replies(r.DeviceName, protocol.KindGetReply, "1")[0]; rep.Code != 200 || !strings.Contains(rep.raw, `"taskId":"`+sub[r.DeviceName]+`","status":"SENT"`) {
			t.Fatalf("%s $list: %s", r.DeviceName, rep.raw)
		}
	}

	// cut the database off; always give it back before it is dropped
	admin, err := pgx.Connect(ctx, testenv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(ctx) }) // after the restore below
	restored := false
	restore := func() {
		if restored {
			return
		}
		if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{dbName}.Sanitize()+` WITH ALLOW_CONNECTIONS true`); err != nil {
			t.Errorf("restore %s: %v", dbName, err)
			return
		}
		restored = true
	}
	t.Cleanup(restore)
	heldBefore := counterValue("fleettasks_bridge_held_total")
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{dbName}.Sanitize()+` WITH ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	cutAt := time.Now()
	// a backend that was starting up when connections were disallowed may
	// only show up now: terminate until none is left
	eventually(t, 10*time.Second, "every backend of the database terminated", func() bool {
		var left int
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName).Scan(&left); err != nil {
			t.Fatal(err)
		}
		return left == 0
	})
	if c, err := pgx.Connect(ctx, s.app.Config.DatabaseURL); err == nil {
		c.Close(ctx)
		t.Fatal("the database still accepts connections")
	}

	// every device reports progress (QoS 1 and 0 alternately); every third
	// asks $next
	type request struct {
		dn, kind, id string
		qos          byte
		payload      string
		progress     int
	}
	var reqs []request
	for i, r := range refs {
		dn := r.DeviceName
		if i%3 == 0 {
			reqs = append(reqs, request{dn, protocol.KindGetReply, "3", byte((i / 3) % 2), `{"id":"3","version":"1.0","params":{"taskId":"$next"}}`, 0})
		}
		p := 10 + i
		reqs = append(reqs, request{dn, protocol.KindUpdateReply, "2", byte(i % 2),
			fmt.Sprintf(`{"id":"2","version":"1.0","params":{"taskId":"%s","status":"IN_PROGRESS","progress":%d}}`, sub[dn], p), p})
	}
	// A shard of the bridge holds its batch and takes no other until it is
	// handled, so only the first request of each shard meets the outage:
	// make those cover both paths, a device not in the cache (its look-up
	// fails) and one in it (its update or get fails), and send them first.
	cached := map[string]bool{}
	for _, r := range refs[:n/2] {
		cached[r.DeviceName] = true
	}
	leads := map[int]int{} // shard -> index in reqs of its first request
	for shard := 0; shard < bridgeShards; shard++ {
		wantCached, wantKind := shard >= 2, []string{protocol.KindUpdateReply, protocol.KindGetReply}[shard%2]
		for pass := 0; pass < 3 && leads[shard] == 0; pass++ { // settling for less at each pass
			for i, r := range reqs {
				if bridgeShardOf(s.pk, r.dn) == shard && (pass == 2 || cached[r.dn] == wantCached && (pass == 1 || r.kind == wantKind)) &&
					(i == 0 || reqs[i-1].dn != r.dn) { // a device's first request
					leads[shard] = i + 1
					break
				}
			}
		}
	}
	var first, rest []request
	for i, r := range reqs {
		lead := false
		for _, l := range leads {
			lead = lead || l == i+1
		}
		if lead {
			first = append(first, r)
			t.Logf("first of its shard: %s (cached %v) %s QoS %d", r.dn, cached[r.dn], strings.TrimSuffix(r.kind, "_reply"), r.qos)
		} else {
			rest = append(rest, r)
		}
	}
	// a device's requests stay in order: a lead's other request goes after
	for _, r := range first {
		kind := strings.TrimSuffix(r.kind, "_reply")
		f.publish(r.dn, kind, r.qos, r.payload)
	}
	eventually(t, 5*time.Second, "the first requests held", func() bool {
		return counterValue("fleettasks_bridge_held_total")-heldBefore >= float64(len(first))
	})
	for _, r := range rest {
		f.publish(r.dn, strings.TrimSuffix(r.kind, "_reply"), r.qos, r.payload)
	}
	// while the database is away nothing can be answered: no reply at all,
	// in particular no 500, however often the held requests are tried
	// again (each try of a shard's batch counts its requests as held; the
	// backoff doubles from 100 ms, so three more tries take about 0.7 s)
	triedAgain := heldBefore + 4*float64(len(first))
	for deadline := time.Now().Add(15 * time.Second); counterValue("fleettasks_bridge_held_total") < triedAgain; {
		if time.Now().After(deadline) {
			t.Fatalf("the held requests were not tried again: %.0f held", counterValue("fleettasks_bridge_held_total")-heldBefore)
		}
		for _, r := range reqs {
			if got := f.replies(r.dn, r.kind, r.id); len(got) > 0 {
				t.Fatalf("%s answered while the database was cut off: %s", r.dn, got[0].raw)
			}
		}
		if bad := f.serverFaults(); len(bad) > 0 {
			t.Fatalf("500 during the outage: %v", bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
	heldDuring := counterValue("fleettasks_bridge_held_total") - heldBefore
	restore()
	restoredAt := time.Now()
	t.Logf("database cut off for %v; %d requests sent during it, %.0f message-tries held so far", restoredAt.Sub(cutAt).Round(time.Millisecond), len(reqs), heldDuring)

	eventually(t, 20*time.Second, "every request answered after the outage", func() bool {
		for _, r := range reqs {
			if len(f.replies(r.dn, r.kind, r.id)) == 0 {
				return false
			}
		}
		return true
	})
	var last time.Time
	for _, r := range reqs {
		if at := f.replies(r.dn, r.kind, r.id)[0].at; at.After(last) {
			last = at
		}
	}
	t.Logf("every request answered %v after the database came back", last.Sub(restoredAt).Round(time.Millisecond))
	// A second reply would come from a held request handled again: a
	// bridge shard takes a device's messages in order and holds its batch
	// until it is handled, so once a later request of each device is
	// answered, every earlier one has been handled for good (and its
	// replies, published on the same connection, came first).
	for _, dn := range fleetDevices(reqs, func(r request) string { return r.dn }) {
		f.publish(dn, protocol.KindGet, 1, `{"id":"after","version":"1.0","params":{"taskId":"$list"}}`)
	}
	eventually(t, 20*time.Second, "a later request of each device answered", func() bool {
		for _, r := range reqs {
			if len(f.replies(r.dn, protocol.KindGetReply, "after")) == 0 {
				return false
			}
		}
		return true
	})
	for _, r := range reqs {
		got := f.replies(r.dn, r.kind, r.id)
		if len(got) != 1 {
			raws := make([]string, len(got))
			for i, g := range got {
				raws[i] = g.raw
			}
			t.Errorf("%s %s %s: %d replies %v", r.dn, r.kind, r.id, len(got), raws)
			continue
		}
		rep := got[0]
		switch r.kind {
		case protocol.KindUpdateReply:
			if want := `{"id":"2","code":200,"data":{"taskId":"` + sub[r.dn] + `","status":"IN_PROGRESS"}}`; rep.raw != want {
				t.Errorf("%s update: %s, want %s", r.dn, rep.raw, want)
			}
		case protocol.KindGetReply:
			// the $next may be read before or after the update is applied
			var d struct {
				TaskID string         `json:"taskId"`
				Task   *protocol.Task `json:"task"`
			}
			if rep.Code != 200 || json.Unmarshal(rep.Data, &d) != nil || d.TaskID != protocol.Next || d.Task == nil ||
				d.Task.TaskID != sub[r.dn] || (d.Task.Status != "SENT" && d.Task.Status != "IN_PROGRESS") {
				t.Errorf("%s $next: %s", r.dn, rep.raw)
			}
		}
	}
	if bad := f.serverFaults(); len(bad) > 0 {
		t.Errorf("500 replies: %v", bad)
	}
	want := map[string]int{}
	for _, r := range reqs {
		if r.kind == protocol.KindUpdateReply {
			want[r.dn] = r.progress
		}
	}
	rows, err = s.app.DB.Pool.Query(ctx, `SELECT device_name, status, progress FROM subtasks WHERE task_id = $1`, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var dn, status string
		var progress int
		if err := rows.Scan(&dn, &status, &progress); err != nil {
			t.Fatal(err)
		}
		if status != "IN_PROGRESS" || progress != want[dn] {
			t.Errorf("%s: %s %d%%, want IN_PROGRESS %d%%", dn, status, progress, want[dn])
		}
	}
	rows.Close()
	t.Logf("message-tries held in all: %.0f", counterValue("fleettasks_bridge_held_total")-heldBefore)
}

// bridgeShards and bridgeShardOf mirror the bridge's sharding
// (workers/bridge.go, receive): a device's messages go to shard
// fnv-32a("/sys/pk/dn/thing/job/") modulo ingestShards. Should that change,
// the test still holds, only its first requests cover less.
const bridgeShards = 4

func bridgeShardOf(pk, dn string) int {
	h := fnv.New32a()
	h.Write([]byte(protocol.Topic(pk, dn, "")))
	return int(h.Sum32() % bridgeShards)
}

// counterValue is the value of a counter of the default registry, summed over
// its series.
// fleetDevices lists the distinct devices of xs, in order.
func fleetDevices[T any](xs []T, dn func(T) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if d := dn(x); !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func counterValue(name string) float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return -1
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// outageFleet is one MQTT client speaking for every device of a product: it
// publishes on their topics and records their notifies and replies.
type outageFleet struct {
	t   *testing.T
	c   mqtt.Client
	pk  string
	mu  sync.Mutex
	got map[string][]outageReply // by "dn kind"
}

// outageReply is a reply (or notify) and when it came.
type outageReply struct {
	reply
	at time.Time
}

func newOutageFleet(t *testing.T, broker, pk string) *outageFleet {
	t.Helper()
	f := &outageFleet{t: t, pk: pk, got: map[string][]outageReply{}}
	f.c = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("fleet-" + pk + "-" + testenv.ID()).SetCleanSession(true))
	if tok := f.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("fleet connect: %v", tok.Error())
	}
	t.Cleanup(func() { f.c.Disconnect(100) })
	filters := map[string]byte{}
	for _, k := range []string{protocol.KindNotify, protocol.KindGetReply, protocol.KindUpdateReply} {
		filters[protocol.Topic(pk, "+", k)] = 1
	}
	tok := f.c.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) {
		_, dn, kind, _ := protocol.ParseTopic(m.Topic())
		h := outageReply{at: time.Now()}
		json.Unmarshal(m.Payload(), &h.reply)
		h.raw = string(m.Payload())
		f.mu.Lock()
		f.got[dn+" "+kind] = append(f.got[dn+" "+kind], h)
		f.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("fleet subscribe: %v", tok.Error())
	}
	return f
}

func (f *outageFleet) publish(dn, kind string, qos byte, payload string) {
	f.t.Helper()
	tok := f.c.Publish(protocol.Topic(f.pk, dn, kind), qos, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		f.t.Fatalf("publish: %v", tok.Error())
	}
}

// replies are the replies of kind to device dn's request id so far.
func (f *outageFleet) replies(dn, kind, id string) []outageReply {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []outageReply
	for _, h := range f.got[dn+" "+kind] {
		if h.ID == id {
			out = append(out, h)
		}
	}
	return out
}

// notified is how many devices got a notify.
func (f *outageFleet) notified() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := 0
	for key := range f.got {
		if strings.HasSuffix(key, " "+protocol.KindNotify) {
			k++
		}
	}
	return k
}

// serverFaults are the replies with code 500 so far.
func (f *outageFleet) serverFaults() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for key, hs := range f.got {
		for _, h := range hs {
			if h.Code == 500 {
				out = append(out, key+" "+h.raw)
			}
		}
	}
	return out
}
