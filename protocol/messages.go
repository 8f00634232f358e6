package protocol

import (
	"bytes"
	"encoding/json"
)

// Notify is the server's push of a sub-task: SENT, CANCELLED or REMOVED.
type Notify struct {
	ID      string       `json:"id"`
	Version string       `json:"version"`
	Params  NotifyParams `json:"params"`
}

// NotifyParams wraps the task of a notify.
type NotifyParams struct {
	Task Task `json:"task"`
}

// Task is a sub-task as devices see it. The protocol's keys come first and
// the job document last, so that a client scanning for the first "status"
// or "jobFile" finds ours, not one inside the document (encode.go).
type Task struct {
	TaskID      string          `json:"taskId"`
	Status      string          `json:"status"`
	Progress    *int            `json:"progress,omitempty"`
	JobFile     json.RawMessage `json:"jobFile,omitempty"`
	JobDocument UserJSON        `json:"jobDocument,omitempty"`
}

// ListItem is one entry of a $list reply: flat, taskId and status only.
type ListItem struct {
	TaskID string `json:"taskId"`
	Status string `json:"status"`
}

// ListData is the data of a $list reply; the reference names the array
// "task", the C SDK reads "tasks": both are sent.
type ListData struct {
	TaskID string     `json:"taskId"`
	Task   []ListItem `json:"task"`
	Tasks  []ListItem `json:"tasks"`
}

// DetailData is the data of a $next or by-id reply.
type DetailData struct {
	TaskID        string   `json:"taskId"`
	Task          *Task    `json:"task,omitempty"`
	StatusDetails UserJSON `json:"statusDetails,omitempty"`
}

// UpdateData is the data of an update reply.
type UpdateData struct {
	TaskID string `json:"taskId"`
	Status string `json:"status,omitempty"`
}

// JobFile is the file of a task as devices see it.
type JobFile struct {
	SignMethod string `json:"signMethod"` // Md5 or Sha256
	Sign       string `json:"sign"`
	FileURL    string `json:"fileUrl"`
}

// WireSignMethod spells a task's sign method (MD5, SHA256) as the wire does.
func WireSignMethod(m string) string {
	if m == "MD5" {
		return "Md5"
	}
	return "Sha256"
}

// Empty is the empty object that CANCELLED and REMOVED notifies carry.
var Empty = json.RawMessage(`{}`)

// EmptyDocument is Empty as a job document.
var EmptyDocument = UserJSON(`{}`)

// Compact re-encodes JSON text (for example jsonb output, which has
// spaces) without insignificant whitespace; empty stays empty.
func Compact(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return json.RawMessage(b)
	}
	return buf.Bytes()
}
