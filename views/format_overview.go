package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"fleettasks/models"
)

// etaText says when a running task should have sent its last notify, or
// "—" and why it cannot be known.
func etaText(e models.ETA) string {
	if !e.Known {
		return "— " + e.Reason
	}
	if e.Left == 0 {
		return "all sent"
	}
	s := "about " + spanText(e.Left)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// spanText writes a duration of whole minutes: "45 min", "2 h 5 min",
// "3 days 4 h".
func spanText(d time.Duration) string {
	m := int64(d / time.Minute)
	switch {
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m < 48*60:
		if m%60 == 0 {
			return fmt.Sprintf("%d h", m/60)
		}
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
	return fmt.Sprintf("%d days %d h", m/(24*60), m%(24*60)/60)
}

// rateText is a task's current sends per minute.
func rateText(a models.ActiveTask) string {
	return strconv.Itoa(a.Rate) + " per minute"
}

// successText is a success rate with one decimal: "97.5 %".
func successText(o models.Outcomes) string {
	return strconv.FormatFloat(o.SuccessPercent(), 'f', 1, 64) + " %"
}

// outcomeCounts spells the counts behind a success rate.
func outcomeCounts(o models.Outcomes) string {
	s := fmt.Sprintf("%s of %s finished sub-tasks succeeded", thousands(o.Succeeded), thousands(o.Finished()))
	var bad []string
	for _, p := range []struct {
		n    int64
		name string
	}{{o.Failed, "failed"}, {o.Rejected, "rejected"}, {o.TimedOut, "timed out"}} {
		if p.n > 0 {
			bad = append(bad, thousands(p.n)+" "+p.name)
		}
	}
	if len(bad) > 0 {
		s += "; " + strings.Join(bad, ", ")
	}
	return s
}

// The activity chart: one column per minute, notifies on the left half,
// results (succeeded below, failed, rejected and timed out on top) on the
// right.
const (
	activityW   = 600
	activityH   = 120
	activityCol = 10 // 60 minutes
)

type activityBar struct {
	X, Y, W, H string
	Kind       string // notifies, succeeded, failed
}

// activityScale is the largest figure of any minute (at least 1).
func activityScale(ms []models.ActivityMinute) int64 {
	top := int64(1)
	for _, m := range ms {
		top = max(top, m.Notifies, m.Results())
	}
	return top
}

// activityBars draws the bars of each minute with anything in it.
func activityBars(ms []models.ActivityMinute) []activityBar {
	top := float64(activityScale(ms))
	col := float64(activityW) / float64(max(len(ms), 1))
	h := func(n int64) float64 { return float64(n) / top * (activityH - 2) }
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	var out []activityBar
	for i, m := range ms {
		x := float64(i) * col
		if m.Notifies > 0 {
			out = append(out, activityBar{X: f(x + 1), Y: f(activityH - h(m.Notifies)), W: f(col/2 - 1), H: f(h(m.Notifies)), Kind: "notifies"})
		}
		y := float64(activityH)
		if m.Succeeded > 0 {
			y -= h(m.Succeeded)
			out = append(out, activityBar{X: f(x + col/2), Y: f(y), W: f(col/2 - 1), H: f(h(m.Succeeded)), Kind: "succeeded"})
		}
		if m.Failed > 0 {
			y -= h(m.Failed)
			out = append(out, activityBar{X: f(x + col/2), Y: f(y), W: f(col/2 - 1), H: f(h(m.Failed)), Kind: "failed"})
		}
	}
	return out
}

func activityColor(kind string) string {
	switch kind {
	case "notifies":
		return seriesColor("sent")
	case "succeeded":
		return seriesColor(string(models.SubSucceeded))
	}
	return seriesColor(string(models.SubFailed))
}

// activityTotals sums the minutes.
func activityTotals(ms []models.ActivityMinute) (notifies, succeeded, failed int64) {
	for _, m := range ms {
		notifies, succeeded, failed = notifies+m.Notifies, succeeded+m.Succeeded, failed+m.Failed
	}
	return
}

// activityDesc is the chart in words for screen readers.
func activityDesc(ms []models.ActivityMinute) string {
	n, s, f := activityTotals(ms)
	if len(ms) == 0 {
		return "No figures."
	}
	return fmt.Sprintf("In the last %d minutes: %s notifies sent, %s sub-tasks succeeded, %s failed, rejected or timed out; at most %s in one minute.",
		len(ms), thousands(n), thousands(s), thousands(f), thousands(activityScale(ms)))
}

// busyMinutes are the minutes with anything in them, newest first.
func busyMinutes(ms []models.ActivityMinute) []models.ActivityMinute {
	var out []models.ActivityMinute
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Notifies > 0 || ms[i].Results() > 0 {
			out = append(out, ms[i])
		}
	}
	return out
}

// minuteText is a minute of the chart's table: "18:04 UTC".
func minuteText(t time.Time) string { return t.UTC().Format("15:04") + " UTC" }

// failureCursor is where the next page of failures starts.
func failureCursor(items []models.Subtask) string {
	if len(items) == 0 || items[len(items)-1].FinishedAt == nil {
		return ""
	}
	last := items[len(items)-1]
	return models.FailureCursor{At: *last.FinishedAt, ID: last.ID}.String()
}
