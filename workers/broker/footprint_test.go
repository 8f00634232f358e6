package broker_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/protocol"
	"fleettasks/protocol/signin"
)

// memory is the process's goroutines, stack and heap in use after two
// collections (the second shrinks the stacks the first found oversized).
func memory() (goroutines int, stack, heap uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.StackInuse, ms.HeapAlloc
}

// TestIdleConnectionsAreSmall: a signed-in device that says nothing costs
// the broker one parked goroutine with a small stack and a few kilobytes
// of heap, so that one process holds tens of thousands of them. (Stock
// mochi keeps a writer goroutine and a channel of pending writes for each
// connection, and the reader's stack as large as the sign-in made it:
// some 20 KB of stack and 16 KB of heap a connection here.)
func TestIdleConnectionsAreSmall(t *testing.T) {
	e := setup(t) // alone: it reads the process's memory
	const n = 1000
	names := make([]string, n)
	for i := range names {
		names[i] = "idle" + strconv.Itoa(i)
	}
	ds, err := e.reg.CreateDevices(context.Background(), e.pk, names)
	if err != nil {
		t.Fatal(err)
	}
	first := len(e.dev)
	for _, d := range ds {
		e.dev = append(e.dev, d)
		e.secret = append(e.secret, d.Secret)
	}
	g0, s0, h0 := memory()
	// they sign in together, as a fleet does after an outage: 50 at a time
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := first + w; i < first+n; i += 50 {
				e.rawConnect(t, i, 600)
			}
		}()
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // the implicit subscriptions are made just after the CONNACK
	g1, s1, h1 := memory()
	goroutines := float64(g1-g0) / n
	stack := float64(s1-s0) / n
	heap := float64(int64(h1)-int64(h0)) / n
	t.Logf("per idle connection: %.2f goroutines, %.0f bytes of stack, %.0f bytes of heap", goroutines, stack, heap)
	if goroutines > 1.05 {
		t.Errorf("%.2f goroutines a connection, want 1", goroutines)
	}
	if raceDetector {
		return // the goroutines are counted; the bytes are the race detector's
	}
	if stack > 6<<10 {
		t.Errorf("%.0f bytes of stack a connection, want at most 6 KB", stack)
	}
	if heap > 10<<10 {
		t.Errorf("%.0f bytes of heap a connection, want at most 10 KB", heap)
	}
}

// TestBacklogKeptInOrder: a device that stops reading while the server
// sends it 3,000 messages of 4 KB (more than the sockets' buffers hold)
// gets every one of them, in order, once it reads again: the connection's
// queue grows as needed and its writer flushes what it buffered.
func TestBacklogKeptInOrder(t *testing.T) {
	e := start(t)
	const n, size = 3000, 4 << 10
	release := make(chan struct{})
	got := make(chan string, n)
	var once sync.Once
	creds := signin.Sign(e.device(0), e.secret[0], signin.SignOptions{})
	d, err := e.connect(t, creds, func(_ paho.Client, m paho.Message) {
		once.Do(func() { <-release }) // paho's reader waits here: the socket fills up
		got <- string(m.Payload()[:8])
	})
	if err != nil {
		t.Fatal(err)
	}
	// released on any way out, before the client's own cleanup disconnects
	// it: a handler still waiting would hold that up for ever
	var closeOnce sync.Once
	free := func() { closeOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	// the implicit subscription is in place once a publish is acknowledged
	if tok := d.Publish(protocol.Topic(e.pk, "d1", protocol.KindUpdate), 1, false, "{}"); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("device publish: %v", tok.Error())
	}
	topic := protocol.Topic(e.pk, "d1", protocol.KindNotify)
	pad := make([]byte, size-8)
	for i := range n {
		if err := e.b.Publish(topic, append([]byte(fmt.Sprintf("%08d", i)), pad...), 0); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	free()
	for i := range n {
		select {
		case m := <-got:
			if want := fmt.Sprintf("%08d", i); m != want {
				t.Fatalf("message %d is %s", i, m)
			}
		case <-time.After(wait):
			t.Fatalf("%d of %d messages arrived", i, n)
		}
	}
}
