package broker

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"fleettasks/models"
	"fleettasks/protocol"
	"fleettasks/protocol/signin"
)

// verifyTimeout bounds the secret look-up of one sign-in.
const verifyTimeout = 5 * time.Second

// identity is who a connected client signed in as: the server user, or
// a device.
type identity struct {
	server bool
	device signin.Device
	conn   int64 // the device's connection id (connWriter), 0 before it is recorded
}

// hook authenticates sign-ins, enforces the device ACL and subscribes
// devices to their downlink topics.
type hook struct {
	mqtt.HookBase
	verifier *signin.Verifier // admits the server's user too (WithServer)
	log      *slog.Logger
	srv      *mqtt.Server
	conns    *connWriter // records the devices' connections; nil records none

	mu      sync.Mutex
	clients map[*mqtt.Client]identity
	// owners is who made the session kept under each client id: only the
	// same identity may take a session over, with its subscriptions and
	// queued messages; another device using the id is refused.
	owners map[string]owner
	// verdicts carry OnConnect's sign-in decision to OnConnectAuthenticate.
	verdicts map[*mqtt.Client]bool
}

// owner is the identity that made a session, and the client that holds it.
type owner struct {
	id identity
	cl *mqtt.Client
}

func (h *hook) ID() string { return "fleettasks" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnect,
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
		mqtt.OnClientExpired,
	}, []byte{b})
}

func (h *hook) set(cl *mqtt.Client, id identity) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.clients == nil {
		h.clients = map[*mqtt.Client]identity{}
	}
	h.clients[cl] = id
	connected.Set(float64(len(h.clients)))
}

func (h *hook) get(cl *mqtt.Client) (identity, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := h.clients[cl]
	return id, ok
}

// OnConnect checks the sign-in, before mochi asks OnConnectAuthenticate,
// so that one the registry could not decide (the database slow or down)
// is answered "server unavailable", which devices retry, rather than "bad
// user name or password", which a device may take for good.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	admitted, err := h.signIn(cl, pk)
	if err != nil {
		h.srv.SendConnack(cl, packets.ErrServerUnavailable, false, nil)
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.verdicts == nil {
		h.verdicts = map[*mqtt.Client]bool{}
	}
	h.verdicts[cl] = admitted
	return nil
}

// OnConnectAuthenticate gives OnConnect's verdict.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	admitted := h.verdicts[cl]
	delete(h.verdicts, cl)
	return admitted
}

// signIn admits the server user and devices whose Alibaba sign-in checks
// against their secret, and refuses all else; err is set when the
// registry could not decide. Neither passwords nor secrets are logged.
func (h *hook) signIn(cl *mqtt.Client, pk packets.Packet) (bool, error) {
	user := string(pk.Connect.Username)
	refuse := func(label, reason string) {
		h.log.Info("broker: sign-in refused", "client", cl.ID, "user", user, "address", cl.Net.Remote, "reason", reason)
		connections.WithLabelValues("refused").Inc()
		signinFailures.WithLabelValues(label).Inc()
	}
	ctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
	defer cancel()
	res, err := h.verifier.Verify(ctx, signin.Credentials{ClientID: pk.Connect.ClientIdentifier, Username: user, Password: string(pk.Connect.Password)})
	if r, refused := signin.AsRefusal(err); refused {
		refuse(failureLabels[r.Reason], string(r.Reason))
		return false, nil
	}
	if err != nil {
		h.log.Error("broker: sign-in undecided", "client", cl.ID, "user", user, "address", cl.Net.Remote, "err", err)
		connections.WithLabelValues("refused").Inc()
		signinFailures.WithLabelValues("unavailable").Inc()
		return false, err
	}
	id := identity{server: res.Server, device: res.Device}
	if !h.own(cl, id) {
		refuse("client_id_taken", "the client id is another device's session")
		return false, nil
	}
	h.set(cl, id)
	connections.WithLabelValues("accepted").Inc()
	return true, nil
}

