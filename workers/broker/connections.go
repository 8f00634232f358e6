package broker

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"fleettasks/models"
	"fleettasks/protocol/signin"
)

// ConnectionStore records the devices' connections (the registry).
type ConnectionStore interface {
	RecordConnections(ctx context.Context, cs []models.ConnectionChange) error
	EndConnections(ctx context.Context, at time.Time, reason string) (int64, error)
}

const (
	// flushEvery is how often the connection writer writes what
	// happened; it writes at once when maxBatch devices are waiting.
	flushEvery = 100 * time.Millisecond
	maxBatch   = 2000
	// writeTimeout bounds one write of a batch.
	writeTimeout = 10 * time.Second
	// closeTimeout bounds the last writes when the broker stops.
	closeTimeout = 10 * time.Second
)

// Disconnect reasons, in words (connection state, logs and the
// disconnections counter).
const (
	reasonClient    = "client disconnected"
	reasonKeepalive = "keep-alive timeout"
	reasonLost      = "connection lost"
	reasonTakenOver = "taken over by a new connection"
	reasonShutdown  = "server shutdown"
	reasonRestart   = "server restarted"
	reasonProtocol  = "protocol error"
)

// connWriter hands the devices' connects and disconnects to the store
// in batches, so that the broker never waits for the database: the hook
// only updates a map holding, per device, what happened since the last
// write. A batch that fails is merged back under what came since and
// written again, so nothing is lost while the database is down, and the
// map never holds more than one entry per device.
type connWriter struct {
	store ConnectionStore
	log   *slog.Logger

	mu      sync.Mutex
	lastID  int64 // the last connection id given
	pending map[models.DeviceRef]*models.ConnectionChange
	failing bool // the last write failed (logged once until one succeeds)

	full chan struct{} // maxBatch devices are waiting
	stop chan struct{}
	done chan struct{}
}

func newConnWriter(store ConnectionStore, log *slog.Logger) *connWriter {
	w := &connWriter{store: store, log: log, pending: map[models.DeviceRef]*models.ConnectionChange{},
		// ids grow across restarts too, as the clock does
		lastID: time.Now().UnixNano(),
		full:   make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// connect records that dev connected now from addr with SDK sdk, and
// returns the new connection's id.
func (w *connWriter) connect(dev signin.Device, addr, sdk string) int64 {
	now := time.Now().UTC()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastID++
	w.add(&models.ConnectionChange{Device: ref(dev), ID: w.lastID, ConnectedAt: &now, Address: addr, SDK: sdk})
	return w.lastID
}

// disconnect records that connection id of dev ended now for reason.
func (w *connWriter) disconnect(dev signin.Device, id int64, reason string) {
	now := time.Now().UTC()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.add(&models.ConnectionChange{Device: ref(dev), ID: id, DisconnectedAt: &now, Reason: reason})
}

func ref(d signin.Device) models.DeviceRef {
	return models.DeviceRef{ProductKey: d.ProductKey, DeviceName: d.DeviceName}
}

// add merges c, which happened after what is pending, into the pending
// change of its device. w.mu is held.
func (w *connWriter) add(c *models.ConnectionChange) {
	if p, ok := w.pending[c.Device]; ok {
		merge(p, c)
	} else {
		w.pending[c.Device] = c
	}
	if len(w.pending) >= maxBatch {
		select {
		case w.full <- struct{}{}:
		default:
		}
	}
}

// merge folds c, which happened after p, into p: a connect replaces
// whatever came before (the device is on a new connection); the end of
// the connection p names ends it; the end of an older connection changes
// nothing.
func merge(p, c *models.ConnectionChange) {
	if c.ConnectedAt != nil {
		*p = *c
		return
	}
	switch {
	case c.ID < p.ID:
	case c.ID == p.ID:
		p.DisconnectedAt, p.Reason = c.DisconnectedAt, c.Reason
	default:
		*p = *c
	}
}

func (w *connWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		case <-w.full:
		}
		for w.flush(context.Background()) {
		}
	}
}

// flush writes up to maxBatch pending changes and reports whether it
// wrote some and more are waiting.
func (w *connWriter) flush(ctx context.Context) bool {
	w.mu.Lock()
	batch := make([]models.ConnectionChange, 0, min(len(w.pending), maxBatch))
	for dev, c := range w.pending {
		if len(batch) == maxBatch {
			break
		}
		batch = append(batch, *c)
		delete(w.pending, dev)
	}
	w.mu.Unlock()
	if len(batch) == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	err := w.store.RecordConnections(ctx, batch)
	cancel()

	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		// put the batch back, under what happened since
		for i := range batch {
			c := &batch[i]
			if later, ok := w.pending[c.Device]; ok {
				merge(c, later)
			}
			w.pending[c.Device] = c
		}
		if !w.failing {
			w.log.Error("broker: cannot record device connections; retrying", "devices", len(w.pending), "err", err)
		}
		w.failing = true
		return false
	}
	if w.failing {
		w.log.Info("broker: device connections recorded again")
		w.failing = false
	}
	return len(w.pending) > 0
}

// close stops the writer after writing what is pending, for at most
// closeTimeout.
func (w *connWriter) close() {
	close(w.stop)
	<-w.done
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	for ctx.Err() == nil {
		w.mu.Lock()
		n := len(w.pending)
		w.mu.Unlock()
		if n == 0 {
			return
		}
		if !w.flush(ctx) && w.failing {
			time.Sleep(flushEvery)
		}
	}
	w.log.Error("broker: device connections left unrecorded at stop; the next start marks them offline")
}

// disconnectReason says in words why mochi ended a client's connection:
// the first cause it stopped the client with, else the error its read
// loop ended with (err; nil after a DISCONNECT packet).
func disconnectReason(cl *mqtt.Client, err error) string {
	cause := cl.StopCause()
	if cause == nil {
		cause = err
	}
	var code packets.Code
	switch {
	case cause == nil:
		return reasonClient
	case errors.As(cause, &code):
		switch code {
		case packets.CodeDisconnect, packets.CodeDisconnectWillMessage:
			return reasonClient
		case packets.ErrSessionTakenOver:
			return reasonTakenOver
		case packets.ErrServerShuttingDown:
			return reasonShutdown
		case packets.ErrKeepAliveTimeout:
			return reasonKeepalive
		}
		return reasonProtocol
	case errors.Is(cause, os.ErrDeadlineExceeded):
		// the read deadline is the keep-alive (one and a half times it)
		return reasonKeepalive
	}
	return reasonLost
}
