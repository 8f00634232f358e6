package main

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/redis/go-redis/v9"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
)

// Two workers share the ingest on a broker of their own; one is killed
// (SIGKILL) and never comes back while devices keep asking. Mosquitto keeps
// the dead worker's persistent sessions in the share group, so without a
// takeover about half the requests would wait for it forever: the live
// worker must take the dead sessions over within 35 s of the kill, answer
// what the broker queued for them, and end them, so that every request is
// answered and, after the takeover, answered at once.
func TestWorkerKilledSessionsTakenOver(t *testing.T) {
	t.Parallel()
	env, a, b, load := twoWorkers(t)
	time.Sleep(2 * time.Second) // requests before the stop: a window of load both workers answer at once
	killAt := time.Now()
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	// the live worker takes both dead sessions over (within 35 s: the
	// check below holds it to that), then answers at once for a while
	waitFor(t, 45*time.Second, "both dead sessions taken over", func() bool {
		return strings.Count(b.log.String(), "takeover: session drained and ended") >= 2
	})
	time.Sleep(3 * time.Second) // requests after the takeover: a window of load
	load.stop()
	load.waitAnswered(t, 10*time.Second)
	// before the kill and once taken over, every request is answered at
	// once; in between, within 35 s of the kill
	takenBy := killAt.Add(35 * time.Second)
	load.check(t, func(sent time.Time) time.Time {
		if sent.After(killAt.Add(-3*time.Second)) && sent.Before(takenBy) {
			return takenBy.Add(3 * time.Second)
		}
		return sent.Add(3 * time.Second)
	})
	if n := strings.Count(b.log.String(), "takeover: session drained and ended"); n != 2 {
		t.Errorf("%d sessions taken over and ended, want 2; the live worker's log ends:\n%s", n, b.log.tail(20))
	}
	if ids := heartbeatIDs(t, env); len(ids) != 2 || !strings.HasPrefix(ids[0], "b-") {
		t.Errorf("heartbeats of %v, want only the live worker's two sessions", ids)
	}
}

// Of two workers sharing the ingest, one is stopped (SIGTERM): it leaves
// the share group before it exits, so every request is answered, those
// sent after it exits at once by the other worker.
func TestWorkerSIGTERMLeavesShareGroup(t *testing.T) {
	t.Parallel()
	env, a, b, load := twoWorkers(t)
	time.Sleep(2 * time.Second) // requests before the stop: a window of load both workers answer at once
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
		if a.err != nil {
			t.Fatalf("the worker exited with %v after SIGTERM; its log ends:\n%s", a.err, a.log.tail(20))
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the worker did not exit within 20 s of SIGTERM; its log ends:\n%s", a.log.tail(20))
	}
	exitAt := time.Now()
	time.Sleep(3 * time.Second) // requests after the exit: a window of load the other worker answers at once
	load.stop()
	load.waitAnswered(t, 10*time.Second)
	load.check(t, func(sent time.Time) time.Time {
		if sent.Before(exitAt) { // a request left in the stopped worker's session waits for a peer's takeover
			return exitAt.Add(10 * time.Second)
		}
		return sent.Add(3 * time.Second)
	})
	if ids := heartbeatIDs(t, env); len(ids) != 2 || !strings.HasPrefix(ids[0], "b-") {
		t.Errorf("heartbeats of %v, want only the running worker's two sessions; its log ends:\n%s", ids, b.log.tail(20))
	}
}

// twoWorkers starts workers a and b (client ids a-… and b-…, two ingest
// connections each) on a broker of their own, waits until both share the
// ingest, and starts devices asking $list.
func twoWorkers(t *testing.T) (env []string, a, b *workerProcess, load *getLoad) {
	t.Helper()
	env, db := workerEnv(t)
	brokerURL := testenv.NewBrokerWith(t, "allow_anonymous true\n").URL()
	env = append(env, "FLEETTASKS_MQTT_URL="+brokerURL, "FLEETTASKS_MQTT_INGEST_CONNS=2")
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, db, pk, 40)
	// one after the other: two processes creating the same log partition
	// at once may fail
	a = startWorker(t, append(env, "FLEETTASKS_MQTT_CLIENT_ID=a-"+testenv.ID()))
	waitFor(t, 30*time.Second, "worker a subscribed", func() bool { return strings.Count(a.log.String(), "mqtt ingest subscribed") == 2 })
	b = startWorker(t, append(env, "FLEETTASKS_MQTT_CLIENT_ID=b-"+testenv.ID()))
	waitFor(t, 30*time.Second, "worker b subscribed", func() bool { return strings.Count(b.log.String(), "mqtt ingest subscribed") == 2 })
	return env, a, b, startGetLoad(t, brokerURL, pk, devices)
}

