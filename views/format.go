package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"fleettasks/models"
)

func itoa(n int) string { return strconv.Itoa(n) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// when writes a time for people, in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
}

// size writes a byte count.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// pretty indents JSON for reading; invalid or empty input is shown as is.
func pretty(raw []byte) string {
	if len(raw) == 0 {
		return "—"
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// percent is part of whole as a CSS width / label ("12.5").
func percent(part, whole int64) string {
	if whole <= 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(part)*100/float64(whole), 'f', 1, 64)
}

// targetSummary describes who a task is for.
func targetSummary(t *models.Task) string {
	n := t.Target.DeviceCount
	devices := fmt.Sprintf("%d device", n)
	if n != 1 {
		devices += "s"
	}
	switch t.Target.Type {
	case models.TargetProduct:
		return "product " + deref(t.Target.ProductKey) + " · " + devices
	case models.TargetGroup:
		g := ""
		if t.Target.GroupID != nil {
			g = t.Target.GroupID.String()
		}
		return "group " + g + " · " + devices
	}
	return devices
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func timeoutText(m *int) string {
	if m == nil {
		return "none (never times out)"
	}
	return fmt.Sprintf("%d minutes", *m)
}

// lagText says how far a rollout has fallen behind its rate, or "" while
// it keeps it.
func lagText(seconds float64) string {
	if seconds < 1 {
		return ""
	}
	return fmt.Sprintf("%s behind schedule: the broker or the database could not keep up with the rate", time.Duration(seconds*float64(time.Second)).Round(time.Second))
}

func qosText(q int) string {
	if q == 0 {
		return "QoS0 (at most once)"
	}
	return "QoS1 (at least once)"
}
