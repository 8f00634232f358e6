package models

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Document variables. In the string values of a job document,
// ${productKey}, ${deviceName} and ${subtaskId} stand for the device's
// product key and name and the id of its sub-task (the protocol's taskId).
// The task keeps the document as written, the template that the API and
// the console show; each device gets its own copy (DeviceDocument) in its
// notifies and get replies.
//
// Variables are looked for in the decoded value of each string, so
// "\u0024{deviceName}" is one too. Keys, numbers and strings without a
// variable keep their bytes; a string with one is encoded anew by
// encoding/json (without HTML escaping), whatever the values hold. Other
// names (${version}) are left as they are.

// documentVariables are the names, in the order of DeviceDocument's values.
var documentVariables = [...]string{"${productKey}", "${deviceName}", "${subtaskId}"}

// DeviceDocument returns the job document doc as the device
// productKey/deviceName gets it for its sub-task subtask. A document
// without variables is doc itself; one without "${" (nor an escape that
// could spell it) is not even parsed: most are, and a rollout sends
// thousands of notifies a second. doc must be valid JSON.
func DeviceDocument(doc []byte, productKey, deviceName string, subtask ID) []byte {
	if !mayHaveVariables(doc) {
		return doc
	}
	values := [...]string{productKey, deviceName, subtask.String()}
	return rewriteStrings(doc, func(s string) (string, bool) { return expand(s, &values) })
}

// DocumentHasVariables reports whether a string value of doc uses one of
// the variables.
func DocumentHasVariables(doc []byte) bool {
	found := false
	if mayHaveVariables(doc) {
		rewriteStrings(doc, func(s string) (string, bool) {
			at, _ := nextVariable(s)
			found = found || at >= 0
			return "", false
		})
	}
	return found
}

// mayHaveVariables reports whether a string of the JSON text b may hold
// "${" once decoded: '$' or its escape \u0024, then '{' or its escape
// \u007b (\u007B).
func mayHaveVariables(b []byte) bool {
	return bytes.Contains(b, []byte("${")) || bytes.Contains(b, []byte(`$\u007`)) || bytes.Contains(b, []byte(`\u0024`))
}

// rewriteStrings returns the JSON text doc with the decoded value s of
// each string that is not a key replaced by f(s) when f says so; all else
// keeps its bytes. It returns doc itself when nothing was replaced.
func rewriteStrings(doc []byte, f func(s string) (string, bool)) []byte {
	var out *bytes.Buffer
	var enc *json.Encoder
	done := 0 // doc[:done] is in out
	for i := 0; i < len(doc); {
		if doc[i] != '"' {
			i++
			continue
		}
		start, end := i, stringEnd(doc, i)
		if end < 0 {
			break // not JSON: left as it is
		}
		raw := doc[start:end]
		i = end
		if isKey(doc[end:]) || !mayHaveVariables(raw) {
			continue
		}
		s := string(raw[1 : len(raw)-1])
		if bytes.IndexByte(raw, '\\') >= 0 && json.Unmarshal(raw, &s) != nil {
			continue
		}
		v, ok := f(s)
		if !ok {
			continue
		}
		if out == nil {
			out = bytes.NewBuffer(make([]byte, 0, len(doc)+64))
			enc = json.NewEncoder(out)
			enc.SetEscapeHTML(false)
		}
		out.Write(doc[done:start])
		enc.Encode(v)               // a string always encodes
		out.Truncate(out.Len() - 1) // Encode ends with a newline
		done = end
	}
	if out == nil {
		return doc
	}
	out.Write(doc[done:])
	return out.Bytes()
}

// stringEnd returns the index just past the string that starts at b[i],
// or -1 when it does not end.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// isKey reports whether the JSON text after a string, rest, makes it an
// object key: a colon comes next.
func isKey(rest []byte) bool {
	rest = bytes.TrimLeft(rest, " \t\r\n")
	return len(rest) > 0 && rest[0] == ':'
}

// expand replaces the variables of s with values; it reports whether s
// had any.
func expand(s string, values *[len(documentVariables)]string) (string, bool) {
	at, k := nextVariable(s)
	if at < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s) + 64)
	for at >= 0 {
		b.WriteString(s[:at])
		b.WriteString(values[k])
		s = s[at+len(documentVariables[k]):]
		at, k = nextVariable(s)
	}
	b.WriteString(s)
	return b.String(), true
}

// nextVariable finds the first variable in s: where it is and which (an
// index of documentVariables); at is -1 when there is none.
func nextVariable(s string) (at, k int) {
	for from := 0; ; {
		i := strings.Index(s[from:], "${")
		if i < 0 {
			return -1, 0
		}
		for k, name := range documentVariables {
			if strings.HasPrefix(s[from+i:], name) {
				return from + i, k
			}
		}
		from += i + 2
	}
}
