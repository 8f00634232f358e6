package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"fleettasks/internal/testenv"
)

// TestDeviceLogPageMillionRows measures the device log page (the whole
// request: device, its sub-tasks, one page of the log, the HTML) for a
// device with 1,000,000 log rows over a week of daily partitions. It logs
// the median of each kind of page and asserts nothing about the times.
func TestDeviceLogPageMillionRows(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	dev := testenv.SeedDevices(t, s.Deps.DB, pk, 2)[0]
	var id int64
	if err := s.Deps.DB.Pool.QueryRow(ctx, `SELECT id FROM devices WHERE product_key = $1 AND device_name = $2`,
		dev.ProductKey, dev.DeviceName).Scan(&id); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := s.Deps.DB.EnsureMessagePartitions(ctx, now.AddDate(0, 0, -7), 8); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// one row every 0.6 s back from now: about 6.9 days; c2d and d2c alternate
	if _, err := s.Deps.DB.Pool.Exec(ctx, `INSERT INTO device_messages (time, device_id, direction, topic, message_id, payload, code, subtask_id)
		SELECT $1::timestamptz - g * interval '600 milliseconds', $2,
			CASE WHEN g % 2 = 0 THEN 'c2d' ELSE 'd2c' END,
			'/sys/' || $3 || '/' || $4 || CASE WHEN g % 2 = 0 THEN '/thing/job/notify' ELSE '/thing/job/update' END,
			g::text,
			convert_to(format('{"id":"%s","version":"1.0","params":{"taskId":"%s","status":"IN_PROGRESS","progress":%s}}', g, g / 1000, g % 100), 'UTF8'),
			CASE WHEN g % 2 = 0 THEN NULL ELSE 200 END,
			CASE WHEN g % 10 = 0 THEN 424242 END
		FROM generate_series(1, 1000000) AS g`, now, id, dev.ProductKey, dev.DeviceName); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deps.DB.Pool.Exec(ctx, `ANALYZE device_messages`); err != nil {
		t.Fatal(err)
	}
	t.Logf("inserted 1,000,000 log rows in %v", time.Since(start).Round(time.Millisecond))

	base := "/devices/" + dev.ProductKey + "/" + dev.DeviceName + "/log"
	older := func(path string) string {
		_, doc := s.page("GET", path, nil, false)
		next, ok := testid(doc, "log-older").Attr("href")
		if !ok || testid(doc, "log-row").Length() == 0 {
			t.Fatalf("%s: no rows or no older page", path)
		}
		return next
	}
	deep := base
	for range 20 {
		deep = older(deep)
	}
	from := now.AddDate(0, 0, -3).Format("2006-01-02T15:04:05")
	to := now.AddDate(0, 0, -3).Add(time.Hour).Format("2006-01-02T15:04:05")
	pages := []struct{ name, path string }{
		{"newest page, all messages", base},
		{"newest page, cloud-to-device", base + "?direction=c2d"},
		{"21st page (keyset), all messages", deep},
		{"one hour three days ago, device-to-cloud", base + "?" + url.Values{"direction": {"d2c"}, "from": {from}, "to": {to}}.Encode()},
		{"fragment (htmx filter), cloud-to-device", base + "?direction=c2d"},
	}
	for i, p := range pages {
		if _, doc := s.page("GET", p.path, nil, i == len(pages)-1); testid(doc, "log-row").Length() != 50 {
			t.Fatalf("%s: %d rows, want a page of 50", p.name, testid(doc, "log-row").Length())
		}
		const runs = 21
		times := make([]time.Duration, runs)
		for r := range times {
			req := httptest.NewRequest("GET", p.path, nil)
			if i == len(pages)-1 {
				req.Header.Set("HX-Request", "true")
			}
			begin := time.Now()
			resp, body := s.fetch(req)
			times[r] = time.Since(begin)
			if resp.StatusCode != http.StatusOK || len(body) == 0 {
				t.Fatalf("%s: %d", p.name, resp.StatusCode)
			}
		}
		slices.Sort(times)
		t.Logf("device log with 1,000,000 rows, %s: median %v (min %v, max %v, %d runs)",
			p.name, times[runs/2].Round(10*time.Microsecond), times[0].Round(10*time.Microsecond), times[runs-1].Round(10*time.Microsecond), runs)
	}
}
