package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/models"
	"fleettasks/protocol"
)

// (h) 50 tasks rolling out at once at 1,200 a minute each (1,000 notifies
// a second in all) to 20,000 devices, on two worker processes: every
// task's notifies counted per 60 s window by an MQTT subscriber on the
// notify topics (each task's job document names it), the worst task's
// deviation from 1,200 reported — target within ±2 %.
func (b *benchRun) fleetRates(ctx context.Context) error {
	const devices, tasks, perMinute = 20_000, 50, 1200
	b.stopRollout()
	if err := b.resetTasks(ctx); err != nil {
		return err
	}
	if err := b.seedProduct(ctx, "bench-h", devices); err != nil {
		return err
	}
	var mu sync.Mutex
	arrivals := make([][]time.Time, tasks) // by task, as the subscriber got them
	sub, err := listenNotifies(b.cfg.MQTTURL, "bench-h", func(t protocol.Task, at time.Time) {
		var doc struct {
			Task int `json:"benchTask"`
		}
		if models.SubStatus(t.Status) != models.SubSent || json.Unmarshal(t.JobDocument, &doc) != nil || doc.Task < 1 || doc.Task > tasks {
			return
		}
		mu.Lock()
		arrivals[doc.Task-1] = append(arrivals[doc.Task-1], at)
		mu.Unlock()
	})
	if err != nil {
		return err
	}
	defer sub.Disconnect(100)
	for _, name := range []string{"w1", "w2"} {
		w, err := b.startWorker(ctx, name)
		if err != nil {
			return err
		}
		defer stopServer(w)
	}

	// created through the API's path, scheduled for later, then all moved
	// to one common second a few seconds ahead (creating 1,000,000 sub-tasks
	// takes a while)
	later := time.Now().Add(time.Hour)
	rate := perMinute
	ids := make([]models.ID, tasks)
	for k := range ids {
		task, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: fmt.Sprintf("fleet-%d", k+1),
			Target:      models.TargetInput{Type: models.TargetProduct, ProductKey: "bench-h"},
			JobDocument: json.RawMessage(fmt.Sprintf(`{"benchTask":%d}`, k+1)), RolloutPerMinute: &rate, ScheduledAt: &later})
		if err != nil {
			return err
		}
		ids[k] = task.ID
	}
	start := time.Now().Add(5 * time.Second).Truncate(time.Second)
	if _, err := b.db.Pool.Exec(ctx, `UPDATE tasks SET scheduled_at = $2 WHERE id = ANY($1)`, ids, start); err != nil {
		return err
	}
	end := start.Add(time.Duration(b.hMinutes) * time.Minute)
	fmt.Printf("(h) %d tasks × %d devices at %d/min each, two worker processes, %d windows of 60 s from %s\n",
		tasks, devices, perMinute, b.hMinutes, start.Format(time.TimeOnly))
	select {
	case <-time.After(time.Until(end) + 2*time.Second): // the last second's notifies in flight
	case <-ctx.Done():
		return ctx.Err()
	}

	mu.Lock()
	defer mu.Unlock()
	worst, worstTask, worstWindow := 0.0, 0, 0
	for w := 0; w < b.hMinutes; w++ {
		from, to := start.Add(time.Duration(w)*time.Minute), start.Add(time.Duration(w+1)*time.Minute)
		lo, hi := math.MaxInt, 0
		for k, as := range arrivals {
			n := 0
			for _, at := range as {
				if !at.Before(from) && at.Before(to) {
					n++
				}
			}
			lo, hi = min(lo, n), max(hi, n)
			if d := math.Abs(float64(n-perMinute)) / perMinute; d >= worst {
				worst, worstTask, worstWindow = d, k+1, w+1
			}
		}
		fmt.Printf("(h)   window %d: notifies per task min %d, max %d\n", w+1, lo, hi)
	}
	total := 0
	for _, as := range arrivals {
		total += len(as)
	}
	fmt.Printf("(h) worst task's deviation from %d a minute: %.2f %% (task %d, window %d); %d notifies in all (%.0f/s)  target within ±2 %%\n",
		perMinute, 100*worst, worstTask, worstWindow, total, float64(total)/end.Sub(start).Seconds())

	var lags []string
	for _, id := range ids {
		task, err := b.tasks.GetTask(ctx, id)
		if err != nil {
			return err
		}
		lag, ok := rolloutLag(task)
		if !ok {
			lags = nil
			break
		}
		lags = append(lags, lag)
	}
	if lags == nil {
		fmt.Println("(h) rollout lag: models.Task has no rollout lag figure yet (see rolloutLag in bench_fleet.go)")
	} else {
		fmt.Printf("(h) rollout lag of each task at the end: %s\n", strings.Join(lags, ", "))
	}
	return b.resetTasks(ctx)
}

