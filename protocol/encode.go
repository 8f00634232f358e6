package protocol

import (
	"bytes"
	"encoding/json"
)

// The encoding of everything the server sends (docs/protocol.md, "Encoding
// for small clients"). Embedded clients such as the Alibaba C SDK do not
// parse JSON: they take the first `"key":` match anywhere in the payload and
// find the end of an object by counting braces, strings included. So:
//
//   - the structs below list the protocol's keys first and user content
//     (jobDocument, statusDetails) last;
//   - user content is UserJSON, whose keys that equal a protocol key are
//     written with their first character escaped ("\u0074asks");
//   - Marshal writes { } [ ] inside every string as \u escapes.
//
// A JSON parser reads exactly the same values; a scanner cannot misread
// them.

// protocolKeys are the key names small clients scan for.
var protocolKeys = map[string]bool{
	"id": true, "code": true, "data": true, "message": true, "version": true, "params": true,
	"taskId": true, "status": true, "progress": true, "statusDetails": true, "task": true, "tasks": true,
	"jobDocument": true, "jobFile": true, "url": true, "fileUrl": true, "sign": true, "signMethod": true,
	"size": true, "md5": true, "sha256": true,
}

// Marshal encodes v compactly for a device: no insignificant whitespace,
// no HTML escaping, and { } [ ] inside strings escaped.
func Marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("protocol: marshal: " + err.Error()) // only our own types are marshalled
	}
	return escapeBrackets(bytes.TrimRight(buf.Bytes(), "\n"))
}

// escapeBrackets rewrites { } [ ] inside the strings of the compact JSON
// text b as \u escapes.
func escapeBrackets(b []byte) []byte {
	var out []byte // nil until the first change
	in, esc := false, false
	for i, c := range b {
		var rep string
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = in
		case c == '"':
			in = !in
		case in && c == '{':
			rep = `\u007b`
		case in && c == '}':
			rep = `\u007d`
		case in && c == '[':
			rep = `\u005b`
		case in && c == ']':
			rep = `\u005d`
		}
		if rep != "" && out == nil {
			out = append(make([]byte, 0, len(b)+32), b[:i]...)
		}
		switch {
		case rep != "":
			out = append(out, rep...)
		case out != nil:
			out = append(out, c)
		}
	}
	if out == nil {
		return b
	}
	return out
}

// UserJSON is JSON a user wrote (a job document, reported statusDetails)
// carried inside a message: it is sent compact, with every object key that
// equals a protocol key written with its first character escaped. Empty
// is omitted by omitempty.
type UserJSON []byte

// MarshalJSON implements json.Marshaler.
func (u UserJSON) MarshalJSON() ([]byte, error) {
	if len(u) == 0 {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, u); err != nil {
		return []byte("{}"), nil // not JSON: never so for what jsonb returns
	}
	return escapeKeys(buf.Bytes()), nil
}

// escapeKeys rewrites the keys of the compact JSON text b that equal a
// protocol key as "\u00XX..." (the first character escaped).
func escapeKeys(b []byte) []byte {
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		if b[i] != '"' {
			out = append(out, b[i])
			i++
			continue
		}
		end := stringEnd(b, i)
		raw := b[i:end]
		if end < len(b) && b[end] == ':' {
			key := string(raw[1 : len(raw)-1])
			if bytes.IndexByte(raw, '\\') >= 0 {
				json.Unmarshal(raw, &key)
			}
			if protocolKeys[key] {
				out = append(out, `"\u00`...)
				out = append(out, "0123456789abcdef"[key[0]>>4], "0123456789abcdef"[key[0]&15])
				out = append(out, key[1:]...)
				out = append(out, '"')
				i = end
				continue
			}
		}
		out = append(out, raw...)
		i = end
	}
	return out
}

// stringEnd returns the index just past the string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// UnmarshalJSON keeps the raw text, as json.RawMessage does.
func (u *UserJSON) UnmarshalJSON(b []byte) error {
	*u = append((*u)[:0], b...)
	return nil
}
