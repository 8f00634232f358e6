package protocol

import "encoding/json"

// This file holds what a device client needs on top of the server's side:
// the requests it builds and the replies it reads.

// ReplyMessage is a reply as a device reads it: data stays raw until the
// caller knows, from its request, what shape to expect.
type ReplyMessage struct {
	ID      string          `json:"id"`
	Code    int             `json:"code"`
	Data    json.RawMessage `json:"data"`
	Message string          `json:"message,omitempty"`
}

// GetRequest is the compact payload of a get for taskID ($list, $next or
// a sub-task id).
func GetRequest(id, taskID string) []byte {
	return Marshal(Request{ID: id, Version: Version, Params: Marshal(GetParams{TaskID: taskID})})
}

// UpdateRequest is the compact payload of an update.
func UpdateRequest(id string, p UpdateParams) []byte {
	return Marshal(Request{ID: id, Version: Version, Params: Marshal(p)})
}

// NotifyReply is the acknowledgement of the notify id:
// {"id":"<id>","code":200,"data":{}}.
func NotifyReply(id string) []byte {
	return Marshal(Reply{ID: id, Code: CodeOK, Data: Empty})
}
