package device

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/protocol"
	"fleettasks/protocol/signin"
)

// FleetConfig describes many devices of one product sharing a few MQTT
// connections (the simulator and benchmarks run thousands of devices; one
// TCP connection each would exhaust file descriptors). A shared
// connection speaks for many devices, so it cannot sign in as any one of
// them (Config.DeviceSecret): it connects as the server and the benchmark
// do, by client id alone, and needs a broker that lets such a client in.
type FleetConfig struct {
	BrokerURL  string
	TLS        *tls.Config // as Config.TLS
	ProductKey string
	// Conns is the number of MQTT connections, default 1. About one per
	// 1,000 devices keeps each connection's broker queue (Mosquitto:
	// max_queued_messages, 1000 by default) well clear of overflowing
	// when every device is notified at once.
	Conns          int
	ClientIDPrefix string // default "fleet-<pk>-<random>"; connection i is "<prefix>-<i>"

	QoS            byte
	RequestTimeout time.Duration
	Retries        int
	HTTPClient     *http.Client
	Logger         *slog.Logger
}

// Handlers are a fleet device's callbacks, as in Config.
type Handlers struct {
	OnNotify func(Notify)
	OnResume func([]protocol.ListItem)
}

// Fleet is many devices of one product on a few shared connections. Each
// connection subscribes with wildcards (/sys/{pk}/+/thing/job/notify,
// get_reply, update_reply; as one shared subscription group when there
// are several connections, so each message arrives once) and messages are
// routed to the device named in the topic. Devices publish on the
// connection they were assigned round-robin.
type Fleet struct {
	pk    string
	set   settings
	links []mqtt.Client
	sem   chan struct{} // bounds concurrent $list on resume
	added atomic.Int64

	mu      sync.RWMutex
	devices map[string]*Client
}

// NewFleet opens the fleet's connections and subscribes them.
func NewFleet(ctx context.Context, cfg FleetConfig) (*Fleet, error) {
	where := "device: fleet " + cfg.ProductKey
	if err := checkName("device: fleet product key", cfg.ProductKey); err != nil {
		return nil, err
	}
	if cfg.BrokerURL == "" {
		return nil, fmt.Errorf("%s: BrokerURL is required", where)
	}
	s, err := newSettings(cfg.QoS, cfg.RequestTimeout, cfg.Retries, cfg.HTTPClient, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	f := &Fleet{pk: cfg.ProductKey, set: s, sem: make(chan struct{}, 256), devices: map[string]*Client{}}
	n := max(cfg.Conns, 1)
	random := strconv.FormatUint(uint64(random32()), 36)
	if cfg.ClientIDPrefix == "" {
		cfg.ClientIDPrefix = "fleet-" + cfg.ProductKey + "-" + random
	}
	filters := map[string]byte{}
	for _, kind := range []string{protocol.KindNotify, protocol.KindGetReply, protocol.KindUpdateReply} {
		filter := protocol.Topic(f.pk, "+", kind)
		if n > 1 {
			filter = "$share/ftfleet" + random + "/" + filter
		}
		filters[filter] = 1
	}
	for i := range n {
		id := cfg.ClientIDPrefix + "-" + strconv.Itoa(i)
		mc, err := dial(ctx, cfg.BrokerURL, cfg.TLS, signin.Credentials{ClientID: id}, true, filters, f.route, s.timeout, s.log, f.reconnected)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		f.links = append(f.links, mc)
	}
	return f, nil
}

// Add makes device dn of the fleet's product a member and returns its
// client. Like Connect, it asks $list and calls OnResume (when set) once
// the device is in, and again whenever a fleet connection comes back.
func (f *Fleet) Add(dn string, h Handlers) (*Client, error) {
	if err := checkName("device: fleet device name", dn); err != nil {
		return nil, err
	}
	c := newClient(f.pk, dn, f.set, h.OnNotify, h.OnResume)
	c.fleet, c.sem = f, f.sem
	c.mc = f.links[int(f.added.Add(1)-1)%len(f.links)]
	f.mu.Lock()
	if _, dup := f.devices[dn]; dup {
		f.mu.Unlock()
		c.cancel()
		return nil, fmt.Errorf("device: fleet %s: device %q was added twice", f.pk, dn)
	}
	f.devices[dn] = c
	f.mu.Unlock()
	go c.resume()
	return c, nil
}

// Len is the number of member devices.
func (f *Fleet) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.devices)
}

// Close stops every member and disconnects.
func (f *Fleet) Close() {
	f.mu.Lock()
	members := f.devices
	f.devices = map[string]*Client{}
	f.mu.Unlock()
	for _, c := range members {
		c.cancel()
	}
	for _, mc := range f.links {
		mc.Disconnect(250)
	}
}

// reconnected resumes every device after a connection came back: the
// messages in flight on the lost one may have been for any of them.
func (f *Fleet) reconnected(first bool) {
	if first {
		return
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, c := range f.devices {
		go c.resume()
	}
}

func (f *Fleet) remove(c *Client) {
	f.mu.Lock()
	if f.devices[c.dn] == c {
		delete(f.devices, c.dn)
	}
	f.mu.Unlock()
}

// route hands a message to the device named in its topic.
func (f *Fleet) route(_ mqtt.Client, m mqtt.Message) {
	pk, dn, kind, ok := protocol.ParseTopic(m.Topic())
	if !ok || pk != f.pk {
		return
	}
	f.mu.RLock()
	c := f.devices[dn]
	f.mu.RUnlock()
	if c != nil {
		c.deliver(kind, m.Payload())
	}
}
