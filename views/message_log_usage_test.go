package views_test

import (
	"encoding/json"
	"testing"
	"time"

	"fleettasks/models"
	"fleettasks/views"
)

// The device page says what the message log left out today, and only
// when it left something out.
func TestDevicePageShowsMessageLogFigures(t *testing.T) {
	dev := &models.Device{ID: 4, ProductKey: "lamp", DeviceName: "l1", MessageLog: &models.LogUsage{Day: "2026-03-10",
		KeptBytes: 10 << 20, KeptMessages: 40_000, DroppedMessages: 1234, DroppedBytes: 58_930_000, CutMessages: 789, BudgetBytes: 10 << 20}}
	d := doc(t, views.DeviceOverviewTab(views.DeviceOverview{Device: dev, Counts: &models.Statistics{}}))
	want := "Message log today (2026-03-10 UTC): 10.0 MB kept of the 10.0 MB daily limit; 1,234 messages (56.2 MB) not kept past the limit; " +
		"789 payloads of refused requests cut to the first 256 bytes."
	if got := byID(d, "message-log-usage").Text(); got != want {
		t.Errorf("figures: %q, want %q", got, want)
	}

	dev.MessageLog = &models.LogUsage{Day: "2026-03-10", KeptBytes: 5000, CutMessages: 1, BudgetBytes: 10 << 20}
	d = doc(t, views.DeviceOverviewTab(views.DeviceOverview{Device: dev, Counts: &models.Statistics{}}))
	if got := byID(d, "message-log-usage").Text(); got != "Message log today (2026-03-10 UTC): 4.9 KB kept of the 10.0 MB daily limit; "+
		"1 payload of refused requests cut to the first 256 bytes." {
		t.Errorf("only cut: %q", got)
	}

	dev.MessageLog = &models.LogUsage{Day: "2026-03-10", KeptBytes: 5000, KeptMessages: 3, BudgetBytes: 10 << 20}
	if d := doc(t, views.DeviceOverviewTab(views.DeviceOverview{Device: dev, Counts: &models.Statistics{}})); byID(d, "message-log-usage").Length() != 0 {
		t.Error("figures shown though nothing was left out")
	}
}

// A log entry stored cut says so, with the size it had.
func TestDeviceLogShowsCutEntries(t *testing.T) {
	dev := &models.Device{ID: 4, ProductKey: "lamp", DeviceName: "l1"}
	at := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	msgs := []models.Message{
		{Time: at, Direction: "d2c", Topic: "t/get", MessageID: "1", Payload: json.RawMessage(`"{\"id\":\"1\",\"pad\":\"xx"`), PayloadSize: 61440, Truncated: true},
		{Time: at, Direction: "c2d", Topic: "t/get_reply", MessageID: "1", Payload: json.RawMessage(`{"code":429}`), PayloadSize: 12},
	}
	d := doc(t, views.DeviceLogResults(views.DeviceLog{Device: dev, Messages: msgs}))
	if cut := byID(d, "log-cut"); cut.Length() != 1 || cut.Text() != "cut: first 256 of 61,440 bytes" {
		t.Fatalf("cut notes: %d, %q", cut.Length(), cut.Text())
	}
}
