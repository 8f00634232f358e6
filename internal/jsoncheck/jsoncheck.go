// Package jsoncheck finds what a JSON parser accepts but fleettasks
// refuses: bytes that are not UTF-8, U+0000, lone surrogate escapes,
// duplicate keys and deep nesting. PostgreSQL refuses the first three in
// jsonb and text columns, and small clients read the first of duplicate
// keys where full parsers read the last, so such input is refused where it
// enters (a device message, an API body), naming where it is.
package jsoncheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Problem is why a JSON text is refused and where: Path is the value's
// place ("params.statusDetails.a[2]"; "" for the whole text).
type Problem struct {
	Path   string
	Reason string
}

func (p *Problem) Error() string {
	if p.Path == "" {
		return p.Reason
	}
	return p.Path + ": " + p.Reason
}

// Reasons.
const (
	ReasonSyntax    = "is not valid JSON"
	ReasonUTF8      = "is not valid UTF-8"
	ReasonNUL       = "contains the character U+0000"
	ReasonSurrogate = "contains a lone surrogate escape (\\ud800-\\udfff)"
	ReasonDuplicate = "is a duplicate key"
	ReasonDepth     = "nests too deep"
)

// Check reports the first problem of the JSON text b, or nil. prefix is
// the path of b itself ("" at the top); maxDepth bounds the nesting of
// objects and arrays (an object is one level).
func Check(b []byte, prefix string, maxDepth int) *Problem {
	if !json.Valid(b) {
		return &Problem{Path: prefix, Reason: ReasonSyntax}
	}
	w := walker{b: b, maxDepth: maxDepth, prefix: prefix}
	return w.value(0)
}

// CheckString reports whether a string value can be stored: valid UTF-8
// without U+0000. field names it in the problem.
func CheckString(field, s string) *Problem {
	if !utf8.ValidString(s) {
		return &Problem{Path: field, Reason: ReasonUTF8}
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return &Problem{Path: field, Reason: ReasonNUL}
		}
	}
	return nil
}

// walker reads a text that json.Valid accepted, so it only looks for
// what json.Valid lets through. The path to the value being read is kept
// as segments and spelled out only for a problem.
type walker struct {
	b        []byte
	i        int
	maxDepth int
	prefix   string
	path     []segment
}

// segment is an object key, or an array index when key is "" and index >= 0.
type segment struct {
	key   string
	index int
}

func (w *walker) problem(reason string) *Problem {
	p := w.prefix
	for _, s := range w.path {
		if s.index >= 0 {
			p += "[" + strconv.Itoa(s.index) + "]"
		} else {
			p = join(p, s.key)
		}
	}
	return &Problem{Path: p, Reason: reason}
}

func (w *walker) space() {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\t' || w.b[w.i] == '\n' || w.b[w.i] == '\r') {
		w.i++
	}
}

func (w *walker) value(depth int) *Problem {
	w.space()
	switch w.b[w.i] {
	case '{':
		if depth+1 > w.maxDepth {
			return w.problem(ReasonDepth)
		}
		w.i++
		var seen keySet
		for {
			w.space()
			if w.b[w.i] == '}' {
				w.i++
				return nil
			}
			if w.b[w.i] == ',' {
				w.i++
				w.space()
			}
			key, p := w.str()
			if p != nil {
				return p
			}
			w.path = append(w.path, segment{key: key, index: -1})
			if !seen.add(key) {
				return w.problem(ReasonDuplicate)
			}
			w.space()
			w.i++ // ':'
			if p := w.value(depth + 1); p != nil {
				return p
			}
			w.path = w.path[:len(w.path)-1]
		}
	case '[':
		if depth+1 > w.maxDepth {
			return w.problem(ReasonDepth)
		}
		w.i++
		w.path = append(w.path, segment{index: 0})
		for n := 0; ; n++ {
			w.space()
			if w.b[w.i] == ']' {
				w.i++
				w.path = w.path[:len(w.path)-1]
				return nil
			}
			if w.b[w.i] == ',' {
				w.i++
			}
			w.path[len(w.path)-1].index = n
			if p := w.value(depth + 1); p != nil {
				return p
			}
		}
	case '"':
		_, p := w.str()
		return p
	default: // a number, true, false or null
		for w.i < len(w.b) && w.b[w.i] != ',' && w.b[w.i] != '}' && w.b[w.i] != ']' &&
			w.b[w.i] != ' ' && w.b[w.i] != '\t' && w.b[w.i] != '\n' && w.b[w.i] != '\r' {
			w.i++
		}
		return nil
	}
}

