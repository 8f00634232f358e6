package device

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"fleettasks/protocol"
)

// ErrNoReply is wrapped by the error of a request that got no reply after
// all its retransmissions.
var ErrNoReply = errors.New("no reply")

// ReplyError is a reply with a code other than 200.
type ReplyError struct {
	Device  string // pk/dn
	Op      string // e.g. "update 42 SUCCEEDED"
	Code    int    // 400, 404, 409, 429, 500
	Message string
	Status  string // a 409's current status of the sub-task
}

func (e *ReplyError) Error() string {
	s := fmt.Sprintf("device %s: %s: %d %s", e.Device, e.Op, e.Code, e.Message)
	if e.Status != "" {
		s += " (status is " + e.Status + ")"
	}
	return s
}

// request publishes payload(id) on the device's kind topic and waits for
// the reply with that id, retransmitting the same id when none comes
// within the timeout. A reply with a code other than 200 is a *ReplyError.
func (c *Client) request(ctx context.Context, kind, op string, payload func(id string) []byte) (json.RawMessage, error) {
	where := "device " + c.pk + "/" + c.dn + ": " + op
	id := strconv.FormatUint(uint64(c.seq.Add(1)), 10)
	msg := payload(id)
	ch := make(chan protocol.ReplyMessage, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	topic := protocol.Topic(c.pk, c.dn, kind)
	var pubErr error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			c.log.Debug("no reply; retransmitting", "op", op, "id", id, "attempt", attempt+1)
		}
		tok := c.mc.Publish(topic, c.qos, false, msg)
		sent := tok.Done()
		timer := time.NewTimer(c.timeout)
	wait:
		for {
			select {
			case r := <-ch:
				timer.Stop()
				return c.reply(op, r)
			case <-sent:
				sent = nil
				if err := tok.Error(); err != nil {
					pubErr = err
				}
			case <-timer.C:
				break wait
			case <-ctx.Done():
				timer.Stop()
				return nil, fmt.Errorf("%s: %w", where, ctx.Err())
			case <-c.ctx.Done():
				timer.Stop()
				return nil, fmt.Errorf("%s: %w", where, ErrClosed)
			}
		}
	}
	err := fmt.Errorf("%s: %w to request %s after %d attempts %s apart", where, ErrNoReply, id, c.retries+1, c.timeout)
	if pubErr != nil {
		err = fmt.Errorf("%w (last publish error: %v)", err, pubErr)
	}
	return nil, err
}

// reply turns a reply into its data or a *ReplyError.
func (c *Client) reply(op string, r protocol.ReplyMessage) (json.RawMessage, error) {
	if r.Code == protocol.CodeOK {
		return r.Data, nil
	}
	e := &ReplyError{Device: c.pk + "/" + c.dn, Op: op, Code: r.Code, Message: r.Message}
	var d protocol.UpdateData
	if json.Unmarshal(r.Data, &d) == nil {
		e.Status = d.Status
	}
	return nil, e
}

// get sends a get for taskID and decodes the reply's data into v.
func (c *Client) get(ctx context.Context, taskID string, v any) error {
	op := "get " + taskID
	data, err := c.request(ctx, protocol.KindGet, op, func(id string) []byte { return protocol.GetRequest(id, taskID) })
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("device %s/%s: %s: unreadable reply data: %w", c.pk, c.dn, op, err)
	}
	return nil
}

// List returns the device's executable sub-tasks (SENT or IN_PROGRESS),
// oldest first, at most 10.
func (c *Client) List(ctx context.Context) ([]protocol.ListItem, error) {
	var d protocol.ListData
	if err := c.get(ctx, protocol.List, &d); err != nil {
		return nil, err
	}
	if d.Tasks != nil {
		return d.Tasks, nil
	}
	if d.Task == nil {
		return []protocol.ListItem{}, nil
	}
	return d.Task, nil
}

// Next returns the oldest executable sub-task in full, or nil, nil when
// there is none.
func (c *Client) Next(ctx context.Context) (*Job, error) {
	return c.detail(ctx, protocol.Next)
}

// Get returns one sub-task of this device in full, whatever its status. An
// unknown id is a *ReplyError with Code 404.
func (c *Client) Get(ctx context.Context, taskID string) (*Job, error) {
	job, err := c.detail(ctx, taskID)
	if err == nil && job == nil {
		err = fmt.Errorf("device %s/%s: get %s: reply has no task", c.pk, c.dn, taskID)
	}
	return job, err
}

func (c *Client) detail(ctx context.Context, taskID string) (*Job, error) {
	var d protocol.DetailData
	if err := c.get(ctx, taskID, &d); err != nil {
		return nil, err
	}
	if d.Task == nil {
		return nil, nil
	}
	job, err := jobOf(*d.Task, json.RawMessage(d.StatusDetails))
	if err != nil {
		return nil, fmt.Errorf("device %s/%s: get %s: %w", c.pk, c.dn, taskID, err)
	}
	return job, nil
}
