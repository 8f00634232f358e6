package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
)

// A worker told to stop (SIGTERM) while devices report: the batches in
// progress finish, the process exits 0 within the grace period, and what it
// left unacknowledged the broker gives to the next worker with the same
// client id, so every update is applied and answered 200 (twice at most,
// with the same bytes), never 500 nor 409.
func TestWorkerSIGTERMMidBatch(t *testing.T) {
	t.Parallel()
	env, db := workerEnv(t)
	// A broker of its own, with Mosquitto's default limits (20 messages in
	// flight, 1,000 queued a client): the worker's ingest sessions take
	// every device message on a broker, and while no worker is connected
	// they would queue (and, past 1,000, drop) other tests' messages too.
	// 8 ingest sessions share the 2,000 updates: 250 each.
	brokerURL := testenv.NewBrokerWith(t, "allow_anonymous true\nmax_queued_messages 1000\n").URL()
	env = append(env, "FLEETTASKS_MQTT_URL="+brokerURL, "FLEETTASKS_MQTT_INGEST_CONNS=8")
	ctx := context.Background()
	// four products of 500 devices, each with a reply listener of its own,
	// so that no listener's broker queue could overflow even with
	// Mosquitto's default of 1,000 (500 replies, and 500 repeated at most)
	const products, per = 4, 500
	const n = products * per
	base := testenv.Prefix(t)
	var refs []models.DeviceRef
	var listeners []*replyListener
	byProduct := map[string]*replyListener{}
	for p := 0; p < products; p++ {
		pk := base + strconv.Itoa(p)
		refs = append(refs, testenv.SeedDevices(t, db, pk, per)...)
		l := listenReplies(t, brokerURL, pk)
		listeners, byProduct[pk] = append(listeners, l), l
	}
	task, stats := createTask(t, db, models.TargetInput{Type: "DEVICE_LIST", Devices: refs}, models.MaxRolloutPerMin)
	worker := startWorker(t, env)
	waitFor(t, 30*time.Second, "every sub-task SENT", func() bool { return stats().Sent == n })

	type sub struct{ id, pk, dn string }
	var subs []sub
	rows, err := db.Pool.Query(ctx, `SELECT id, product_key, device_name FROM subtasks WHERE task_id = $1 ORDER BY id`, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var s sub
		if err := rows.Scan(&id, &s.pk, &s.dn); err != nil {
			t.Fatal(err)
		}
		s.id = strconv.FormatInt(id, 10)
		subs = append(subs, s)
	}
	rows.Close()
	if len(subs) != n {
		t.Fatalf("%d sub-tasks, want %d", len(subs), n)
	}
	want := map[string]string{} // topic of the reply -> the reply
	for i, s := range subs {
		want[protocol.Topic(s.pk, s.dn, protocol.KindUpdateReply)] =
			fmt.Sprintf(`{"id":"%d","code":200,"data":{"taskId":"%s","status":"IN_PROGRESS"}}`, i+1, s.id)
	}
	replies := func() (answered, total int) {
		for _, l := range listeners {
			a, r := l.counts()
			answered, total = answered+a, total+r
		}
		return
	}

	first := make(chan struct{})
	var once sync.Once
	for _, l := range listeners {
		l.mu.Lock()
		l.onFirst = func() { once.Do(func() { close(first) }) }
		l.mu.Unlock()
	}
	// one IN_PROGRESS update per device, QoS 1, as fast as one client can
	c := testenv.MQTTClient(t, brokerURL)
	published := make(chan error, 1)
	go func() {
		toks := make([]mqtt.Token, 0, n)
		for i, s := range subs {
			toks = append(toks, c.Publish(protocol.Topic(s.pk, s.dn, protocol.KindUpdate), 1, false,
				fmt.Sprintf(`{"id":"%d","version":"1.0","params":{"taskId":"%s","status":"IN_PROGRESS","progress":%d}}`, i+1, s.id, i%101)))
		}
		for _, tok := range toks {
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				published <- fmt.Errorf("publish: %v", tok.Error())
				return
			}
		}
		published <- nil
	}()
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		t.Fatal("no reply to the updates")
	}
	termAt := time.Now()
	if err := worker.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	atTerm, _ := replies()
	select {
	case <-worker.done:
		if worker.err != nil {
			t.Fatalf("the worker exited with %v after SIGTERM; its log ends:\n%s", worker.err, worker.log.tail(40))
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the worker did not exit within 20 s of SIGTERM; its log ends:\n%s", worker.log.tail(40))
	}
	shutdown := time.Since(termAt)
	atExit, _ := replies()
	var appliedAtExit int64
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM subtasks WHERE task_id = $1 AND status = 'IN_PROGRESS'`, task.ID).Scan(&appliedAtExit)
	t.Logf("SIGTERM with %d of %d updates answered; exit code 0 after %v, with %d answered and %d applied; %d times the log says messages were held",
		atTerm, n, shutdown.Round(time.Millisecond), atExit, appliedAtExit, strings.Count(worker.log.String(), "device messages held"))
	if err := <-published; err != nil {
		t.Fatal(err)
	}

	// the next worker takes over the same broker sessions
	restartAt := time.Now()
	second := startWorker(t, env)
	deadline, quiet, lastTotal := time.Now().Add(30*time.Second), time.Now(), 0
	for ; ; time.Sleep(50 * time.Millisecond) {
		answered, total := replies()
		applied := stats().InProgress
		if answered == n && applied == n {
			break
		}
		if total != lastTotal {
			quiet, lastTotal = time.Now(), total
		}
		// every update applied and no reply for 5 s: none is coming
		if time.Now().Before(deadline) && (applied < n || time.Since(quiet) < 5*time.Second) {
			continue
		}
		// which are missing: applied but not answered (a reply lost), or
		// neither (an update lost)?
		status := map[string]string{}
		rows, err := db.Pool.Query(ctx, `SELECT id, status FROM subtasks WHERE task_id = $1`, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var st string
			rows.Scan(&id, &st)
			status[strconv.FormatInt(id, 10)] = st
		}
		rows.Close()
		unanswered := map[string][]string{}
		for _, sb := range subs {
			l := byProduct[sb.pk]
			l.mu.Lock()
			_, ok := l.got[protocol.Topic(sb.pk, sb.dn, protocol.KindUpdateReply)]
			l.mu.Unlock()
			if !ok {
				unanswered[status[sb.id]] = append(unanswered[status[sb.id]], sb.pk+"/"+sb.dn)
			}
		}
		for st, dns := range unanswered {
			topics := make([]string, len(dns))
			for i, d := range dns {
				pk, dn, _ := strings.Cut(d, "/")
				topics[i] = protocol.Topic(pk, dn, protocol.KindUpdateReply)
			}
			// the server's message log records each reply it published
			var logged int
			var last time.Time
			db.Pool.QueryRow(ctx, `SELECT count(*), coalesce(max(time), 'epoch') FROM device_messages WHERE direction = 'c2d' AND topic = ANY($1)`,
				topics).Scan(&logged, &last)
			t.Errorf("%d devices unanswered with their sub-task %s, e.g. %v; the server's message log has %d replies published to them, the last %v before the first worker exited",
				len(dns), st, dns[:min(5, len(dns))], logged, termAt.Add(shutdown).Sub(last))
		}
		t.Fatalf("%v after the restart: %d of %d updates answered, %d applied; the first worker's log ends:\n%s\nthe second's:\n%s",
			time.Since(restartAt).Round(time.Millisecond), answered, n, applied, worker.log.tail(10), second.log.tail(10))
	}
	t.Logf("the second worker finished in %v", time.Since(restartAt).Round(time.Millisecond))
	// A late repeated reply would be an update the broker redelivers from
	// a session's queue after all were answered. Nothing the test can see
	// says a shared session's queue is empty (the broker's $SYS figures
	// are periodic and broker-wide), so a fixed wait it is: a redelivery
	// comes on the session's resumption, well within this.
	time.Sleep(500 * time.Millisecond)
	_, total := replies()
	repeated, bad := 0, 0
	for _, l := range listeners {
		l.mu.Lock()
		for topic, got := range l.got {
			repeated += len(got) - 1
			for _, r := range got {
				if r != want[topic] {
					if bad++; bad <= 5 {
						t.Errorf("%s: %s, want %s", topic, r, want[topic])
					}
				}
			}
		}
		l.mu.Unlock()
	}
	if bad > 0 {
		t.Errorf("%d wrong replies", bad)
	}
	byFirst := 0 // devices answered by the first worker
	for _, l := range listeners {
		l.mu.Lock()
		for _, at := range l.at {
			if at[0].Before(restartAt) {
				byFirst++
			}
		}
		l.mu.Unlock()
	}
	t.Logf("%d replies in all, %d of them repeated; the first worker applied %d updates and answered %d", total, repeated, appliedAtExit, byFirst)
	if t.Failed() {
		t.Logf("the second worker's log ends:\n%s", second.log.tail(40))
	}
	progress := map[string]int{}
	for i, s := range subs {
		progress[s.id] = i % 101
	}
	rows, err = db.Pool.Query(ctx, `SELECT id, status, progress FROM subtasks WHERE task_id = $1`, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for rows.Next() {
		var id int64
		var status string
		var p int
		if err := rows.Scan(&id, &status, &p); err != nil {
			t.Fatal(err)
		}
		if status != "IN_PROGRESS" || p != progress[strconv.FormatInt(id, 10)] {
			if wrong++; wrong <= 5 {
				t.Errorf("sub-task %d: %s %d%%, want IN_PROGRESS %d%%", id, status, p, progress[strconv.FormatInt(id, 10)])
			}
		}
	}
	rows.Close()
	if wrong > 0 {
		t.Fatalf("%d sub-tasks are not IN_PROGRESS with their progress", wrong)
	}
}

// workerProcess is a `fleettasks worker` child process with its log.
type workerProcess struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when it has exited
	err  error         // how it exited, once done
}

// startWorker runs `fleettasks worker` as startProcess does, keeping its log.
func startWorker(t *testing.T, env []string) *workerProcess {
	t.Helper()
	p := &workerProcess{log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = append(os.Environ(), append(env, "FLEETTASKS_TEST_MAIN=worker")...)
	p.cmd.Stderr = p.log
	if os.Getenv("FLEETTASKS_TEST_LOG") != "" {
		p.cmd.Stderr = io.MultiWriter(p.log, os.Stderr)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// syncBuffer is a process's log, written and read concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the last n lines.
func (b *syncBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// replyListener records the update replies of one product's devices, by
// topic (QoS 1, so that the broker queues rather than drops them).
type replyListener struct {
	mu      sync.Mutex
	got     map[string][]string
	at      map[string][]time.Time
	total   int
	onFirst func()
}

func listenReplies(t *testing.T, broker, pk string) *replyListener {
	t.Helper()
	l := &replyListener{got: map[string][]string{}, at: map[string][]time.Time{}}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("replies-" + pk + "-" + testenv.ID()).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("reply listener: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(protocol.Topic(pk, "+", protocol.KindUpdateReply), 1, func(_ mqtt.Client, m mqtt.Message) {
		l.mu.Lock()
		l.got[m.Topic()] = append(l.got[m.Topic()], string(m.Payload()))
		l.at[m.Topic()] = append(l.at[m.Topic()], time.Now())
		l.total++
		first := l.onFirst
		l.mu.Unlock()
		if first != nil {
			first()
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("reply listener: %v", tok.Error())
	}
	return l
}

// counts are how many devices were answered and how many replies came.
func (l *replyListener) counts() (devices, replies int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.got), l.total
}
