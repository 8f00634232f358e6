package device

import (
	"bytes"
	"encoding/json"
	"fmt"

	"fleettasks/protocol"
)

// Job is one sub-task as the device sees it.
type Job struct {
	TaskID        string
	Status        string
	Document      json.RawMessage   // the job document (rule file): compact JSON as sent, so keys that equal protocol keys arrive escaped ("\u0073tatus"); json.Unmarshal reads the original
	File          *protocol.JobFile // nil when the task has no file
	StatusDetails json.RawMessage   // the last statusDetails reported, if any
}

// Notify is one notify from the server: Task.Status is SENT (new work),
// CANCELLED or REMOVED (stop working on Task.TaskID).
type Notify struct {
	ID   string
	Task protocol.Task
}

// Job returns the notify's sub-task as a Job, for Download without a Get.
func (n Notify) Job() (*Job, error) { return jobOf(n.Task, nil) }

// jobOf decodes the jobFile of t, which is absent or {} without a file.
func jobOf(t protocol.Task, details json.RawMessage) (*Job, error) {
	j := &Job{TaskID: t.TaskID, Status: t.Status, Document: json.RawMessage(t.JobDocument), StatusDetails: details}
	raw := bytes.TrimSpace(t.JobFile)
	if len(raw) == 0 || bytes.Equal(raw, []byte("{}")) || bytes.Equal(raw, []byte("null")) {
		return j, nil
	}
	var f protocol.JobFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("sub-task %s: unreadable jobFile: %w", t.TaskID, err)
	}
	if f.FileURL != "" {
		j.File = &f
	}
	return j, nil
}
