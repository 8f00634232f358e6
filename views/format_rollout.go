package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"fleettasks/models"
)

// RolloutText is where a task's rollout stands, in plain words.
func RolloutText(t *models.Task, r *models.Rollout) string {
	rate := fmt.Sprintf("%d a minute", r.CurrentRatePerMinute)
	switch r.State {
	case models.RolloutPaused:
		if r.PausedAt != nil {
			return "Paused since " + when(*r.PausedAt) + ": nothing more is sent; devices at work go on."
		}
		return "Pausing: nothing more is sent."
	case models.RolloutWaitingGate:
		return fmt.Sprintf("Wave %d is all sent and waits for its success gate or soak time before wave %d opens.", r.Wave, r.Wave+1)
	case models.RolloutWaitingApproval:
		return fmt.Sprintf("Wave %d passed; wave %d waits for an operator's approval.", r.Wave, r.Wave+1)
	case models.RolloutWaitingWindow:
		if r.NextWindowAt != nil {
			return "Outside the maintenance windows: the next opens " + when(*r.NextWindowAt) + "."
		}
		return "Outside the maintenance windows."
	case models.RolloutDone:
		if r.LimitedBy == "end time passed" {
			return "The end time has passed: nothing more is sent."
		}
		return "Everything is sent."
	}
	return fmt.Sprintf("Sending at %s (limited by %s).", rate, r.LimitedBy)
}

// WaveStateText names a wave's state.
func WaveStateText(state string) string {
	switch state {
	case models.WaveOpen:
		return "open"
	case models.WaveDone:
		return "done"
	case models.RolloutWaitingGate:
		return "waiting for the gate"
	case models.RolloutWaitingApproval:
		return "waiting for approval"
	}
	return "pending"
}

// WaveRuleText is what wave i asks before the next wave opens, and how it
// opens itself.
func WaveRuleText(p *models.Policy, i int) string {
	w := p.Waves[i]
	var parts []string
	if w.Approval == models.ApprovalManual {
		parts = append(parts, "opens on approval")
	}
	if g := w.SuccessGate; g != nil {
		parts = append(parts, fmt.Sprintf("gate ≥ %g %% succeeded of ≥ %d finished", g.Percent, g.MinFinished))
	}
	if w.SoakMinutes > 0 {
		parts = append(parts, fmt.Sprintf("soak %d min", w.SoakMinutes))
	}
	return strings.Join(parts, " · ")
}

func waveClass(state string) string {
	switch state {
	case models.WaveOpen:
		return "border-indigo-300 bg-indigo-50"
	case models.WaveDone:
		return "border-emerald-300 bg-emerald-50"
	case models.RolloutWaitingGate, models.RolloutWaitingApproval:
		return "border-amber-300 bg-amber-50"
	}
	return "border-slate-200 bg-white text-slate-600"
}