// own records cl as the holder of the session of its client id, unless
// another identity made that session.
func (h *hook) own(cl *mqtt.Client, id identity) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o, ok := h.owners[cl.ID]; ok && (o.id.server != id.server || o.id.device != id.device) {
		return false
	}
	if h.owners == nil {
		h.owners = map[string]owner{}
	}
	h.owners[cl.ID] = owner{id: id, cl: cl}
	return true
}

// disown forgets the session of cl once it is gone, unless a newer
// client holds it.
func (h *hook) disown(cl *mqtt.Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o, ok := h.owners[cl.ID]; ok && o.cl == cl {
		delete(h.owners, cl.ID)
	}
}

// keptSession is the identity that made the session cl still holds.
func (h *hook) keptSession(cl *mqtt.Client) (identity, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.owners[cl.ID]
	if !ok || o.cl != cl {
		return identity{}, false
	}
	return o.id, true
}

// OnClientExpired forgets a session that expired.
func (h *hook) OnClientExpired(cl *mqtt.Client) { h.disown(cl) }

// OnACLCheck lets the server user do anything and a device only what
// models.DeviceMay allows.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	id, ok := h.get(cl)
	if !ok {
		// a device's session kept while it is offline (clean session off):
		// a message to it is checked, and then kept for it, by the identity
		// that made the session
		id, ok = h.keptSession(cl)
	}
	if ok && id.server {
		return true
	}
	action := models.BrokerSubscribe
	if write {
		action = models.BrokerPublish
	}
	if ok && models.DeviceMay(id.device.ProductKey, id.device.DeviceName, action, topic) {
		return true
	}
	aclRefusals.WithLabelValues(string(action)).Inc()
	return false
}

// OnSessionEstablished records that a device connected, and subscribes
// it to its own notify, get_reply and update_reply topics, so that a
// device that never subscribes still gets its job notifications and
// replies.
func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	id, ok := h.get(cl)
	if !ok || id.server {
		return
	}
	// subscribed before it is recorded online: whatever acts on a device
	// being online finds it subscribed
	for _, kind := range []string{protocol.KindNotify, protocol.KindGetReply, protocol.KindUpdateReply} {
		sub := packets.Subscription{Filter: protocol.Topic(id.device.ProductKey, id.device.DeviceName, kind), Qos: 1}
		h.srv.Topics.Subscribe(cl.ID, sub)
		cl.State.Subscriptions.Add(sub.Filter, sub)
	}
	sdk := sdkVersion(cl.ID)
	h.log.Info("broker: device connected", "device", id.device.ProductKey+"/"+id.device.DeviceName, "address", cl.Net.Remote, "sdk", sdk)
	if h.conns != nil {
		id.conn = h.conns.connect(id.device, cl.Net.Remote, sdk)
		h.set(cl, id)
	}
}

// OnDisconnect forgets a client and, for a device, records, counts and
// logs why its connection ended (disconnectReason). A clean session ends
// with its connection, and its client id is free again.
func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	if expire {
		h.disown(cl)
	}
	h.mu.Lock()
	id, ok := h.clients[cl]
	if ok {
		delete(h.clients, cl)
		connected.Set(float64(len(h.clients)))
	}
	h.mu.Unlock()
	if !ok || id.server {
		return
	}
	reason := disconnectReason(cl, err)
	disconnections.WithLabelValues(reason).Inc()
	h.log.Info("broker: device disconnected", "device", id.device.ProductKey+"/"+id.device.DeviceName, "reason", reason, "err", err)
	if h.conns != nil && id.conn != 0 {
		h.conns.disconnect(id.device, id.conn, reason)
	}
}

// sdkVersion is the _v parameter of an Alibaba client id, "" when it has
// none, made storable: valid UTF-8 without NUL bytes, so that one odd
// client id cannot make a batch of connection changes fail for good.
func sdkVersion(clientID string) string {
	c, err := signin.ParseClientID(clientID)
	if err != nil {
		return ""
	}
	return strings.ToValidUTF8(strings.ReplaceAll(c.SDKVersion, "\x00", ""), "")
}
