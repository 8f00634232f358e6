package device

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/protocol"
)

// ErrClosed is returned by requests on a closed client.
var ErrClosed = errors.New("device: client closed")

// Client is one device: it answers notifies and sends get and update
// requests. It has its own MQTT connection (Connect) or shares one with
// the other devices of a Fleet (Fleet.Add); the API is the same.
type Client struct {
	pk, dn string
	settings
	onNotify func(Notify)
	onResume func([]protocol.ListItem)

	mc     mqtt.Client   // the connection this device publishes on
	own    bool          // Close disconnects mc
	fleet  *Fleet        // set for a fleet member
	sem    chan struct{} // bounds concurrent resumes in a fleet; nil alone
	seq    atomic.Uint32 // request ids; wraps within 0..4294967295
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	pending  map[string]chan protocol.ReplyMessage
	inbox    []Notify
	draining bool
	recent   [32]string // the last notifies (id|taskId|status), to drop redeliveries
	nrecent  int
}

func newClient(pk, dn string, s settings, onNotify func(Notify), onResume func([]protocol.ListItem)) *Client {
	c := &Client{pk: pk, dn: dn, settings: s, onNotify: onNotify, onResume: onResume,
		pending: make(map[string]chan protocol.ReplyMessage)}
	c.seq.Store(random32())
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.log = c.log.With("device", pk+"/"+dn)
	return c
}

// Connect opens the device's own MQTT connection, subscribes to its
// notify, get_reply and update_reply topics (unless NoSubscribe) and
// returns once the subscriptions are in place. The connection reconnects by itself; each
// time it comes back the client subscribes again and, when OnResume is
// set, asks for $list and calls OnResume.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if err := checkName("device: product key", cfg.ProductKey); err != nil {
		return nil, err
	}
	if err := checkName("device: device name", cfg.DeviceName); err != nil {
		return nil, err
	}
	where := "device " + cfg.ProductKey + "/" + cfg.DeviceName
	if cfg.BrokerURL == "" {
		return nil, fmt.Errorf("%s: BrokerURL is required", where)
	}
	s, err := newSettings(cfg.QoS, cfg.RequestTimeout, cfg.Retries, cfg.HTTPClient, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	creds, err := cfg.SignIn()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	c := newClient(cfg.ProductKey, cfg.DeviceName, s, cfg.OnNotify, cfg.OnResume)
	c.own = true
	filters := map[string]byte{}
	if !cfg.NoSubscribe {
		for _, kind := range []string{protocol.KindNotify, protocol.KindGetReply, protocol.KindUpdateReply} {
			filters[protocol.Topic(c.pk, c.dn, kind)] = 1
		}
	}
	route := func(_ mqtt.Client, m mqtt.Message) {
		if pk, dn, kind, ok := protocol.ParseTopic(m.Topic()); ok && pk == c.pk && dn == c.dn {
			c.deliver(kind, m.Payload())
		}
	}
	c.mc, err = dial(ctx, cfg.BrokerURL, cfg.TLS, creds, cfg.CleanSession, filters, route, c.timeout, c.log,
		func(first bool) {
			if !first {
				go c.resume()
			}
		})
	if err != nil {
		c.cancel()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	go c.resume() // the first connect's, now that c.mc is set
	return c, nil
}

// ProductKey is the device's product key.
func (c *Client) ProductKey() string { return c.pk }

// DeviceName is the device's name.
func (c *Client) DeviceName() string { return c.dn }

// Close stops the client: pending requests return ErrClosed. A client of
// its own disconnects; a fleet member leaves the fleet, whose connection
// stays up for the others.
func (c *Client) Close() {
	c.cancel()
	if c.fleet != nil {
		c.fleet.remove(c)
	}
	if c.own {
		c.mc.Disconnect(250)
	}
}

// deliver handles one message for this device. It runs on the
// connection's reader and must not block: replies go to their waiting
// request, notifies to the device's queue.
func (c *Client) deliver(kind string, payload []byte) {
	switch kind {
	case protocol.KindNotify:
		c.queueNotify(payload)
	case protocol.KindGetReply, protocol.KindUpdateReply:
		var r protocol.ReplyMessage
		if err := json.Unmarshal(payload, &r); err != nil || r.ID == "" {
			c.log.Warn("unreadable reply dropped", "kind", kind, "payload", truncate(payload))
			return
		}
		c.mu.Lock()
		ch := c.pending[r.ID]
		c.mu.Unlock()
		if ch == nil {
			c.log.Debug("reply to no pending request", "kind", kind, "id", r.ID)
			return
		}
		select {
		case ch <- r:
		default: // a second reply to a retransmission: the first one won
		}
	}
}

// resume asks $list and hands the result to OnResume.
func (c *Client) resume() {
	if c.onResume == nil {
		return
	}
	if c.sem != nil {
		select {
		case c.sem <- struct{}{}:
			defer func() { <-c.sem }()
		case <-c.ctx.Done():
			return
		}
	}
	items, err := c.List(c.ctx)
	if err != nil {
		if c.ctx.Err() == nil {
			c.log.Warn("resume: $list failed", "err", err)
		}
		return
	}
	c.onResume(items)
}

// random32 is a random number in 0..4294967295.
func random32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
