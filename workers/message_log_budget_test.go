package workers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fleettasks/protocol"
)

// A device flooding 60 KB requests through the real bridge: most are
// answered 429 and logged cut to 256 bytes, what it logs stays within its
// daily budget, and the counters account for every message in and out.
func TestMessageLogBudgetUnderFlood(t *testing.T) {
	t.Parallel()
	s := newStack(t, "FLEETTASKS_DEVICE_RATE=2", "FLEETTASKS_LOG_DEVICE_DAILY_MB=0.1")
	s.devices(1)
	ctx := context.Background()
	dev, err := s.app.Registry.GetDevice(ctx, s.pk, "d1")
	if err != nil {
		t.Fatal(err)
	}
	d := newRawDevice(t, s.pk, "d1")
	const n = 60
	pad := strings.Repeat("x", 60<<10)
	sent := 0
	for i := range n {
		payload := fmt.Sprintf(`{"id":"%d","version":"1.0","params":{"taskId":"$list","pad":"%s"}}`, 900+i, pad)
		sent = len(payload)
		d.publish(protocol.KindGet, 0, payload)
	}
	limited := 0
	for i := range n {
		r, ok := d.waitReply(protocol.KindGetReply, fmt.Sprint(900+i), 10*time.Second)
		if !ok {
			t.Fatalf("request %d not answered", i)
		}
		if r.Code == protocol.CodeTooMany {
			limited++
		}
	}
	if limited < n/2 {
		t.Fatalf("%d of %d requests limited at 2/s", limited, n)
	}

	// every request and every reply is either stored or counted as dropped
	budget := s.app.Config.LogDeviceDailyBytes
	var logged, messages, dropped, droppedBytes, cut int64
	eventually(t, 20*time.Second, "every message of the flood accounted for", func() bool {
		err := s.app.DB.Pool.QueryRow(ctx, `SELECT coalesce(sum(logged_bytes), 0), coalesce(sum(logged_messages), 0),
			coalesce(sum(dropped_messages), 0), coalesce(sum(dropped_bytes), 0), coalesce(sum(cut_messages), 0)
			FROM device_log_usage WHERE device_id = $1`, dev.ID).Scan(&logged, &messages, &dropped, &droppedBytes, &cut)
		return err == nil && messages+dropped == 2*n
	})
	var stored, storedBytes, wholeRefused, badCuts int64
	if err := s.app.DB.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(octet_length(payload) + octet_length(topic) + octet_length(message_id)), 0),
			count(*) FILTER (WHERE direction = 'd2c' AND code = 429 AND octet_length(payload) > 256),
			count(*) FILTER (WHERE payload_size IS NOT NULL AND (octet_length(payload) <> 256 OR payload_size <> $2))
		FROM device_messages WHERE device_id = $1`, dev.ID, sent).Scan(&stored, &storedBytes, &wholeRefused, &badCuts); err != nil {
		t.Fatal(err)
	}
	if storedBytes > budget || storedBytes != logged || stored != messages {
		t.Fatalf("%d entries of %d bytes stored against a budget of %d; counted %d bytes in %d", stored, storedBytes, budget, logged, messages)
	}
	if dropped == 0 || cut == 0 || wholeRefused != 0 || badCuts != 0 {
		t.Fatalf("dropped %d (%d bytes), cut %d; refused stored whole %d, wrongly cut %d", dropped, droppedBytes, cut, wholeRefused, badCuts)
	}
	u, err := s.app.Registry.DeviceLogUsage(ctx, dev.ID)
	if err != nil || u.BudgetBytes != budget || u.KeptBytes != logged || u.DroppedMessages != dropped || !u.Limited() {
		t.Fatalf("usage: %+v, %v", u, err)
	}
}
