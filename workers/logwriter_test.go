package workers

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// The writer holds at most its byte bound of entries; a refused request
// takes the room of its cut payload only; a flush gives the room back.
func TestLogWriterBoundsQueuedBytes(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	w := NewLogWriter(db, slog.New(slog.NewTextHandler(io.Discard, nil)), WithQueueBytes(1500))
	now := time.Now().UTC()
	entry := func(size int, code int) models.LogEntry {
		return models.LogEntry{Time: now, DeviceID: 1, Direction: models.DirectionD2C, Topic: "t", MessageID: "1",
			Payload: bytes.Repeat([]byte("x"), size-2), Code: &code}
	}
	for range 4 {
		w.Add(entry(300, 200))
	}
	w.Add(entry(60<<10, 429)) // cut: 258 bytes
	w.Add(entry(300, 200))    // 1,458 + 300 > 1,500: dropped
	if q := w.queued.Load(); q != 4*300+258 || len(w.in) != 5 {
		t.Fatalf("%d bytes in %d entries queued", q, len(w.in))
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for w.queued.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still held", w.queued.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	var n, cut int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE payload_size = $1 AND octet_length(payload) = 256)
		FROM device_messages`, 60<<10-2).Scan(&n, &cut); err != nil || n != 5 || cut != 1 {
		t.Fatalf("%d entries stored, %d cut; %v", n, cut, err)
	}
}
