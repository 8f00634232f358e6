package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"fleettasks/internal/jsoncheck"
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

// MaxDetailsDepth bounds the nesting of statusDetails (the object itself
// is level 1).
const MaxDetailsDepth = 16

// ParseRequest decodes and checks the envelope of a device request: the
// syntax, then the id (so that every later refusal can be answered), then
// the bytes (UTF-8, no U+0000, no lone surrogates, no duplicate keys,
// statusDetails at most MaxDetailsDepth deep), then version and params. On
// failure it returns the id as sent ("" when there is none) so that the
// caller can still answer 400.
func ParseRequest(payload []byte) (*Request, string, *Error) {
	if len(payload) > MaxPayload {
		return nil, recoverID(payload), badRequest("payload is %d bytes; the limit is %d", len(payload), MaxPayload)
	}
	// envelope and params are two levels above statusDetails
	problem := jsoncheck.Check(payload, "", 2+MaxDetailsDepth)
	if problem != nil && problem.Reason == jsoncheck.ReasonSyntax {
		return nil, recoverID(payload), badRequest("payload is not a JSON object")
	}
	members, err := jsoncheck.Members(payload)
	if err != nil {
		return nil, "", badRequest("payload is not a JSON object")
	}
	first := func(key string) json.RawMessage { // the first, as a small client reads
		for _, m := range members {
			if m.Key == key {
				return m.Value
			}
		}
		return nil
	}
	rawID := first("id")
	if rawID == nil {
		return nil, "", badRequest("id is missing")
	}
	req := &Request{ID: idText(rawID)}
	if !ValidID(req.ID) {
		return nil, req.ID, badRequest("id must be a decimal string in 0..4294967295")
	}
	if problem != nil {
		return nil, req.ID, badRequest("%s", describe(problem))
	}
	if err := json.Unmarshal(first("version"), &req.Version); err != nil || !strings.HasPrefix(req.Version, "1.0") {
		return nil, req.ID, badRequest("version must be 1.0")
	}
	req.Params = first("params")
	if len(req.Params) == 0 || req.Params[0] != '{' {
		return nil, req.ID, badRequest("params must be an object")
	}
	return req, req.ID, nil
}

// idText is the id as sent: a string's value, or the text of anything
// else (a number is answered as the string it means).
func idText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// describe words a byte-level problem of a request for its 400 reply.
func describe(p *jsoncheck.Problem) string {
	path := p.Path
	if path == "" {
		path = "payload"
	}
	if p.Reason == jsoncheck.ReasonDepth {
		if strings.HasPrefix(path, "params.statusDetails") {
			return fmt.Sprintf("params.statusDetails nests more than %d levels", MaxDetailsDepth)
		}
		return path + " nests too deep"
	}
	return path + " " + p.Reason
}

// recoverID finds the "id" of a payload that is not valid JSON, the way a
// small client scans: the first "id": in the bytes, then a string (up to
// its closing quote, at most 64 bytes, no escapes) or digits.
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
	if len(rest) > 0 && rest[0] == '"' {
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 || end > 64 || bytes.IndexByte(rest[1:end+1], '\\') >= 0 || !utf8.Valid(rest[1:end+1]) {
			return ""
		}
		return string(rest[1 : end+1])
	}
	end := 0
	for end < len(rest) && end < 11 && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	return string(rest[:end])
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