// rolloutLag is THE ONE PLACE that reads a task's own rollout lag figure,
// which the new engine adds to models.Task: the first exported field whose
// name contains "Lag", printed as it is. Until the field exists it reports
// false. Once its name and type are settled, read it directly here.
func rolloutLag(t *models.Task) (string, bool) {
	v := reflect.Indirect(reflect.ValueOf(t))
	for i := 0; i < v.NumField(); i++ {
		if f := v.Type().Field(i); f.IsExported() && strings.Contains(f.Name, "Lag") {
			return fmt.Sprint(reflect.Indirect(v.Field(i)).Interface()), true
		}
	}
	return "", false
}

// listenNotifies subscribes (QoS 1) to the notify topics of product pk and
// calls fn with each notify's task and its arrival time, in arrival order.
func listenNotifies(url, pk string, fn func(protocol.Task, time.Time)) (mqtt.Client, error) {
	handler := func(_ mqtt.Client, m mqtt.Message) {
		at := time.Now()
		var msg protocol.Notify
		if json.Unmarshal(m.Payload(), &msg) == nil {
			fn(msg.Params.Task, at)
		}
	}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("bench-notifies-%s-%d", pk, time.Now().UnixNano())).
		SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("notify subscriber: %v", tok.Error())
	}
	if tok := c.Subscribe(protocol.Topic(pk, "+", protocol.KindNotify), 1, handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.Disconnect(100)
		return nil, fmt.Errorf("notify subscriber: %v", tok.Error())
	}
	return c, nil
}

// startWorker runs `fleettasks worker` as a child process with broker
// sessions of its own (FLEETTASKS_MQTT_CLIENT_ID) in the bench's share
// group, and waits until its bridge has subscribed.
func (b *benchRun) startWorker(ctx context.Context, name string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "worker")
	cmd.Env = append(os.Environ(), b.env...)
	cmd.Env = append(cmd.Env, "FLEETTASKS_TEST_MAIN=", "FLEETTASKS_MQTT_CLIENT_ID="+b.cfg.MQTTClientID+"-"+name)
	logs := &logWatch{mark: []byte("mqtt ingest subscribed"), ready: make(chan struct{}), show: os.Getenv("FLEETTASKS_BENCH_LOG") != ""}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	select {
	case <-logs.ready:
		return cmd, nil
	case <-time.After(30 * time.Second):
		stopServer(cmd)
		return nil, fmt.Errorf("worker %s did not subscribe within 30 s", name)
	}
}

// logWatch takes a child's log (passing it on when show is set) and closes
// ready once mark has appeared in it.
type logWatch struct {
	mark  []byte
	ready chan struct{}
	show  bool
	tail  []byte
	seen  bool
}

func (w *logWatch) Write(p []byte) (int, error) {
	if w.show {
		os.Stderr.Write(p)
	}
	if !w.seen {
		buf := append(w.tail, p...)
		if bytes.Contains(buf, w.mark) {
			w.seen = true
			close(w.ready)
		}
		w.tail = append([]byte(nil), buf[max(0, len(buf)-len(w.mark)):]...)
	}
	return len(p), nil
}
