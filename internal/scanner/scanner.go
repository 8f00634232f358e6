// Package scanner reads JSON the way small embedded clients do (the
// Alibaba Link SDK's task module among them), so that tests can check that
// every payload the server sends is read right by such a client: a key's
// value is found at the first `"key":` anywhere in the bytes, a string ends
// at the next unescaped quote, and an object or array ends where its
// braces balance, counted without skipping strings.
package scanner

import "bytes"

// Value returns the raw value of the first "key": in b.
func Value(b []byte, key string) ([]byte, bool) {
	i := bytes.Index(b, []byte(`"`+key+`":`))
	if i < 0 {
		return nil, false
	}
	v := b[i+len(key)+3:]
	if len(v) == 0 {
		return nil, false
	}
	switch v[0] {
	case '"':
		for j := 1; j < len(v); j++ {
			if v[j] == '"' && v[j-1] != '\\' {
				return v[:j+1], true
			}
		}
		return nil, false
	case '{', '[':
		open, closing := v[0], byte('}')
		if open == '[' {
			closing = ']'
		}
		depth := 0
		for j, c := range v {
			switch c {
			case open:
				depth++
			case closing:
				depth--
				if depth == 0 {
					return v[:j+1], true
				}
			}
		}
		return nil, false
	default:
		j := bytes.IndexAny(v, ",}]")
		if j < 0 {
			return v, true
		}
		return v[:j], true
	}
}

// String is Value without the quotes of a string.
func String(b []byte, key string) (string, bool) {
	v, ok := Value(b, key)
	if !ok || len(v) < 2 || v[0] != '"' {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

// Task is a sub-task as the task module reads a notify or a get_reply.
type Task struct {
	IsList      bool   // the reply was taken for a $list reply
	TaskID      string // of the task object
	Status      string
	FileURL     string
	Sign        string
	SignMethod  string
	JobDocument []byte // raw, handed to the application's own parser
}

// ReadTask reads a notify or a get_reply as the task module does: a
// reply with "tasks": is a list; otherwise the "task": object holds the
// sub-task, its jobFile and its jobDocument.
func ReadTask(payload []byte) Task {
	var t Task
	if _, ok := Value(payload, "tasks"); ok {
		t.IsList = true
		return t
	}
	task, ok := Value(payload, "task")
	if !ok {
		return t
	}
	t.TaskID, _ = String(task, "taskId")
	t.Status, _ = String(task, "status")
	if f, ok := Value(task, "jobFile"); ok {
		t.FileURL, _ = String(f, "fileUrl")
		t.Sign, _ = String(f, "sign")
		t.SignMethod, _ = String(f, "signMethod")
	}
	t.JobDocument, _ = Value(task, "jobDocument")
	return t
}
