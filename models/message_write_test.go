package models_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// logEntry is an entry of device dev whose Size is exactly size (topic
// "t", message id "1").
func logEntry(dev models.ID, at time.Time, dir string, code, size int) models.LogEntry {
	e := models.LogEntry{Time: at, DeviceID: dev, Direction: dir, Topic: "t", MessageID: "1", Payload: []byte(strings.Repeat("x", size-2))}
	if code != 0 {
		e.Code = &code
	}
	return e
}

// usageRow is device dev's row of device_log_usage for the UTC day of at.
func usageRow(t *testing.T, db *models.DB, dev models.ID, at time.Time) (logged, messages, dropped, droppedBytes, cut int64) {
	t.Helper()
	err := db.Pool.QueryRow(context.Background(), `SELECT logged_bytes, logged_messages, dropped_messages, dropped_bytes, cut_messages
		FROM device_log_usage WHERE device_id = $1 AND day = $2::date`, dev, at.UTC().Format(time.DateOnly)).
		Scan(&logged, &messages, &dropped, &droppedBytes, &cut)
	if err != nil {
		t.Fatalf("usage of device %s: %v", dev, err)
	}
	return
}

// storedBytes is how many entries of device dev are stored and their Size.
func storedBytes(t *testing.T, db *models.DB, dev models.ID) (n, bytes int64) {
	t.Helper()
	err := db.Pool.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(octet_length(payload) + octet_length(topic) + octet_length(message_id)), 0)
		FROM device_messages WHERE device_id = $1`, dev).Scan(&n, &bytes)
	if err != nil {
		t.Fatal(err)
	}
	return n, bytes
}

// Past its daily budget a device's entries are not stored; the counters
// record them, and each day has its own budget.
func TestWriteLogDailyBudget(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	now := time.Now().UTC()
	const budget = 1000
	first := []models.LogEntry{
		logEntry(1, now, "d2c", 200, 300), logEntry(2, now, "c2d", 200, 300), logEntry(1, now, "c2d", 200, 300),
		logEntry(1, now, "d2c", 200, 300), logEntry(1, now, "d2c", 200, 300), logEntry(1, now.AddDate(0, 0, -1), "d2c", 0, 900),
	}
	res, err := db.WriteLog(ctx, first, budget)
	if err != nil {
		t.Fatal(err)
	}
	if res != (models.LogWritten{Kept: 5, OverBudget: 1}) {
		t.Fatalf("first batch: %+v", res)
	}
	// 100 bytes are left today: a small entry fits, a large one does not,
	// and a small one after it still fits
	res, err = db.WriteLog(ctx, []models.LogEntry{logEntry(1, now, "d2c", 200, 60), logEntry(1, now, "d2c", 200, 300), logEntry(1, now, "c2d", 200, 40)}, budget)
	if err != nil {
		t.Fatal(err)
	}
	if res != (models.LogWritten{Kept: 2, OverBudget: 1}) {
		t.Fatalf("second batch: %+v", res)
	}
	if logged, msgs, dropped, droppedBytes, cut := usageRow(t, db, 1, now); logged != 1000 || msgs != 5 || dropped != 2 || droppedBytes != 600 || cut != 0 {
		t.Fatalf("device 1 today: %d bytes in %d messages, %d dropped (%d bytes), %d cut", logged, msgs, dropped, droppedBytes, cut)
	}
	if logged, msgs, dropped, _, _ := usageRow(t, db, 1, now.AddDate(0, 0, -1)); logged != 900 || msgs != 1 || dropped != 0 {
		t.Fatalf("device 1 yesterday: %d bytes in %d messages, %d dropped", logged, msgs, dropped)
	}
	if logged, msgs, dropped, _, _ := usageRow(t, db, 2, now); logged != 300 || msgs != 1 || dropped != 0 {
		t.Fatalf("device 2: %d bytes in %d messages, %d dropped", logged, msgs, dropped)
	}
	if n, bytes := storedBytes(t, db, 1); n != 6 || bytes != 1900 {
		t.Fatalf("device 1: %d entries of %d bytes stored", n, bytes)
	}

	u, err := models.NewRegistry(db, models.WithLogDailyBytes(budget)).DeviceLogUsage(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if *u != (models.LogUsage{Day: now.Format(time.DateOnly), KeptBytes: 1000, KeptMessages: 5, DroppedMessages: 2, DroppedBytes: 600, BudgetBytes: budget}) || !u.Limited() {
		t.Fatalf("usage: %+v", u)
	}
	if u, err := models.NewRegistry(db).DeviceLogUsage(ctx, 3); err != nil || u.KeptBytes != 0 || u.Limited() || u.BudgetBytes != models.DefaultLogDailyBytes {
		t.Fatalf("a device that logged nothing: %+v, %v", u, err)
	}
}

// A device request answered 400 or 429 is stored with the first 256 bytes
// of its payload and its original size; nothing else is cut.
func TestWriteLogCutsRefusedRequests(t *testing.T) {
	db, reg := newRegistry(t)
	dev := regProduct(t, reg, "cut", "d1")[0]
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	big := `{"id":"7","version":"1.0","params":{"pad":"` + strings.Repeat("y", 1000) + `"}}`
	entries := []models.LogEntry{
		{Time: now.Add(-5 * time.Second), DeviceID: dev.ID, Direction: "d2c", Topic: "t/get", MessageID: "7", Payload: []byte(big), Code: codeOf(429)},
		{Time: now.Add(-4 * time.Second), DeviceID: dev.ID, Direction: "d2c", Topic: "t/update", MessageID: "8", Payload: []byte(strings.Repeat("{", 300)), Code: codeOf(400)},
		{Time: now.Add(-3 * time.Second), DeviceID: dev.ID, Direction: "d2c", Topic: "t/get", MessageID: "9", Payload: []byte(`{"id":"9"}`), Code: codeOf(429)},
		{Time: now.Add(-2 * time.Second), DeviceID: dev.ID, Direction: "d2c", Topic: "t/update", MessageID: "10", Payload: []byte(big), Code: codeOf(200)},
		{Time: now.Add(-1 * time.Second), DeviceID: dev.ID, Direction: "c2d", Topic: "t/get_reply", MessageID: "7", Payload: []byte(big), Code: codeOf(429)},
	}
	res, err := db.WriteLog(ctx, entries, models.DefaultLogDailyBytes)
	if err != nil || res != (models.LogWritten{Kept: 5, Cut: 2}) {
		t.Fatalf("write: %+v, %v", res, err)
	}
	msgs, _, err := reg.ListDeviceMessages(ctx, "cut", "d1", models.MessageFilter{}, models.Page{Number: 1, Size: 10})
	if err != nil || len(msgs) != 5 {
		t.Fatalf("list: %d messages, %v", len(msgs), err)
	}
	want := []struct {
		size      int
		truncated bool
	}{{len(big), false}, {len(big), false}, {10, false}, {300, true}, {len(big), true}} // newest first
	for i, m := range msgs {
		if m.PayloadSize != want[i].size || m.Truncated != want[i].truncated {
			t.Errorf("message %s %s: payloadSize %d truncated %v, want %+v", m.MessageID, m.Topic, m.PayloadSize, m.Truncated, want[i])
		}
	}
	// the cut JSON is no JSON any more: it reads as a string of its first
	// 256 bytes
	var s string
	if err := json.Unmarshal(msgs[4].Payload, &s); err != nil || s != big[:256] {
		t.Fatalf("cut payload: %s (%v)", msgs[4].Payload, err)
	}
	item, _ := json.Marshal(msgs[4])
	if !strings.Contains(string(item), fmt.Sprintf(`"payloadSize":%d,"truncated":true`, len(big))) {
		t.Fatalf("API item: %s", item)
	}
	if item, _ := json.Marshal(msgs[2]); !strings.Contains(string(item), `"payload":{"id":"9"},"payloadSize":10,"truncated":false`) {
		t.Fatalf("API item: %s", item)
	}
	d, err := reg.GetDevice(ctx, "cut", "d1")
	if err != nil || d.MessageLog == nil || d.MessageLog.CutMessages != 2 || d.MessageLog.KeptMessages != 5 ||
		d.MessageLog.KeptBytes != int64(2*len(big)+(256+6)+(256+9)+(10+6)+(8+2)+(11+1)) {
		t.Fatalf("device's message log: %+v, %v", d.MessageLog, err)
	}
}

func codeOf(n int) *int { return &n }

// Two writers (two pools, as two worker processes) writing the same
// devices at once never store more than a device's budget, and every
// entry is counted once, stored or dropped.
func TestWriteLogWritersShareBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	open := func() *models.DB {
		db, err := models.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	dbs := []*models.DB{open(), open()}
	if _, err := dbs[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const budget, devices, batches = 20_000, 6, 30
	now := time.Now().UTC()
	var mu sync.Mutex
	sent := map[models.ID]int64{}
	var wg sync.WaitGroup
	for w, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for range batches {
				batch := make([]models.LogEntry, 40)
				for i := range batch {
					dev := models.ID(1 + rnd.IntN(devices))
					batch[i] = logEntry(dev, now, "d2c", 200, 50+rnd.IntN(750))
					mu.Lock()
					sent[dev]++
					mu.Unlock()
				}
				if _, err := db.WriteLog(ctx, batch, budget); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for dev := models.ID(1); dev <= devices; dev++ {
		n, bytes := storedBytes(t, dbs[0], dev)
		logged, msgs, dropped, _, _ := usageRow(t, dbs[0], dev, now)
		if bytes > budget || bytes != logged || n != msgs || msgs+dropped != sent[dev] || dropped == 0 {
			t.Errorf("device %s: %d entries of %d bytes stored; counted %d bytes in %d, %d dropped; %d sent",
				dev, n, bytes, logged, msgs, dropped, sent[dev])
		}
	}
}

// The budget figures go with the partitions of their days.
func TestLogUsageRetention(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	for _, day := range []string{"2026-02-07", "2026-02-08", "2026-02-09", "2026-03-10"} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO device_log_usage (device_id, day, logged_bytes) VALUES (1, $1::date, 5)`, day); err != nil {
			t.Fatal(err)
		}
	}
	// the partition of 2026-02-09 ends after the cutoff: it is kept
	if _, err := db.DropMessagePartitions(ctx, time.Date(2026, 2, 9, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var days []string
	rows, _ := db.Pool.Query(ctx, `SELECT day::text FROM device_log_usage ORDER BY day`)
	for rows.Next() {
		var d string
		rows.Scan(&d)
		days = append(days, d)
	}
	if rows.Err() != nil || strings.Join(days, ",") != "2026-02-09,2026-03-10" {
		t.Fatalf("days kept: %v, %v", days, rows.Err())
	}
}
