package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/device"
	"fleettasks/models"
	"fleettasks/protocol"
)

// benchFleet is the simulated devices of the benchmark: they count the
// notifies they receive and keep their sub-task ids.
type benchFleet struct {
	fleet   *device.Fleet
	clients []*device.Client
	got     atomic.Int64
	mu      sync.Mutex
	first   time.Time
	last    time.Time
	taskIDs []string // by device index, from SENT notifies
}

func (b *benchRun) newFleet(ctx context.Context, url, pk string, n int) (*benchFleet, error) {
	f, err := device.NewFleet(ctx, device.FleetConfig{BrokerURL: url, ProductKey: pk, Conns: (n + 999) / 1000,
		QoS: 1, RequestTimeout: 5 * time.Second, Retries: 5})
	if err != nil {
		return nil, err
	}
	bf := &benchFleet{fleet: f, taskIDs: make([]string, n)}
	for i := 0; i < n; i++ {
		i := i
		c, err := f.Add(fmt.Sprintf("d%d", i+1), device.Handlers{OnNotify: func(nt device.Notify) {
			now := time.Now()
			bf.mu.Lock()
			if bf.first.IsZero() {
				bf.first = now
			}
			bf.last = now
			if nt.Task.Status == "SENT" {
				bf.taskIDs[i] = nt.Task.TaskID
			}
			bf.mu.Unlock()
			bf.got.Add(1)
		}})
		if err != nil {
			f.Close()
			return nil, err
		}
		bf.clients = append(bf.clients, c)
	}
	return bf, nil
}

// waitFor waits until the fleet received want notifies; it returns the
// delivery rate from the first to the last.
func (bf *benchFleet) waitFor(want int64, limit time.Duration) (float64, error) {
	deadline := time.Now().Add(limit)
	for bf.got.Load() < want {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d of %d notifies received in %v", bf.got.Load(), want, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	bf.mu.Lock()
	defer bf.mu.Unlock()
	return float64(want-1) / bf.last.Sub(bf.first).Seconds(), nil
}

func (bf *benchFleet) reset() {
	bf.mu.Lock()
	bf.first, bf.last = time.Time{}, time.Time{}
	bf.mu.Unlock()
	bf.got.Store(0)
}

// (b) rollout of 20,000 sub-tasks at 600,000 a minute (six tasks at the
// 100,000 maximum each) to simulated devices: notifies delivered per second,
// against a raw paho QoS 1 publish loop to the same broker and devices.
// (f) the server's peak RSS during it.
//
// On the embedded broker (b.embedded) one server runs for all the runs,
// since the broker the devices are connected to lives in it.
func (b *benchRun) rollout(ctx context.Context) error {
	const n, tasks = 20_000, 6
	if err := b.seedProduct(ctx, "bench-b", n); err != nil {
		return err
	}
	var server *exec.Cmd
	kept := false // the last run's fleet and server are kept for (c)
	defer func() {
		if !kept && server != nil {
			stopServer(server)
		}
	}()
	if b.embedded {
		var err error
		if server, err = b.startServer(ctx); err != nil {
			return err
		}
	}
	fleet, err := b.newFleet(ctx, b.cfg.MQTTURL, "bench-b", n)
	if err != nil {
		return err
	}
	defer func() {
		if !kept {
			fleet.fleet.Close()
		}
	}()
	time.Sleep(3 * time.Second) // the devices' first $list, before the server runs, goes unanswered

	var ours, raw []float64
	var rss []int64
	for r := 0; r < b.runs; r++ {
		// raw baseline: one client publishing the same notifies, QoS 1
		fleet.reset()
		rate, err := b.rawPublish(ctx, fleet, n, r)
		if err != nil {
			return err
		}
		raw = append(raw, rate)

		if err := b.resetTasks(ctx); err != nil {
			return err
		}
		if !b.embedded {
			if server, err = b.startServer(ctx); err != nil {
				return err
			}
		}
		fleet.reset()
		per := 100_000
		// the six tasks start together, as a rollout scheduled for one time
		start := time.Now().Add(2 * time.Second)
		for k := 0; k < tasks; k++ {
			refs := make([]models.DeviceRef, 0, n/tasks+1)
			for i := k; i < n; i += tasks {
				refs = append(refs, models.DeviceRef{ProductKey: "bench-b", DeviceName: fmt.Sprintf("d%d", i+1)})
			}
			if _, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: "rollout-" + strconv.Itoa(k), Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs},
				JobDocument: json.RawMessage(`{"version":"2.1","url":"https://example.invalid/fw.bin"}`), RolloutPerMinute: &per,
				ScheduledAt: &start}); err != nil {
				return err
			}
		}
		rate, err = fleet.waitFor(n, 2*time.Minute)
		if err != nil {
			return err
		}
		ours = append(ours, rate)
		rss = append(rss, peakRSS(server.Process.Pid))
		if r == b.runs-1 {
			// keep the last run's server and sub-tasks for (c)
			b.rolloutFleet, b.rolloutServer, kept = fleet, server, true
			fmt.Printf("(b%s) rollout of 20,000 sub-tasks at 600,000/min: %.0f notifies/s delivered (median; runs %v), raw paho QoS 1 loop %.0f/s (runs %v): %.2f of raw  target ≥ 10,000/s and ≥ 0.4\n",
				b.tag(), medianF(ours), rounded(ours), medianF(raw), rounded(raw), medianF(ours)/medianF(raw))
			fmt.Printf("(f%s) peak RSS of serve during (b): %.0f MB (median; runs %v MB)  target ≤ 150 MB\n", b.tag(), float64(medianI(rss))/1024, mbs(rss))
			b.record("(b) rollout, notifies/s", medianF(ours))
			b.record("(b) raw paho QoS 1 loop, /s", medianF(raw))
			b.record("(f) peak RSS of serve during (b), MB", float64(medianI(rss))/1024)
			return nil
		}
		if !b.embedded {
			stopServer(server)
			server = nil
		}
	}
	return nil
}

