package views

import (
	"strconv"
	"strings"

	"fleettasks/models"
)

// logUsageText is what a device's message log left out today, in plain
// words: "Message log today (2026-03-10 UTC): 10.0 MB kept of the 10.0 MB
// daily limit; 1,234 messages (56.2 MB) not kept past the limit; 789
// payloads of refused requests cut to the first 256 bytes."
func logUsageText(u *models.LogUsage) string {
	parts := []string{size(u.KeptBytes) + " kept of the " + size(u.BudgetBytes) + " daily limit"}
	if u.DroppedMessages > 0 {
		parts = append(parts, count(u.DroppedMessages, "message", "messages")+" ("+size(u.DroppedBytes)+") not kept past the limit")
	}
	if u.CutMessages > 0 {
		parts = append(parts, count(u.CutMessages, "payload", "payloads")+" of refused requests cut to the first "+
			itoa(models.CutPayloadBytes)+" bytes")
	}
	return "Message log today (" + u.Day + " UTC): " + strings.Join(parts, "; ") + "."
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// count is n and the noun that goes with it: "1 message", "1,234 messages".
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}
