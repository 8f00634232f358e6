// Package broker is the embedded MQTT broker: one fleettasks process
// serves the devices itself, without a Mosquitto or EMQX beside it
// (FLEETTASKS_BROKER=embedded, docs/brokers.md). Devices sign in the
// Alibaba IoT way against their secrets in the registry, may only use
// their own job topics (models.DeviceMay), and are subscribed to their
// downlink topics as soon as they connect, as the Alibaba platform does.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"fleettasks/protocol/signin"
)

// clientReadBuffer is the bufio.Reader mochi allocates for every
// connection as it comes in (its default 2 KB): device packets are small,
// and a larger packet is read through it all the same. (Each connection's
// outbound queue is allocated only while packets wait in it, in the
// patched mochi of third_party/mochi-server, so mochi's default of 8,192
// pending writes costs an idle device nothing.)
const clientReadBuffer = 1024

// Config is what the embedded broker needs.
type Config struct {
	// Addr is the host:port it listens on (FLEETTASKS_BROKER_ADDR).
	Addr string
	// TLS, when set, makes the listener a TLS one.
	TLS *tls.Config
	// Secrets finds the devices' secrets (the registry); when it can also look
	// up several at once (BatchSecrets), sign-ins arriving together share
	// one query.
	Secrets signin.SecretSource
	// User and Password are the server's own broker credentials (those
	// of FLEETTASKS_MQTT_URL): that user may publish and subscribe
	// anywhere. An empty User admits no server user.
	User, Password string
	// Connections, when set, records the devices' connections: at start
	// it marks every device still marked connected as disconnected
	// ("server restarted"), then records each connect and disconnect.
	Connections ConnectionStore
	Log         *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	srv   *mqtt.Server
	addr  string
	conns *connWriter // nil without Config.Connections
	batch *batcher    // nil when Config.Secrets looks up one device at a time
}

// Start listens on cfg.Addr and serves MQTT until Close. A taken address
// is an error naming FLEETTASKS_BROKER_ADDR.
func Start(cfg Config) (*Broker, error) {
	if cfg.Secrets == nil {
		return nil, errors.New("broker: no secret source")
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	// Probe the address first, so that a taken port is a clear error
	// rather than a listener failing in the background.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("FLEETTASKS_BROKER_ADDR: cannot listen on %s: %w", cfg.Addr, err)
	}
	ln.Close()

	var conns *connWriter
	if cfg.Connections != nil {
		// no device is connected to a broker that has not started: those
		// marked connected were so to a process that ended without saying
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		n, err := cfg.Connections.EndConnections(ctx, time.Now().UTC(), reasonRestart)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
		if n > 0 {
			log.Info("broker: devices left connected by the previous run marked offline", "devices", n)
		}
		conns = newConnWriter(cfg.Connections, log)
	}
	// mochi's own log says little the hook does not, and warns of every
	// connection closed before its CONNECT (a health check's probe):
	// only its errors are kept.
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(errorsOnly{log.Handler()}).With("component", "broker"),
		ClientNetReadBufferSize: clientReadBuffer})
	secrets := cfg.Secrets
	var batch *batcher
	if bs, ok := cfg.Secrets.(BatchSecrets); ok {
		batch = newBatcher(bs)
		secrets = batch
	}
	b := &Broker{srv: srv, conns: conns, batch: batch}
	h := &hook{verifier: signin.NewVerifier(secrets).WithServer(cfg.User, cfg.Password), log: log, srv: srv, conns: conns}
	if err := srv.AddHook(h, nil); err != nil {
		b.stopWriters()
		return nil, fmt.Errorf("broker: add hook: %w", err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "devices", Address: cfg.Addr, TLSConfig: cfg.TLS})
	if err := srv.AddListener(l); err != nil {
		b.stopWriters()
		return nil, fmt.Errorf("FLEETTASKS_BROKER_ADDR: cannot listen on %s: %w", cfg.Addr, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		b.stopWriters()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	b.addr = l.Address()
	return b, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// Publish sends a message from the broker itself (the inline client).
func (b *Broker) Publish(topic string, payload []byte, qos byte) error {
	return b.srv.Publish(topic, payload, false, qos)
}

// Close disconnects the clients, stops listening and records the
// devices' disconnects.
func (b *Broker) Close() error {
	err := b.srv.Close()
	b.stopWriters()
	return err
}

// stopWriters stops the connection writer and the secret batcher.
func (b *Broker) stopWriters() {
	if b.conns != nil {
		b.conns.close()
	}
	if b.batch != nil {
		b.batch.close()
	}
}

// Run starts the broker and keeps it until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	b, err := Start(cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return b.Close()
}

// errorsOnly passes on the records of level Error and above.
type errorsOnly struct{ slog.Handler }

func (h errorsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h errorsOnly) WithAttrs(as []slog.Attr) slog.Handler {
	return errorsOnly{h.Handler.WithAttrs(as)}
}
func (h errorsOnly) WithGroup(g string) slog.Handler { return errorsOnly{h.Handler.WithGroup(g)} }