// PolicyText is a rollout policy in plain words: "1 % canary (≥ 95 %
// succeeded, wait 30 min), then 10 %, then everyone; pause if more than
// 5 % fail".
func PolicyText(p *models.Policy) string {
	if p == nil {
		return "Everyone at the task's rate."
	}
	var out []string
	if n := len(p.Waves); n > 1 {
		var waves []string
		for i, w := range p.Waves {
			var s string
			switch {
			case i == n-1:
				s = "everyone else"
			case w.Count != nil:
				s = devicesText(*w.Count)
			case w.Percent != nil:
				s = fmt.Sprintf("%g %%", *w.Percent)
			}
			if i == 0 {
				s += " first"
			}
			var cond []string
			if w.Approval == models.ApprovalManual {
				cond = append(cond, "after approval")
			}
			if g := w.SuccessGate; g != nil {
				cond = append(cond, fmt.Sprintf("≥ %g %% succeeded", g.Percent))
			}
			if w.SoakMinutes > 0 {
				cond = append(cond, fmt.Sprintf("wait %d min", w.SoakMinutes))
			}
			if len(cond) > 0 {
				s += " (" + strings.Join(cond, ", ") + ")"
			}
			waves = append(waves, s)
		}
		out = append(out, strings.Join(waves, ", then "))
	}
	if e := p.ExponentialRate; e != nil {
		step := fmt.Sprintf("%d notified", e.IncreaseAfter.Notified)
		if e.IncreaseAfter.Succeeded > 0 {
			step = fmt.Sprintf("%d succeeded", e.IncreaseAfter.Succeeded)
		}
		out = append(out, fmt.Sprintf("start at %d a minute, ×%g every %s", e.BaseRatePerMinute, e.IncrementFactor, step))
	}
	for _, a := range p.Abort {
		what := "fail"
		switch a.FailureType {
		case "REJECTED":
			what = "are rejected"
		case "TIMED_OUT":
			what = "time out"
		case "FAILED":
			what = "report FAILED"
		}
		out = append(out, fmt.Sprintf("%s if more than %g %% %s (of ≥ %d finished)", strings.ToLower(a.Action), a.ThresholdPercent, what, a.MinFinished))
	}
	for _, r := range p.Retry {
		out = append(out, fmt.Sprintf("retry %s up to %d times", strings.ToLower(strings.ReplaceAll(r.FailureType, "_", " ")), r.MaxAttempts))
	}
	if len(p.MaintenanceWindows) > 0 {
		out = append(out, fmt.Sprintf("only in %d maintenance window(s)", len(p.MaintenanceWindows)))
	}
	if p.EndAt != nil {
		out = append(out, "until "+when(*p.EndAt))
	}
	if p.Continuous {
		out = append(out, "devices that join later get it too")
	}
	if len(out) == 0 {
		return "Everyone at the task's rate."
	}
	s := strings.Join(out, "; ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// presetPolicy is the policy of a preset (presets are valid JSON, checked
// by a test).
func presetPolicy(p models.PolicyPreset) *models.Policy {
	var pol models.Policy
	if json.Unmarshal([]byte(p.JSON), &pol) != nil {
		return nil
	}
	return &pol
}

// devicesText is "1 device", "12 devices".
func devicesText(n int64) string {
	if n == 1 {
		return "1 device"
	}
	return i64(n) + " devices"
}

// The task chart's drawing area.
const (
	chartW = 600
	chartH = 160
)

// chartPoints is series s of tl as SVG polyline points scaled to the
// drawing area, the top being every sub-task of the task.
func chartPoints(tl *models.Timeline, s string) string {
	v := tl.Series[s]
	total := max(tl.Total, 1)
	var b strings.Builder
	fmt.Fprintf(&b, "0,%d", chartH)
	for i, n := range v {
		x := float64(i+1) * chartW / float64(len(v))
		y := chartH - float64(n)*chartH/float64(total)
		fmt.Fprintf(&b, " %.1f,%.1f", x, y)
	}
	return b.String()
}

func last(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

func seriesColor(s string) string {
	switch s {
	case "sent":
		return "#6366f1"
	case string(models.SubSucceeded):
		return "#16a34a"
	case string(models.SubFailed):
		return "#dc2626"
	case string(models.SubRejected):
		return "#f59e0b"
	}
	return "#7c3aed"
}

func seriesLabel(s string) string {
	if s == "sent" {
		return "Sent"
	}
	return StatusLabel(s)
}

// chartDesc says the chart in words, for screen readers.
func chartDesc(tl *models.Timeline) string {
	parts := make([]string, 0, len(models.TimelineSeries))
	for _, s := range models.TimelineSeries {
		parts = append(parts, fmt.Sprintf("%s %d", seriesLabel(s), last(tl.Series[s])))
	}
	return fmt.Sprintf("From %s to %s, of %d sub-tasks: %s.", when(tl.Start), when(tl.End), tl.Total, strings.Join(parts, ", "))
}

// Reason is why a sub-task is where it is, in one line: its message (a
// timeout, a cancel, the end time), else the device's statusDetails as
// compact JSON, cut at 120 characters; "" when there is neither.
func Reason(s models.Subtask) string {
	r := s.Message
	if r == "" && len(s.StatusDetails) > 0 && string(s.StatusDetails) != "null" {
		r = detailsText(s.StatusDetails)
	}
	if utf8.RuneCountInString(r) > 120 {
		r = string([]rune(r)[:119]) + "…"
	}
	return r
}

// detailsText is a device's statusDetails in words: an object's members
// as "key: value", joined by commas in the device's order (a string
// without its quotes, anything nested as compact JSON); any other JSON
// compacted.
func detailsText(raw []byte) string {
	var members []string
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err == nil && t == json.Delim('{') {
		for dec.More() {
			k, err := dec.Token()
			var v json.RawMessage
			if err != nil || dec.Decode(&v) != nil {
				members = nil
				break
			}
			var str string
			if json.Unmarshal(v, &str) != nil {
				var b bytes.Buffer
				json.Compact(&b, v)
				str = b.String()
			}
			members = append(members, fmt.Sprint(k)+": "+str)
		}
		if members != nil {
			return strings.Join(members, ", ")
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// MessageGroup is the messages of one attempt of a sub-task.
type MessageGroup struct {
	Attempt  int
	Messages []models.Message
}

// MessagesByAttempt groups a sub-task's messages by the attempt they
// belong to: an attempt runs from its sending to the next attempt's, the
// current one from its own on. Groups come newest attempt first, as the
// messages do.
func MessagesByAttempt(d SubtaskDetail) []MessageGroup {
	type start struct {
		attempt int
		at      time.Time
	}
	var starts []start
	for _, a := range d.Attempts {
		if a.SentAt != nil {
			starts = append(starts, start{a.Attempt, *a.SentAt})
		}
	}
	cur := d.Subtask.QueuedAt
	if d.Subtask.SentAt != nil {
		cur = *d.Subtask.SentAt
	}
	starts = append(starts, start{d.Subtask.Attempt, cur})
	var groups []MessageGroup
	for _, m := range d.Messages {
		attempt := starts[0].attempt
		for _, s := range starts {
			if !m.Time.Before(s.at) {
				attempt = s.attempt
			}
		}
		if n := len(groups); n == 0 || groups[n-1].Attempt != attempt {
			groups = append(groups, MessageGroup{Attempt: attempt})
		}
		groups[len(groups)-1].Messages = append(groups[len(groups)-1].Messages, m)
	}
	return groups
}

// OnlineRule is what Online means: connected to the embedded broker now
// (Embedded), or else a message within the last OfflineAfter.
type OnlineRule struct {
	Embedded     bool
	OfflineAfter time.Duration
}

// Help says what Online and Offline mean under the rule.
func (r OnlineRule) Help() string {
	if r.Embedded {
		return "Online: connected to the embedded broker now. " +
			"Offline: not connected; the device's page says since when and why."
	}
	return OnlineHelp(r.OfflineAfter)
}

// Text says in a few words what online means under the rule.
func (r OnlineRule) Text() string {
	if r.Embedded {
		return "connected to the embedded broker now"
	}
	return "a message within the last " + r.OfflineAfter.String()
}

// OnlineHelp says what Online means: a message from the device within the
// last offlineAfter.
func OnlineHelp(offlineAfter time.Duration) string {
	return fmt.Sprintf("Online: the device sent a message (any: a request, an update, a reply) within the last %s. "+
		"Offline: nothing since; the server cannot see a connection, only the messages.", offlineAfter.Round(time.Second))
}