// heartbeatIDs are the client ids in the test's worker heartbeats.
func heartbeatIDs(t *testing.T, env []string) []string {
	t.Helper()
	var url, group string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "FLEETTASKS_REDIS_URL="); ok {
			url = v
		}
		if v, ok := strings.CutPrefix(kv, "FLEETTASKS_MQTT_SHARE_GROUP="); ok {
			group = v
		}
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ids, err := rdb.HKeys(context.Background(), "fleettasks:workers:"+group).Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

// getLoad is devices asking $list, 20 requests a second in turn, QoS 1,
// with the time each request was sent and answered.
type getLoad struct {
	mu       sync.Mutex
	sent     map[string]time.Time // by request id
	answered map[string]time.Time
	bad      []string // replies that are not 200
	quit     chan struct{}
	done     chan struct{}
}

func startGetLoad(t *testing.T, broker, pk string, devices []models.DeviceRef) *getLoad {
	t.Helper()
	l := &getLoad{sent: map[string]time.Time{}, answered: map[string]time.Time{}, quit: make(chan struct{}), done: make(chan struct{})}
	replies := testenv.MQTTClient(t, broker)
	tok := replies.Subscribe(protocol.Topic(pk, "+", protocol.KindGetReply), 1, func(_ mqtt.Client, m mqtt.Message) {
		var r protocol.ReplyMessage
		err := json.Unmarshal(m.Payload(), &r)
		l.mu.Lock()
		if err != nil || r.Code != protocol.CodeOK {
			l.bad = append(l.bad, string(m.Payload()))
		}
		if _, ok := l.answered[r.ID]; !ok {
			l.answered[r.ID] = time.Now()
		}
		l.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe replies: %v", tok.Error())
	}
	c := testenv.MQTTClient(t, broker)
	go func() {
		defer close(l.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 1; ; i++ {
			select {
			case <-l.quit:
				return
			case <-tick.C:
			}
			id := strconv.Itoa(i)
			dev := devices[i%len(devices)]
			l.mu.Lock()
			l.sent[id] = time.Now()
			l.mu.Unlock()
			c.Publish(protocol.Topic(dev.ProductKey, dev.DeviceName, protocol.KindGet), 1, false, protocol.GetRequest(id, protocol.List))
		}
	}()
	t.Cleanup(l.stop)
	return l
}

// stop ends the requests.
func (l *getLoad) stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	<-l.done
}

// waitAnswered waits at most d for every request's answer.
func (l *getLoad) waitAnswered(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		all := len(l.answered) == len(l.sent)
		l.mu.Unlock()
		if all {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// check fails t for every request not answered by due(sent).
func (l *getLoad) check(t *testing.T, due func(sent time.Time) time.Time) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	late, lost := 0, 0
	var slowest time.Duration
	for id, sent := range l.sent {
		at, ok := l.answered[id]
		switch {
		case !ok:
			lost++
		case at.After(due(sent)):
			if late++; late <= 5 {
				t.Logf("request %s sent at %s answered after %v", id, sent.Format("15:04:05.000"), at.Sub(sent).Round(time.Millisecond))
			}
		}
		if ok {
			slowest = max(slowest, at.Sub(sent))
		}
	}
	t.Logf("%d requests, %d unanswered, %d answered late; the slowest answer took %v", len(l.sent), lost, late, slowest.Round(time.Millisecond))
	if len(l.bad) > 0 {
		t.Errorf("%d replies not 200, e.g. %s", len(l.bad), l.bad[0])
	}
	if lost > 0 || late > 0 {
		t.Errorf("%d of %d requests unanswered, %d answered late", lost, len(l.sent), late)
	}
}
