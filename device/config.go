package device

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"fleettasks/protocol"
	"fleettasks/protocol/signin"
)

// Config describes one device connecting with its own MQTT connection.
type Config struct {
	BrokerURL string // tcp://host:1883, ssl://..., ws://...
	// TLS is the TLS configuration for an ssl:// or wss:// broker (its
	// RootCAs for a private CA); nil: the system's roots.
	TLS        *tls.Config
	ProductKey string
	DeviceName string
	ClientID   string // MQTT client id; default "<ProductKey>.<DeviceName>"
	// DeviceSecret, when set, signs the device in the Alibaba way
	// (package protocol/signin): the client id
	// "<pk>.<dn>|_ss=1,_v=fleettasks-go,securemode=3,signmethod=hmacsha256,ext=3,|"
	// (securemode=2 on ssl://, tls://, wss://), the user name "<dn>&<pk>"
	// and the HMAC-SHA256 password. No timestamp is signed, so the client
	// id, and the broker session it keys, stay the same at every connect.
	// ClientID must then be empty.
	DeviceSecret string
	// PlainSignIn sends DeviceSecret itself as the password, with the user
	// name "<dn>&<pk>" and the client id "<pk>.<dn>": the form a Mosquitto
	// password file can check (docs/brokers.md). Use it over TLS only.
	PlainSignIn bool
	// NoSubscribe leaves the subscriptions to the broker: the embedded
	// broker (and EMQX with its auto-subscribe) subscribes a signed-in
	// device to its notify, get_reply and update_reply topics, as the
	// Alibaba platform does, and the client then never subscribes.
	NoSubscribe bool

	// CleanSession false (the default) keeps the broker session, so QoS 1
	// notifies published while the device was offline are delivered when
	// it comes back.
	CleanSession bool

	QoS            byte          // QoS of requests (get, update, notify_reply); default 1
	RequestTimeout time.Duration // wait for a reply before retransmitting; default 10s
	Retries        int           // retransmissions of a request, same id; default 3, negative for none

	// OnNotify is called for each notify (SENT, CANCELLED, REMOVED), one
	// at a time and in arrival order, after the notify_reply was sent. It
	// runs on the device's own goroutine and may call the client's methods.
	OnNotify func(Notify)
	// OnResume is called after every connect and reconnect with the
	// device's executable sub-tasks ($list, oldest first), so that work
	// pushed while the device was offline is not lost.
	OnResume func([]protocol.ListItem)

	HTTPClient *http.Client // for Download; default http.DefaultClient
	Logger     *slog.Logger // default: discard
}

// settings are the per-device values a Config and a FleetConfig share.
type settings struct {
	qos     byte
	timeout time.Duration
	retries int
	http    *http.Client
	log     *slog.Logger
}

func newSettings(qos byte, timeout time.Duration, retries int, hc *http.Client, log *slog.Logger) (settings, error) {
	s := settings{qos: qos, timeout: timeout, retries: retries, http: hc, log: log}
	if qos > 1 {
		return s, fmt.Errorf("QoS %d: use 0 or 1", qos)
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	switch {
	case s.retries == 0:
		s.retries = 3
	case s.retries < 0:
		s.retries = 0
	}
	if s.http == nil {
		s.http = http.DefaultClient
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s, nil
}

// checkName rejects what cannot be one level of an MQTT topic.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is required", what)
	}
	if strings.ContainsAny(s, "/+#") {
		return fmt.Errorf("%s %q must not contain '/', '+' or '#'", what, s)
	}
	return nil
}

// SignIn is the client id, user name and password the device connects
// with: signed with DeviceSecret when it is set, else the client id alone
// (ClientID, or "<ProductKey>.<DeviceName>").
func (cfg Config) SignIn() (signin.Credentials, error) {
	if cfg.DeviceSecret == "" {
		id := cfg.ClientID
		if id == "" {
			id = cfg.ProductKey + "." + cfg.DeviceName
		}
		return signin.Credentials{ClientID: id}, nil
	}
	if cfg.ClientID != "" {
		return signin.Credentials{}, errors.New("a signed sign-in (DeviceSecret) builds its own client id: leave ClientID empty")
	}
	dev := signin.Device{ProductKey: cfg.ProductKey, DeviceName: cfg.DeviceName}
	if cfg.PlainSignIn {
		return signin.Credentials{ClientID: cfg.ProductKey + "." + cfg.DeviceName, Username: signin.Username(dev), Password: cfg.DeviceSecret}, nil
	}
	mode := signin.SecureModeTCP
	if scheme, _, _ := strings.Cut(cfg.BrokerURL, "://"); scheme == "ssl" || scheme == "tls" || scheme == "wss" || scheme == "mqtts" {
		mode = signin.SecureModeTLS
	}
	return signin.Sign(dev, cfg.DeviceSecret, signin.SignOptions{SecureMode: mode}), nil
}
