package views

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"fleettasks/models"
)

// lineText is a line number of an import report; 0 is the whole file.
func lineText(n int) string {
	if n <= 0 {
		return "—"
	}
	return itoa(n)
}

// tabKey names a device tab in test ids: "" is the overview.
func tabKey(key string) string {
	if key == "" {
		return "overview"
	}
	return key
}

// pageURL is path with ?page=n (none for the first page).
func pageURL(path string, n int) string {
	p := ""
	if n > 1 {
		p = itoa(n)
	}
	return withQuery(path, "page", p)
}

// directionLabel is how a message direction reads in the console.
func directionLabel(dir string) string {
	switch dir {
	case models.DirectionC2D:
		return "Cloud to device"
	case models.DirectionD2C:
		return "Device to cloud"
	}
	return dir
}

func codeText(code *int) string {
	if code == nil {
		return "—"
	}
	return strconv.Itoa(*code)
}

// payloadSummary is the first characters of a payload, compacted.
func payloadSummary(raw json.RawMessage) string {
	s := string(raw)
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		s = b.String()
	}
	if utf8.RuneCountInString(s) > 80 {
		return string([]rune(s)[:80]) + "…"
	}
	return s
}

// caret points at character pos (from 1) of the line above it.
func caret(pos int) string {
	if pos < 1 {
		return ""
	}
	return strings.Repeat(" ", pos-1) + "^"
}

// oneLine puts a query on one line, character for character, so that a
// caret under it points at the right place.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}