// rawPublish publishes n notifies, one per device, from a bare paho client
// as fast as it can (QoS 1, waiting for every acknowledgement at the end),
// and returns the rate at which the devices received them.
func (b *benchRun) rawPublish(ctx context.Context, fleet *benchFleet, n, run int) (float64, error) {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.cfg.MQTTURL).SetClientID(fmt.Sprintf("bench-raw-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return 0, fmt.Errorf("raw publisher: %v", tok.Error())
	}
	defer c.Disconnect(100)
	toks := make([]mqtt.Token, n)
	for i := 0; i < n; i++ {
		// ids new in every run: devices ignore a notify they have just seen
		id := strconv.Itoa(run*n + i + 1)
		payload := protocol.Marshal(protocol.Notify{ID: id, Version: protocol.Version, Params: protocol.NotifyParams{Task: protocol.Task{
			TaskID: "raw" + id, Status: "RAW", JobDocument: protocol.UserJSON(`{"version":"2.1","url":"https://example.invalid/fw.bin"}`)}}})
		toks[i] = c.Publish(protocol.Topic("bench-b", fmt.Sprintf("d%d", i+1), protocol.KindNotify), 1, false, payload)
	}
	for _, t := range toks {
		t.WaitTimeout(time.Minute)
	}
	return fleet.waitFor(int64(n), time.Minute)
}

// peakRSS reads a process's peak resident set (VmHWM) in KiB.
func peakRSS(pid int) int64 { return procStatus(pid, "VmHWM") }

func medianI(xs []int64) int64 {
	fs := make([]float64, len(xs))
	for i, x := range xs {
		fs[i] = float64(x)
	}
	return int64(medianF(fs))
}

func rounded(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

func mbs(xs []int64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x / 1024)
	}
	return out
}
