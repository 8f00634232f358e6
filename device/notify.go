package device

import (
	"encoding/json"

	"fleettasks/protocol"
)

// queueNotify parses a notify and queues it for the device's notify
// goroutine, which is started when the queue was empty. A notify seen
// lately (a broker redelivery) is acknowledged again but not handed on.
func (c *Client) queueNotify(payload []byte) {
	var n protocol.Notify
	if err := json.Unmarshal(payload, &n); err != nil || n.Params.Task.TaskID == "" {
		c.log.Warn("unreadable notify dropped", "payload", truncate(payload))
		return
	}
	// A redelivery repeats the id and the content; the key holds both, so
	// that a new notify is never mistaken for one.
	key := n.ID + "|" + n.Params.Task.TaskID + "|" + n.Params.Task.Status
	c.mu.Lock()
	defer c.mu.Unlock()
	dup := false
	for _, k := range c.recent {
		dup = dup || (n.ID != "" && k == key)
	}
	if !dup && n.ID != "" {
		c.recent[c.nrecent%len(c.recent)] = key
		c.nrecent++
	}
	note := Notify{ID: n.ID, Task: n.Params.Task}
	if dup {
		note.Task.TaskID = "" // marks "acknowledge only"
	}
	c.inbox = append(c.inbox, note)
	if !c.draining {
		c.draining = true
		go c.drain()
	}
}

// drain acknowledges each queued notify and calls OnNotify, in order.
func (c *Client) drain() {
	for {
		c.mu.Lock()
		if len(c.inbox) == 0 || c.ctx.Err() != nil {
			c.inbox, c.draining = nil, false
			c.mu.Unlock()
			return
		}
		n := c.inbox[0]
		c.inbox = c.inbox[1:]
		c.mu.Unlock()
		if n.ID != "" {
			topic := protocol.Topic(c.pk, c.dn, protocol.KindNotifyReply)
			c.mc.Publish(topic, c.qos, false, protocol.NotifyReply(n.ID))
		}
		if n.Task.TaskID != "" && c.onNotify != nil {
			c.onNotify(n)
		}
	}
}
