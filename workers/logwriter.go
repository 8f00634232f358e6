package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"fleettasks/models"
)

var logDropped = promauto.NewCounter(prometheus.CounterOpts{
	Name: "fleettasks_message_log_dropped_total",
	Help: "Message log entries dropped because the writer fell behind or the database refused them.",
})

// LogWriter appends to the device message log in batches (COPY), off the
// hot path of the bridge and the rollout.
type LogWriter struct {
	db  *models.DB
	log *slog.Logger
	in  chan models.LogEntry
}

// NewLogWriter returns a writer; Run must be running for entries to land.
func NewLogWriter(db *models.DB, log *slog.Logger) *LogWriter {
	return &LogWriter{db: db, log: log, in: make(chan models.LogEntry, 100_000)}
}

// Add queues entries; if the writer is that far behind, they are dropped
// and counted rather than slowing the devices down.
func (w *LogWriter) Add(entries ...models.LogEntry) {
	for _, e := range entries {
		select {
		case w.in <- e:
		default:
			logDropped.Inc()
		}
	}
}

// Run writes batches every 100 ms or 5,000 entries until ctx ends, then
// flushes what is queued.
func (w *LogWriter) Run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	batch := make([]models.LogEntry, 0, 5000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.db.WriteLog(fctx, batch); err != nil {
			w.log.Error("message log write failed", "entries", len(batch), "err", err)
			logDropped.Add(float64(len(batch)))
		}
		batch = batch[:0]
	}
	add := func(e models.LogEntry) {
		if batch = append(batch, e); len(batch) == cap(batch) {
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
