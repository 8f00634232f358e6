package handlers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A device whose log was cut and left out past its budget today: its
// page, its Device log and its API say so.
func TestDeviceMessageLogFigures(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	dev, err := s.Deps.Registry.GetDevice(ctx, pk, "d1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	flood := []byte(`{"id":"5","version":"1.0","params":{"pad":"` + strings.Repeat("z", 5000) + `"}}`)
	tooMany := 429
	var entries []models.LogEntry
	for i := range 6 {
		entries = append(entries, models.LogEntry{Time: now.Add(time.Duration(i) * time.Millisecond), DeviceID: dev.ID, Direction: "d2c",
			Topic: "t/get", MessageID: "5", Payload: flood, Code: &tooMany})
	}
	// three cut entries of 262 bytes fit in 800; the other three do not
	if _, err := s.Deps.DB.WriteLog(ctx, entries, 800); err != nil {
		t.Fatal(err)
	}
	base := "/devices/" + pk + "/d1"
	want := "Message log today (" + now.Format(time.DateOnly) + " UTC): 786 bytes kept of the 10.0 MB daily limit; " +
		"3 messages (14.8 KB) not kept past the limit; 3 payloads of refused requests cut to the first 256 bytes."
	for _, path := range []string{base, base + "/log"} {
		_, doc := s.page("GET", path, nil, false)
		if got := testid(doc, "message-log-usage").Text(); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	_, doc := s.page("GET", base+"/log", nil, false)
	if cut := testid(doc, "log-cut"); cut.Length() != 3 || cut.First().Text() != "cut: first 256 of 5,046 bytes" {
		t.Errorf("cut notes: %d, %q", cut.Length(), cut.First().Text())
	}

	var got struct{ MessageLog map[string]any }
	if st, raw := s.do("GET", "/api/v1/devices/"+pk+"/d1", nil, &got); st != 200 {
		t.Fatalf("device: %d %s", st, raw)
	}
	wantLog := map[string]any{"day": now.Format(time.DateOnly), "keptBytes": 786.0, "keptMessages": 3.0, "droppedMessages": 3.0,
		"droppedBytes": 3.0 * (5046 + 6), "cutMessages": 3.0, "budgetBytes": float64(models.DefaultLogDailyBytes)}
	if b, _ := json.Marshal(got.MessageLog); string(b) != mustJSON(wantLog) {
		t.Errorf("messageLog: %s, want %s", b, mustJSON(wantLog))
	}
	var list struct{ Items []map[string]json.RawMessage }
	if st, raw := s.do("GET", "/api/v1/devices/"+pk+"/d1/messages", nil, &list); st != 200 || len(list.Items) != 3 ||
		string(list.Items[0]["payloadSize"]) != "5046" || string(list.Items[0]["truncated"]) != "true" ||
		string(list.Items[0]["payload"]) != mustJSON(string(flood[:256])) {
		t.Fatalf("messages: %d %s", st, raw)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
