package handlers

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"fleettasks/models"
)

// liveEvery is how often the live pages' tasks are read for changes.
const liveEvery = time.Second

var liveStreams = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "fleettasks_live_streams",
	Help: "Open live streams (server-sent events) of console pages in this process.",
})

// taskVersions is what the live pages use to learn that tasks changed.
type taskVersions interface {
	TaskVersions(ctx context.Context, ids []models.ID) (map[models.ID]models.TaskVersion, error)
}

// liveHub wakes the console's live streams when their tasks change. One
// poller per process reads the versions of every watched task in one query
// each interval, and only while some stream watches; the signal is in the
// database, so it works across web processes. It also caps the streams.
type liveHub struct {
	versions taskVersions
	every    time.Duration
	max      int
	log      *slog.Logger

	mu      sync.Mutex
	open    int
	watches map[*liveWatch]struct{}
	polling bool
}

func newLiveHub(v taskVersions, every time.Duration, max int, log *slog.Logger) *liveHub {
	return &liveHub{versions: v, every: every, max: max, log: log, watches: map[*liveWatch]struct{}{}}
}

// full reports whether a new stream would be refused (the page polls).
func (h *liveHub) full() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open >= h.max
}

// acquire counts a new stream; false when the cap is reached.
func (h *liveHub) acquire() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open >= h.max {
		return false
	}
	h.open++
	liveStreams.Inc()
	return true
}

// release uncounts a stream that acquire counted.
func (h *liveHub) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.open--
	liveStreams.Dec()
}

// liveWatch is one stream's interest: its tasks, the versions it has shown
// and a wake-up channel (one pending wake at most).
type liveWatch struct {
	hub  *liveHub
	seen map[models.ID]models.TaskVersion // guarded by hub.mu
	wake chan struct{}
}

// watch starts watching seen's tasks from the versions in it.
func (h *liveHub) watch(seen map[models.ID]models.TaskVersion) *liveWatch {
	w := &liveWatch{hub: h, seen: seen, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watches[w] = struct{}{}
	if !h.polling {
		h.polling = true
		go h.poll()
	}
	return w
}

// set replaces the watched tasks: those already watched keep their version,
// new ones are woken for at the next poll.
func (w *liveWatch) set(ids []models.ID) {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	seen := make(map[models.ID]models.TaskVersion, len(ids))
	for _, id := range ids {
		if v, ok := w.seen[id]; ok {
			seen[id] = v
		} else {
			seen[id] = models.TaskVersion{Row: -1}
		}
	}
	w.seen = seen
}

// stop ends the watch.
func (w *liveWatch) stop() {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	delete(w.hub.watches, w)
}

// poll reads the watched tasks' versions every interval and wakes the
// watches whose tasks moved; it returns when nothing is watched.
func (h *liveHub) poll() {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		var ids []models.ID
		for w := range h.watches {
			for id := range w.seen {
				ids = append(ids, id)
			}
		}
		if len(h.watches) == 0 {
			h.polling = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		slices.Sort(ids)
		ids = slices.Compact(ids)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		vs, err := h.versions.TaskVersions(ctx, ids)
		cancel()
		if err != nil {
			h.log.Warn("live pages: reading task versions", "err", err)
			continue
		}
		h.mu.Lock()
		for w := range h.watches {
			moved := false
			for id, v := range w.seen {
				if now, ok := vs[id]; ok && now != v {
					w.seen[id], moved = now, true
				}
			}
			if moved {
				select {
				case w.wake <- struct{}{}:
				default:
				}
			}
		}
		h.mu.Unlock()
	}
}
