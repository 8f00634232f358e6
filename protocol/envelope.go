package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Version is the protocol version the server sends.
const Version = "1.0"

// Request is what a device sends: {"id","version","params"}.
type Request struct {
	ID      string          `json:"id"`
	Version string          `json:"version"`
	Params  json.RawMessage `json:"params"`
}

// Reply is what the server answers: id first, then code, data and, on
// errors, a short message.
type Reply struct {
	ID      string `json:"id"`
	Code    int    `json:"code"`
	Data    any    `json:"data"`
	Message string `json:"message,omitempty"`
}

// Error is a request the server refuses, with the reply code to send.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

func badRequest(format string, args ...any) *Error {
	return &Error{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// ValidID reports whether id is a decimal string in 0..4294967295.
func ValidID(id string) bool {
	if id == "" || len(id) > 10 || (len(id) > 1 && id[0] == '0') {
		return false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	return err == nil && n <= 4294967295
}

// ParseRequest decodes and checks the envelope of a device request. On
// failure it returns the id it could recover ("" when none) so that the
// caller can still answer 400.
func ParseRequest(payload []byte) (*Request, string, *Error) {
	if len(payload) > MaxPayload {
		return nil, recoverID(payload), badRequest("payload is %d bytes; the limit is %d", len(payload), MaxPayload)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, recoverID(payload), badRequest("payload is not a JSON object")
	}
	var req Request
	if err := json.Unmarshal(raw["id"], &req.ID); err != nil || !ValidID(req.ID) {
		var n json.Number
		if json.Unmarshal(raw["id"], &n) == nil && ValidID(n.String()) {
			req.ID = n.String() // a numeric id is answered, as the string it means
		} else {
			return nil, "", badRequest("id must be a decimal string in 0..4294967295")
		}
	}
	if err := json.Unmarshal(raw["version"], &req.Version); err != nil || !strings.HasPrefix(req.Version, "1.0") {
		return nil, req.ID, badRequest("version must be 1.0")
	}
	req.Params = raw["params"]
	if len(req.Params) == 0 || req.Params[0] != '{' {
		return nil, req.ID, badRequest("params must be an object")
	}
	return &req, req.ID, nil
}

// recoverID finds the "id" of a payload that is not valid JSON, the way a
// small client scans: the first "id":"digits" in the bytes.
func recoverID(payload []byte) string {
	i := bytes.Index(payload, []byte(`"id"`))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(payload[i+4:], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	rest = bytes.TrimPrefix(rest, []byte(`"`))
	end := 0
	for end < len(rest) && end < 11 && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	if id := string(rest[:end]); ValidID(id) {
		return id
	}
	return ""
}

// GetParams are the params of a get request.
type GetParams struct {
	TaskID string `json:"taskId"`
}

// ParseGet checks the params of a get request.
func ParseGet(params json.RawMessage) (GetParams, *Error) {
	var p GetParams
	if err := json.Unmarshal(params, &p); err != nil || p.TaskID == "" || len(p.TaskID) > 64 {
		return p, badRequest("params.taskId must be $list, $next or a task id")
	}
	return p, nil
}

// UpdateParams are the params of an update request.
type UpdateParams struct {
	TaskID        string          `json:"taskId"`
	Status        string          `json:"status"`
	StatusDetails json.RawMessage `json:"statusDetails,omitempty"` // compact JSON object, or empty
	Progress      *int            `json:"progress,omitempty"`
}

// DeviceStatuses are the statuses a device may report.
var DeviceStatuses = []string{"IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED"}

// ParseUpdate checks the params of an update request.
func ParseUpdate(params json.RawMessage) (UpdateParams, *Error) {
	var raw struct {
		TaskID        string          `json:"taskId"`
		Status        string          `json:"status"`
		StatusDetails json.RawMessage `json:"statusDetails"`
		Progress      json.RawMessage `json:"progress"`
	}
	var p UpdateParams
	if err := json.Unmarshal(params, &raw); err != nil {
		return p, badRequest("params has a field of the wrong type")
	}
	if raw.TaskID == "" || len(raw.TaskID) > 64 {
		return p, badRequest("params.taskId is required")
	}
	p.TaskID, p.Status = raw.TaskID, raw.Status
	known := false
	for _, s := range DeviceStatuses {
		known = known || s == raw.Status
	}
	if !known {
		return p, badRequest("params.status must be one of IN_PROGRESS, SUCCEEDED, FAILED, REJECTED")
	}
	if len(raw.Progress) > 0 && string(raw.Progress) != "null" {
		n, err := strconv.Atoi(string(raw.Progress))
		if err != nil || n < 0 || n > 100 {
			return p, badRequest("params.progress must be an integer 0..100")
		}
		p.Progress = &n
	}
	if len(raw.StatusDetails) > 0 && string(raw.StatusDetails) != "null" {
		if raw.StatusDetails[0] != '{' {
			return p, badRequest("params.statusDetails must be an object")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw.StatusDetails); err != nil {
			return p, badRequest("params.statusDetails must be an object")
		}
		if buf.Len() > MaxStatusDetails {
			return p, badRequest("params.statusDetails is %d bytes; the limit is %d", buf.Len(), MaxStatusDetails)
		}
		p.StatusDetails = buf.Bytes()
	}
	return p, nil
}
