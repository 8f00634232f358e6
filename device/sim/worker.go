package sim

import (
	"context"
	"slices"
	"sync"
	"time"

	"fleettasks/device"
	"fleettasks/protocol"
)

// worker is one simulated device: a queue of sub-tasks executed one at a
// time, oldest first.
type worker struct {
	sim       *Sim
	dn        string
	behaviour Behaviour
	c         *device.Client

	mu      sync.Mutex
	queue   []entry
	current string             // sub-task being executed, "" when idle
	stop    context.CancelFunc // stops the current sub-task
	running bool
	last    map[string]reported // sub-task id → the last status this device reported
}

// entry is a queued sub-task; task is set when it came by notify.
type entry struct {
	id   string
	task *protocol.Task
}

func (w *worker) onNotify(n device.Notify) {
	switch n.Task.Status {
	case "SENT":
		t := n.Task
		w.take(entry{id: t.TaskID, task: &t}, "SENT")
	case "CANCELLED", "REMOVED":
		w.drop(n.Task.TaskID)
	}
}

// onResume takes up the listed sub-tasks this device is not already on.
func (w *worker) onResume(items []protocol.ListItem) {
	for _, it := range items {
		w.take(entry{id: it.TaskID}, it.Status)
	}
}

// take queues a sub-task unless it is queued or running already, or it
// repeats one this device is done with.
func (w *worker) take(e entry, status string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.id == w.current || slices.ContainsFunc(w.queue, func(q entry) bool { return q.id == e.id }) {
		return
	}
	if r, done := w.last[e.id]; done && !r.rerun(status) {
		return
	}
	w.queue = append(w.queue, e)
	w.sim.stats.received.Add(1)
	if !w.running && w.sim.spawn(w.run) {
		w.running = true
	}
}

// lateCopy is how long after hanging a sub-task a SENT for it is taken to
// be a late copy of the same push (a notify overtaken by a $list) rather
// than a rerun, which needs the in-progress timeout to pass first.
const lateCopy = 3 * time.Second

// reported is the last status a device reported for a sub-task, and when.
type reported struct {
	status string
	at     time.Time
}

// rerun reports whether a sub-task seen again with status is new work: only
// FAILED and timed-out (hanging) sub-tasks are rerun, and come back SENT.
func (r reported) rerun(status string) bool {
	switch {
	case status != "SENT":
		return false
	case r.status == "FAILED":
		return true
	case r.status == "IN_PROGRESS":
		return time.Since(r.at) > lateCopy
	}
	return false // SUCCEEDED and REJECTED are final
}

// drop stops a cancelled or removed sub-task, running or queued.
func (w *worker) drop(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id == w.current && w.stop != nil {
		w.stop()
		w.stop = nil
		w.sim.stats.cancelled.Add(1)
		return
	}
	if i := slices.IndexFunc(w.queue, func(q entry) bool { return q.id == id }); i >= 0 {
		w.queue = slices.Delete(w.queue, i, i+1)
		w.sim.stats.cancelled.Add(1)
	}
}

// run executes queued sub-tasks until the queue is empty.
func (w *worker) run() {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 || w.sim.ctx.Err() != nil {
			w.running = false
			w.mu.Unlock()
			return
		}
		e := w.queue[0]
		w.queue = w.queue[1:]
		ctx, stop := context.WithCancel(w.sim.ctx)
		w.current, w.stop = e.id, stop
		w.mu.Unlock()

		if status := w.execute(ctx, e); status != "" {
			w.mu.Lock()
			w.last[e.id] = reported{status, time.Now()}
			w.mu.Unlock()
		}
		stop()
		w.mu.Lock()
		w.current, w.stop = "", nil
		w.mu.Unlock()
	}
}