// str reads the string at w.i and returns it decoded.
func (w *walker) str() (string, *Problem) {
	start := w.i
	w.i++
	escaped := false
	for {
		c := w.b[w.i]
		switch {
		case c == '"':
			w.i++
			raw := w.b[start:w.i]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			json.Unmarshal(raw, &s) // valid: json.Valid accepted it
			return s, nil
		case c == '\\':
			escaped = true
			if w.b[w.i+1] != 'u' {
				w.i += 2
				continue
			}
			r := hex4(w.b[w.i+2 : w.i+6])
			switch {
			case r == 0:
				return "", w.problem(ReasonNUL)
			case r >= 0xdc00 && r <= 0xdfff:
				return "", w.problem(ReasonSurrogate)
			case r >= 0xd800 && r <= 0xdbff:
				next := w.b[w.i+6:]
				if len(next) < 6 || next[0] != '\\' || next[1] != 'u' {
					return "", w.problem(ReasonSurrogate)
				}
				if low := hex4(next[2:6]); low < 0xdc00 || low > 0xdfff {
					return "", w.problem(ReasonSurrogate)
				}
				w.i += 12
			default:
				w.i += 6
			}
		case c < utf8.RuneSelf:
			w.i++
		default:
			r, size := utf8.DecodeRune(w.b[w.i:])
			if r == utf8.RuneError && size == 1 {
				return "", w.problem(ReasonUTF8)
			}
			w.i += size
		}
	}
}

// keySet holds an object's keys: a few in an array (most objects), many
// in a map.
type keySet struct {
	few  [8]string
	n    int
	many map[string]bool
}

// add adds key and reports whether it was new.
func (k *keySet) add(key string) bool {
	if k.many != nil {
		if k.many[key] {
			return false
		}
		k.many[key] = true
		return true
	}
	for _, s := range k.few[:k.n] {
		if s == key {
			return false
		}
	}
	if k.n < len(k.few) {
		k.few[k.n], k.n = key, k.n+1
		return true
	}
	k.many = make(map[string]bool, 2*len(k.few))
	for _, s := range k.few {
		k.many[s] = true
	}
	k.many[key] = true
	return true
}

func hex4(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 32)
	if err != nil {
		return -1
	}
	return rune(n)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Member is one key of an object and its value's text.
type Member struct {
	Key   string
	Value json.RawMessage
}

// Members returns the members of the object b in their order (duplicates
// included), or an error when b is not a JSON object. b must be valid
// JSON (Check found no syntax problem in it): Members only finds where
// each value ends.
func Members(b []byte) ([]Member, error) {
	w := walker{b: b}
	w.space()
	if w.i >= len(b) || b[w.i] != '{' {
		return nil, fmt.Errorf("jsoncheck: not a JSON object")
	}
	w.i++
	var out []Member
	for {
		w.space()
		switch b[w.i] {
		case '}':
			return out, nil
		case ',':
			w.i++
			w.space()
		}
		start := w.i
		w.skip()
		var key string
		if raw := b[start:w.i]; bytes.IndexByte(raw, '\\') < 0 {
			key = string(raw[1 : len(raw)-1])
		} else {
			json.Unmarshal(raw, &key)
		}
		w.space()
		w.i++ // ':'
		w.space()
		start = w.i
		w.skip()
		out = append(out, Member{Key: key, Value: b[start:w.i]})
	}
}

// skip moves past the value at w.i.
func (w *walker) skip() {
	depth := 0
	for {
		switch w.b[w.i] {
		case '"':
			w.i++
			for w.b[w.i] != '"' {
				if w.b[w.i] == '\\' {
					w.i++
				}
				w.i++
			}
			w.i++
		case '{', '[':
			depth++
			w.i++
		case '}', ']':
			depth--
			w.i++
		default:
			w.i++
		}
		if depth == 0 && (w.i >= len(w.b) || w.b[w.i] == ',' || w.b[w.i] == '}' || w.b[w.i] == ']' || w.b[w.i] == ':' ||
			w.b[w.i] == ' ' || w.b[w.i] == '\t' || w.b[w.i] == '\n' || w.b[w.i] == '\r') {
			return
		}
	}
}
