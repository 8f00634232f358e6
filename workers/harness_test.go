package workers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/hibiken/asynq"

	"fleettasks/config"
	"fleettasks/handlers"
	"fleettasks/internal/app"
	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
	"fleettasks/workers"
)

// stack is a running engine (workers, bridge) on this test's own
// database, Redis database and share group, against the real broker.
type stack struct {
	t      *testing.T
	app    *app.App
	clock  *testenv.Clock // the app's clock (app.WithClock): a test may move it
	pk     string
	broker string
	stop   func() // stops the workers started with the stack
}

func logger() *slog.Logger {
	if os.Getenv("FLEETTASKS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newStack(t *testing.T, overrides ...string) *stack {
	t.Helper()
	return openStack(t, testenv.MQTTURL(), nil, overrides)
}

// newStackOn is newStack against another broker.
func newStackOn(t *testing.T, broker string, overrides ...string) *stack {
	t.Helper()
	return openStack(t, broker, nil, overrides)
}

// newStackWith is newStack with options for its app (app.WithTimeoutUnit).
func newStackWith(t *testing.T, opts ...app.Option) *stack {
	t.Helper()
	return openStack(t, testenv.MQTTURL(), opts, nil)
}

func openStack(t *testing.T, broker string, opts []app.Option, overrides []string) *stack {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := append([]string{"FLEETTASKS_REDIS_URL=" + testenv.RedisDB(t), "FLEETTASKS_MQTT_CLIENT_ID=ft-" + testenv.ID(),
		"FLEETTASKS_MQTT_INGEST_CONNS=2", "FLEETTASKS_PUBLIC_URL=http://" + l.Addr().String(), "FLEETTASKS_MQTT_URL=" + broker}, overrides...)
	cfg, err := config.Load(testenv.Env(t, testenv.DatabaseURL(t), env...))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clock := &testenv.Clock{}
	a, err := app.Open(ctx, cfg, logger(), true, append(opts, app.WithClock(clock.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, app: a, clock: clock, pk: testenv.Prefix(t), broker: broker}
	t.Cleanup(a.Close)
	// the console and API, for the signed download URLs of notifies
	web := handlers.New(a.HandlerDeps())
	go web.Listener(l)
	t.Cleanup(func() { web.Shutdown() })
	s.stop = s.start()
	s.waitReady()
	return s
}

// waitReady waits until the bridge answers: a probe device of its own
// product asks $list until a reply comes.
func (s *stack) waitReady() {
	s.t.Helper()
	testenv.SeedDevices(s.t, s.app.DB, s.pk+"probe", 1)
	probe := newRawDeviceOn(s.t, s.broker, s.pk+"probe", "d1")
	for i := 0; i < 100; i++ {
		id := strconv.Itoa(i + 1)
		probe.publish(protocol.KindGet, 1, `{"id":"`+id+`","version":"1.0","params":{"taskId":"$list"}}`)
		if _, ok := probe.waitReply(protocol.KindGetReply, id, 300*time.Millisecond); ok {
			return
		}
	}
	s.t.Fatal("the bridge never answered")
}

// start runs the workers until the test ends (or the returned stop).
func (s *stack) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := workers.Run(ctx, s.app.WorkerDeps()); err != nil {
			s.t.Errorf("workers: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				s.t.Error("workers did not stop")
			}
		})
	}
	s.t.Cleanup(stop)
	return stop
}

// devices registers n devices d1..dn of the stack's product.
func (s *stack) devices(n int) []models.DeviceRef {
	return testenv.SeedDevices(s.t, s.app.DB, s.pk, n)
}

// createTask creates a task through the service layer.
func (s *stack) createTask(in models.TaskInput) *models.Task {
	s.t.Helper()
	if in.Name == "" {
		in.Name = "t"
	}
	if in.JobDocument == nil && in.RuleFileID == nil {
		in.JobDocument = json.RawMessage(`{"version":"2.1","status":"not-ours"}`)
	}
	task, err := s.app.Tasks.CreateTask(context.Background(), in)
	if err != nil {
		s.t.Fatal(err)
	}
	return task
}

