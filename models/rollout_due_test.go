package models_test

import (
	"testing"
	"time"

	"fleettasks/models"
)

// Per-second batches: a large rate sends a second's worth at the start of
// each second, a small one spreads out, a late worker does not burst.
func TestRolloutDue(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return epoch.Add(d) }
	cases := []struct {
		name     string
		now      time.Time
		rate     int
		sent     int64
		due, adj int64
	}{
		{"100,000/min at the start", at(0), 100_000, 0, 1667, 0},
		{"100,000/min within the first second", at(900 * time.Millisecond), 100_000, 1667, 0, 1667},
		{"100,000/min second 1", at(time.Second), 100_000, 1667, 1667, 1667},
		{"1/min at the start", at(0), 1, 0, 1, 0},
		{"1/min after 59 s", at(59 * time.Second), 1, 1, 0, 1},
		{"1/min at 60 s", at(60 * time.Second), 1, 1, 1, 1},
		{"90/min: 2, then 1", at(time.Second), 90, 2, 1, 2},
		{"a worker down for a minute: one second's worth", at(61 * time.Second), 600, 10, 10, 610},
		{"before the epoch", at(-time.Second), 60, 0, 1, 0},
		{"1,200/min at the start: 20", at(0), 1200, 0, 20, 0},
		{"1,200/min second 10", at(10*time.Second + 999*time.Millisecond), 1200, 200, 20, 200},
		{"1,200/min a step already ran in this second", at(10*time.Second + 500*time.Millisecond), 1200, 220, 0, 220},
		{"30/min: nothing in second 1", at(time.Second), 30, 1, 0, 1},
		{"30/min: the second at 2 s", at(2 * time.Second), 30, 1, 1, 1},
		{"6/min: the second at 10 s", at(10 * time.Second), 6, 1, 1, 1},
		{"6/min: nothing at 9.9 s", at(9900 * time.Millisecond), 6, 1, 0, 1},
		{"30/min a worker down for 10 s: one, not five", at(12 * time.Second), 30, 2, 1, 6},
		{"a huge backlog is capped per step", at(0), 1_200_000, 0, 10_000, 0},
	}
	for _, c := range cases {
		due, adj := models.RolloutDue(epoch, c.now, c.rate, c.sent)
		if due != c.due || adj != c.adj {
			t.Errorf("%s: due %d (sent %d), want %d (%d)", c.name, due, adj, c.due, c.adj)
		}
	}
	// below 60 a minute the sends spread evenly: one at a time, 60/rate
	// seconds apart (rounded down or up)
	for _, rate := range []int{1, 6, 7, 30, 45, 59} {
		var sent int64
		last := -1
		for s := 0; s < 300; s++ {
			due, adj := models.RolloutDue(epoch, at(time.Duration(s)*time.Second), rate, sent)
			sent = adj + due
			if due > 1 {
				t.Fatalf("rate %d: %d at once in second %d", rate, due, s)
			}
			if due == 1 {
				if gap := s - last; last >= 0 && (gap < 60/rate || gap > (60+rate-1)/rate) {
					t.Fatalf("rate %d: %d s between sends at second %d", rate, gap, s)
				}
				last = s
			}
		}
	}
	// any 60 s window holds the rate, ±1
	for _, rate := range []int{1, 7, 90, 120, 6000, 100_000} {
		var sent int64
		perSecond := make([]int64, 180)
		for s := range perSecond {
			due, adj := models.RolloutDue(epoch, at(time.Duration(s)*time.Second), rate, sent)
			sent = adj + due
			perSecond[s] = due
		}
		for start := 0; start+60 <= len(perSecond); start++ {
			var n int64
			for _, x := range perSecond[start : start+60] {
				n += x
			}
			if n < int64(rate)-1 || n > int64(rate)+1 {
				t.Fatalf("rate %d: %d in the 60 s from second %d", rate, n, start)
			}
		}
	}
}
