package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"fleettasks/internal/jsoncheck"
)

// Limits of the rule file / job document and the task file.
const (
	MaxRuleSize     = 64 << 10   // 64 KB
	MaxFirmwareSize = 1000 << 20 // 1,000 MB
)

// MaxDocumentDepth bounds the nesting of a job document, the document
// object itself being level 1. The document goes as is to devices, whose
// embedded JSON parsers keep a fixed stack (a few dozen levels at most)
// and fail on anything deeper.
const MaxDocumentDepth = 32

// CompactDocument checks a job document (an inline jobDocument or the
// content of a rule file) and returns it compacted: a JSON object of at most
// 64 KB and MaxDocumentDepth levels, whose every value is valid JSON that
// PostgreSQL can store and device clients read alike (see checkDocumentText).
// Key order is kept: small device clients scan for the first matching key.
// field names the input in errors. The API, the console's form and rule
// file uploads all come through here.
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
	if err := checkDocumentText(field, trimmed); err != nil {
		return nil, err
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

// checkDocumentText refuses a document that is valid JSON but that
// PostgreSQL or a device cannot take: U+0000 (as \u0000), lone surrogate
// escapes and bytes that are not UTF-8, which PostgreSQL refuses; duplicate
// keys, which small clients read differently from full parsers; and nesting
// deeper than MaxDocumentDepth. The error is on field, saying where in the
// document.
func checkDocumentText(field string, doc []byte) error {
	p := jsoncheck.Check(doc, "", MaxDocumentDepth)
	switch {
	case p == nil:
		return nil
	case p.Reason == jsoncheck.ReasonDepth:
		return Invalid(field, "nests more than %d levels deep (at %s); devices' JSON parsers stop at far less", MaxDocumentDepth, p.Path)
	case p.Path == "":
		return Invalid(field, "%s", p.Reason)
	}
	return Invalid(field, "%s %s", p.Path, p.Reason)
}
