package device

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"fleettasks/protocol"
)

// UpdateOption adds progress or details to an Update.
type UpdateOption func(*update)

type update struct {
	p   protocol.UpdateParams
	err error
}

// WithProgress reports progress, 0..100.
func WithProgress(percent int) UpdateOption {
	return func(u *update) { u.p.Progress = &percent }
}

// WithDetails reports statusDetails: a JSON object of at most 4 KB, given
// as a value to encode, or as json.RawMessage / []byte holding the object.
func WithDetails(v any) UpdateOption {
	return func(u *update) {
		var raw []byte
		switch d := v.(type) {
		case json.RawMessage:
			raw = d
		case []byte:
			raw = d
		default:
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				u.err = fmt.Errorf("statusDetails: %w", err)
				return
			}
			raw = buf.Bytes()
		}
		if !json.Valid(raw) {
			u.err = fmt.Errorf("statusDetails is not valid JSON")
			return
		}
		u.p.StatusDetails = protocol.Compact(raw)
	}
}

// Update reports the sub-task's status (IN_PROGRESS, SUCCEEDED, FAILED or
// REJECTED) and returns its status now. A refusal is a *ReplyError; a 409
// (the sub-task was cancelled, timed out or already finished) carries the
// current status in Status: stop working on it.
func (c *Client) Update(ctx context.Context, taskID, status string, opts ...UpdateOption) (string, error) {
	op := "update " + taskID + " " + status
	u := update{p: protocol.UpdateParams{TaskID: taskID, Status: status}}
	for _, o := range opts {
		o(&u)
	}
	if u.err != nil {
		return "", fmt.Errorf("device %s/%s: %s: %w", c.pk, c.dn, op, u.err)
	}
	// The server's own validation, so that a bad update fails here, clearly.
	if _, perr := protocol.ParseUpdate(protocol.Marshal(u.p)); perr != nil {
		return "", fmt.Errorf("device %s/%s: %s: %s", c.pk, c.dn, op, perr.Message)
	}
	data, err := c.request(ctx, protocol.KindUpdate, op, func(id string) []byte { return protocol.UpdateRequest(id, u.p) })
	if err != nil {
		return "", err
	}
	var d protocol.UpdateData
	if err := json.Unmarshal(data, &d); err != nil {
		return "", fmt.Errorf("device %s/%s: %s: unreadable reply data: %w", c.pk, c.dn, op, err)
	}
	return d.Status, nil
}