func (s *stack) stats(id models.ID) models.Statistics {
	st, err := s.app.Tasks.Statistics(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return *st
}

func (s *stack) taskStatus(id models.ID) models.TaskStatus {
	var st models.TaskStatus
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT status FROM tasks WHERE id = $1`, id).Scan(&st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSweeps waits until two sweeps (timeouts, expiry, completion) have
// completed after at: the second of them started after at, so whatever a
// sweep does to the state as of at has been done.
func (s *stack) waitSweeps(at time.Time, within time.Duration) {
	s.t.Helper()
	opt, err := asynq.ParseRedisURI(s.app.Config.RedisURL)
	if err != nil {
		s.t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	eventually(s.t, within, "two sweeps after "+at.Format("15:04:05.000"), func() bool {
		done, err := insp.ListCompletedTasks("default", asynq.PageSize(1000))
		if err != nil {
			return false // no queue yet
		}
		n := 0
		for _, ti := range done {
			if ti.Type == workers.TypeSweep && ti.CompletedAt.After(at) {
				n++
			}
		}
		return n >= 2
	})
}

// rawDevice is a device speaking the protocol with a bare paho client, so
// that tests can send anything, well-formed or not.
type rawDevice struct {
	t      *testing.T
	c      mqtt.Client
	pk, dn string
	mu     sync.Mutex
	got    map[string][]mqtt.Message // by kind
	seq    atomic.Int64
}

func newRawDevice(t *testing.T, pk, dn string) *rawDevice {
	t.Helper()
	return newRawDeviceOn(t, testenv.MQTTURL(), pk, dn)
}

func newRawDeviceOn(t *testing.T, broker, pk, dn string) *rawDevice {
	t.Helper()
	d := &rawDevice{t: t, pk: pk, dn: dn, got: map[string][]mqtt.Message{}}
	d.seq.Store(100)
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID("raw-" + pk + "-" + dn + "-" + testenv.ID()).
		SetCleanSession(true).SetAutoReconnect(true)
	d.c = mqtt.NewClient(opts)
	if tok := d.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("raw device connect: %v", tok.Error())
	}
	filters := map[string]byte{}
	for _, k := range []string{protocol.KindNotify, protocol.KindGetReply, protocol.KindUpdateReply} {
		filters[protocol.Topic(pk, dn, k)] = 1
	}
	tok := d.c.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) {
		_, _, kind, _ := protocol.ParseTopic(m.Topic())
		d.mu.Lock()
		d.got[kind] = append(d.got[kind], m)
		d.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("raw device subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { d.c.Disconnect(100) })
	return d
}

// publish sends a raw payload on one of the device's topics.
func (d *rawDevice) publish(kind string, qos byte, payload string) {
	tok := d.c.Publish(protocol.Topic(d.pk, d.dn, kind), qos, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		d.t.Fatalf("publish: %v", tok.Error())
	}
}

// reply is a decoded reply.
type reply struct {
	ID      string          `json:"id"`
	Code    int             `json:"code"`
	Data    json.RawMessage `json:"data"`
	Message string          `json:"message"`
	raw     string
}

// waitReply waits for the reply of kind with request id.
func (d *rawDevice) waitReply(kind, id string, within time.Duration) (*reply, bool) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, m := range d.got[kind] {
			var r reply
			if json.Unmarshal(m.Payload(), &r) == nil && r.ID == id {
				r.raw = string(m.Payload())
				d.mu.Unlock()
				return &r, true
			}
		}
		d.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	return nil, false
}

// request sends a well-formed request and returns its reply.
func (d *rawDevice) request(kind string, params any) *reply {
	d.t.Helper()
	id := strconv.FormatInt(d.seq.Add(1), 10)
	p, _ := json.Marshal(params)
	d.publish(kind, 1, fmt.Sprintf(`{"id":"%s","version":"1.0","params":%s}`, id, p))
	replyKind := protocol.KindGetReply
	if kind == protocol.KindUpdate {
		replyKind = protocol.KindUpdateReply
	}
	r, ok := d.waitReply(replyKind, id, 10*time.Second)
	if !ok {
		d.t.Fatalf("%s/%s: no reply to %s %s", d.pk, d.dn, kind, p)
	}
	return r
}

func (d *rawDevice) update(taskID, status string, extra map[string]any) *reply {
	params := map[string]any{"taskId": taskID, "status": status}
	for k, v := range extra {
		params[k] = v
	}
	return d.request(protocol.KindUpdate, params)
}

// notifies returns the notifies received so far.
func (d *rawDevice) notifies() []mqtt.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]mqtt.Message(nil), d.got[protocol.KindNotify]...)
}

// notifyTask decodes the task of a notify.
func notifyTask(t *testing.T, m mqtt.Message) (id string, task protocol.Task) {
	var n struct {
		ID     string `json:"id"`
		Params struct {
			Task protocol.Task `json:"task"`
		} `json:"params"`
	}
	if err := json.Unmarshal(m.Payload(), &n); err != nil {
		t.Fatalf("notify %s: %v", m.Payload(), err)
	}
	if bytes.ContainsAny(m.Payload(), " \n") {
		t.Fatalf("notify not compact: %s", m.Payload())
	}
	return n.ID, n.Params.Task
}
