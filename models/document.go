package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Limits of the rule file / job document and the task file.
const (
	MaxRuleSize     = 64 << 10   // 64 KB
	MaxFirmwareSize = 1000 << 20 // 1,000 MB
)

// CompactDocument checks a job document (an inline jobDocument or the
// content of a rule file) and returns it compacted: a JSON object of at most
// 64 KB whose every value is valid JSON. Key order is kept: small device
// clients scan for the first matching key. field names the input in errors.
func CompactDocument(field string, raw []byte) ([]byte, error) {
	if len(raw) > MaxRuleSize {
		return nil, &Error{Kind: KindTooLarge, Field: field, Message: fmt.Sprintf("is %d bytes; the limit is 64 KB (65,536 bytes)", len(raw))}
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, Invalid(field, "is empty; a rule is a JSON object such as {\"key\":\"value\"}")
	}
	if !json.Valid(trimmed) {
		var v any
		err := json.Unmarshal(trimmed, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, Invalid(field, "is not valid JSON: %v (at byte %d)", se, se.Offset)
		}
		return nil, Invalid(field, "is not valid JSON: %v", err)
	}
	if trimmed[0] != '{' {
		return nil, Invalid(field, "must be a JSON object such as {\"key\":\"value\"}, not %s", jsonKind(trimmed[0]))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, Invalid(field, "is not valid JSON: %v", err)
	}
	return buf.Bytes(), nil
}

func jsonKind(b byte) string {
	switch b {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
