package workers

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"fleettasks/models"
)

var (
	logDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "fleettasks_message_log_dropped_total",
		Help: "Message log entries dropped because the writer fell behind (its queue full, in entries or bytes) or the database refused them.",
	})
	logOverBudget = promauto.NewCounter(prometheus.CounterOpts{
		Name: "fleettasks_message_log_over_budget_total",
		Help: "Message log entries not stored because their device had spent its daily budget.",
	})
)

// DefaultLogQueueBytes bounds the bytes of entries a LogWriter holds,
// queued or being written: 64 MB.
const DefaultLogQueueBytes = 64 << 20

// LogWriter appends to the device message log in batches (COPY), off the
// hot path of the bridge and the rollout.
type LogWriter struct {
	db         *models.DB
	log        *slog.Logger
	in         chan models.LogEntry
	dailyBytes int64
	maxQueued  int64
	// queued is the Size of the entries in `in` and in the batch being
	// written; Add refuses entries past maxQueued. The entry count of the
	// channel alone would let 100,000 payloads of 64 KB take 6.5 GB.
	queued atomic.Int64
}

// LogWriterOption configures a LogWriter.
type LogWriterOption func(*LogWriter)

// WithDailyBudget is how many bytes each device may log a UTC day
// (models.DefaultLogDailyBytes unless given).
func WithDailyBudget(bytes int64) LogWriterOption {
	return func(w *LogWriter) { w.dailyBytes = bytes }
}

// WithQueueBytes bounds the bytes of entries held (DefaultLogQueueBytes
// unless given).
func WithQueueBytes(bytes int64) LogWriterOption {
	return func(w *LogWriter) { w.maxQueued = bytes }
}

// NewLogWriter returns a writer; Run must be running for entries to land.
func NewLogWriter(db *models.DB, log *slog.Logger, opts ...LogWriterOption) *LogWriter {
	w := &LogWriter{db: db, log: log, in: make(chan models.LogEntry, 100_000),
		dailyBytes: models.DefaultLogDailyBytes, maxQueued: DefaultLogQueueBytes}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Add queues entries; if the writer is that far behind, they are dropped
// and counted rather than slowing the devices down. Refused requests are
// cut here already, so that their full payloads are not held meanwhile.
func (w *LogWriter) Add(entries ...models.LogEntry) {
	for _, e := range entries {
		e = e.Cut()
		n := e.Size()
		if w.queued.Add(n) > w.maxQueued {
			w.queued.Add(-n)
			logDropped.Inc()
			continue
		}
		select {
		case w.in <- e:
		default:
			w.queued.Add(-n)
			logDropped.Inc()
		}
	}
}

// Run writes batches every 100 ms, or at 5,000 entries or a quarter of the
// byte bound (so that the queue keeps taking entries while a batch is
// written), until ctx ends, then flushes what is queued.
func (w *LogWriter) Run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	batch := make([]models.LogEntry, 0, 5000)
	var batchBytes int64
	flush := func() {
		if len(batch) == 0 {
			return
		}
		fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := w.db.WriteLog(fctx, batch, w.dailyBytes)
		if err != nil {
			w.log.Error("message log write failed", "entries", len(batch), "err", err)
			logDropped.Add(float64(len(batch)))
		}
		logOverBudget.Add(float64(res.OverBudget))
		clear(batch) // let the payloads go
		batch = batch[:0]
		w.queued.Add(-batchBytes)
		batchBytes = 0
	}
	add := func(e models.LogEntry) {
		batch = append(batch, e)
		if batchBytes += e.Size(); len(batch) == cap(batch) || batchBytes >= w.maxQueued/4 {
			flush()
		}
	}
	for {
		select {
		case e := <-w.in:
			add(e)
		case <-tick.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case e := <-w.in:
					add(e)
				default:
					flush()
					return
				}
			}
		}
	}
}
