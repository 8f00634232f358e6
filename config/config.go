// Package config reads the FLEETTASKS_* environment into one typed struct.
package config

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of a fleettasks process.
type Config struct {
	DatabaseURL string
	RedisURL    string
	MQTTURL     string
	// MQTTCA is a PEM file of the certificates the server's own MQTT
	// clients trust for an ssl:// broker (FLEETTASKS_MQTT_CA), beside the
	// system's; MQTTTLS is the client TLS configuration made of it, or,
	// for the server's own embedded broker, of that broker's certificate
	// (serve sets it). Nil: the system's roots.
	MQTTCA  string
	MQTTTLS *tls.Config
	// MQTTToEmbedded is true when FLEETTASKS_MQTT_URL was left unset and
	// the server connects to its embedded broker.
	MQTTToEmbedded  bool
	HTTPAddr        string
	PublicURL       string
	DataDir         string
	Secret          []byte
	AutoMigrate     bool
	MQTTShareGroup  string
	LogRetentionDay int
	OfflineAfter    time.Duration
	// MQTTClientID names this process's broker sessions (persistent, so
	// that unacknowledged device messages are redelivered after a crash);
	// each process of a deployment needs its own.
	MQTTClientID string
	// MQTTIngestConns is how many connections share the ingest
	// subscriptions (each has its own in-flight window at the broker).
	MQTTIngestConns int
	// DeviceRate is how many messages a second one device may send before
	// it is answered 429.
	DeviceRate int
	// LogDeviceDailyBytes is how much one device may write to its message
	// log a UTC day; past it, entries are counted but not stored.
	LogDeviceDailyBytes int64
	// SessionIdle ends a console session unused for that long; SessionMax
	// ends it that long after sign-in.
	SessionIdle time.Duration
	SessionMax  time.Duration
	// HTTPHeaderTimeout bounds how long a client may take to send a
	// request's headers (and, but for uploads, its body).
	HTTPHeaderTimeout time.Duration
	// HTTPMaxConnsPerIP caps the open connections of one client address
	// (0: no cap, e.g. behind a proxy that is the only client).
	HTTPMaxConnsPerIP int
	// TrustedProxies are the addresses (IPs or CIDRs) of the reverse
	// proxies whose X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []string
	// WebhookAllowPrivate lets webhook deliveries go to loopback, private
	// and link-local addresses (refused unless set: a webhook URL must
	// not reach into the server's own network).
	WebhookAllowPrivate bool
	// SSEMaxStreams caps the console's open live streams (server-sent
	// events) in this process; past it, pages refresh by polling (0: always).
	SSEMaxStreams int
	// BrokerHTTPSecret is the shared secret an EMQX broker sends (as
	// "Authorization: Bearer ...") to the HTTP authenticator and
	// authorizer; "" turns those endpoints off.
	BrokerHTTPSecret string
	// Broker is "external" (a Mosquitto or EMQX the devices connect to)
	// or "embedded" (serve runs the MQTT broker itself, docs/brokers.md).
	Broker string
	// BrokerAddr is where the embedded broker listens; BrokerTLSCert and
	// BrokerTLSKey, both set, make its listener a TLS one.
	BrokerAddr                  string
	BrokerTLSCert, BrokerTLSKey string
}

// Error names the variable that is wrong and why.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string { return e.Var + ": " + e.Reason }

// Defaults as documented in README.md.
const (
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/fleettasks?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultMQTTURL     = "tcp://127.0.0.1:1883"
	DefaultHTTPAddr    = "127.0.0.1:8080"
	DefaultPublicURL   = "http://127.0.0.1:8080"
	DefaultDataDir     = "./data"
)

// Load reads the configuration through getenv (os.Getenv in main) and
// validates every value. It does not touch the disk: see EnsureSecret.
func Load(getenv func(string) string) (*Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := &Config{
		DatabaseURL:    get("FLEETTASKS_DATABASE_URL", DefaultDatabaseURL),
		RedisURL:       get("FLEETTASKS_REDIS_URL", DefaultRedisURL),
		MQTTURL:        get("FLEETTASKS_MQTT_URL", DefaultMQTTURL),
		HTTPAddr:       get("FLEETTASKS_HTTP_ADDR", DefaultHTTPAddr),
		PublicURL:      strings.TrimRight(get("FLEETTASKS_PUBLIC_URL", DefaultPublicURL), "/"),
		DataDir:        get("FLEETTASKS_DATA_DIR", DefaultDataDir),
		MQTTShareGroup: get("FLEETTASKS_MQTT_SHARE_GROUP", "fleettasks"),
	}
	if err := checkURL("FLEETTASKS_DATABASE_URL", c.DatabaseURL, "postgres", "postgresql"); err != nil {
		return nil, err
	}
	if err := checkURL("FLEETTASKS_REDIS_URL", c.RedisURL, "redis", "rediss"); err != nil {
		return nil, err
	}
	if err := c.loadBroker(get); err != nil {
		return nil, err
	}
	if err := checkURL("FLEETTASKS_MQTT_URL", c.MQTTURL, "tcp", "mqtt", "ssl", "tls", "ws", "wss"); err != nil {
		return nil, err
	}
	if c.MQTTCA = get("FLEETTASKS_MQTT_CA", ""); c.MQTTCA != "" {
		pool, err := CertPool(c.MQTTCA)
		if err != nil {
			return nil, &Error{"FLEETTASKS_MQTT_CA", err.Error()}
		}
		c.MQTTTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if err := checkURL("FLEETTASKS_PUBLIC_URL", c.PublicURL, "http", "https"); err != nil {
		return nil, err
	}
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return nil, &Error{"FLEETTASKS_HTTP_ADDR", fmt.Sprintf("%q is not host:port", c.HTTPAddr)}
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return nil, &Error{"FLEETTASKS_HTTP_ADDR", fmt.Sprintf("port %q is not a number 0..65535", port)}
	}
	if s := getenv("FLEETTASKS_SECRET"); s != "" {
		if len(s) < 16 {
			return nil, &Error{"FLEETTASKS_SECRET", "must be at least 16 characters"}
		}
		c.Secret = []byte(s)
	}
	var err error
	if c.AutoMigrate, err = parseBool(get("FLEETTASKS_AUTO_MIGRATE", "true")); err != nil {
		return nil, &Error{"FLEETTASKS_AUTO_MIGRATE", err.Error()}
	}
	if strings.ContainsAny(c.MQTTShareGroup, "/+#$ ") {
		return nil, &Error{"FLEETTASKS_MQTT_SHARE_GROUP", "must not contain '/', '+', '#', '$' or spaces"}
	}
	if c.LogRetentionDay, err = intVar(get, "FLEETTASKS_LOG_RETENTION_DAYS", 30, 1, 3650); err != nil {
		return nil, err
	}
	offline, err := intVar(get, "FLEETTASKS_OFFLINE_AFTER_SECONDS", 300, 10, 86400*30)
	if err != nil {
		return nil, err
	}
	c.OfflineAfter = time.Duration(offline) * time.Second
	host, _ := os.Hostname()
	c.MQTTClientID = get("FLEETTASKS_MQTT_CLIENT_ID", "fleettasks-"+c.MQTTShareGroup+"-"+host)
	if len(c.MQTTClientID) > 60 || strings.ContainsAny(c.MQTTClientID, "/+#") {
		return nil, &Error{"FLEETTASKS_MQTT_CLIENT_ID", "must be at most 60 characters without '/', '+' or '#'"}
	}
	if c.MQTTIngestConns, err = intVar(get, "FLEETTASKS_MQTT_INGEST_CONNS", 8, 1, 64); err != nil {
		return nil, err
	}
	if c.DeviceRate, err = intVar(get, "FLEETTASKS_DEVICE_RATE", 20, 1, 100000); err != nil {
		return nil, err
	}
	if c.LogDeviceDailyBytes, err = megabytesVar(get, "FLEETTASKS_LOG_DEVICE_DAILY_MB", "10", 0.01, 100000); err != nil {
		return nil, err
	}
	idle, err := intVar(get, "FLEETTASKS_SESSION_IDLE_MINUTES", 30, 1, 7*24*60)
	if err != nil {
		return nil, err
	}
	max, err := intVar(get, "FLEETTASKS_SESSION_MAX_HOURS", 12, 1, 30*24)
	if err != nil {
		return nil, err
	}
	c.SessionIdle, c.SessionMax = time.Duration(idle)*time.Minute, time.Duration(max)*time.Hour
	headers, err := intVar(get, "FLEETTASKS_HTTP_HEADER_TIMEOUT_SECONDS", 10, 1, 600)
	if err != nil {
		return nil, err
	}
	c.HTTPHeaderTimeout = time.Duration(headers) * time.Second
	if c.HTTPMaxConnsPerIP, err = intVar(get, "FLEETTASKS_HTTP_MAX_CONNS_PER_IP", 256, 0, 100000); err != nil {
		return nil, err
	}
	if c.SSEMaxStreams, err = intVar(get, "FLEETTASKS_SSE_MAX_STREAMS", 1000, 0, 100000); err != nil {
		return nil, err
	}
	for _, p := range strings.Split(getenv("FLEETTASKS_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return nil, &Error{"FLEETTASKS_TRUSTED_PROXIES", fmt.Sprintf("%q is not an IP address or CIDR range", p)}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if c.WebhookAllowPrivate, err = parseBool(get("FLEETTASKS_WEBHOOK_ALLOW_PRIVATE", "false")); err != nil {
		return nil, &Error{"FLEETTASKS_WEBHOOK_ALLOW_PRIVATE", err.Error()}
	}
	if c.BrokerHTTPSecret = getenv("FLEETTASKS_BROKER_HTTP_SECRET"); c.BrokerHTTPSecret != "" && len(c.BrokerHTTPSecret) < 16 {
		return nil, &Error{"FLEETTASKS_BROKER_HTTP_SECRET", "must be at least 16 characters"}
	}
	return c, nil
}

func intVar(get func(string, string) string, name string, def, lo, hi int) (int, error) {
	s := get(name, strconv.Itoa(def))
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, &Error{name, fmt.Sprintf("%q is not a whole number in %d..%d", s, lo, hi)}
	}
	return n, nil
}

// megabytesVar reads a number of megabytes (of 2^20 bytes, as the console
// shows them), fractions allowed, in lo..hi, and returns it in bytes.
func megabytesVar(get func(string, string) string, name, def string, lo, hi float64) (int64, error) {
	s := get(name, def)
	mb, err := strconv.ParseFloat(s, 64)
	if err != nil || !(mb >= lo && mb <= hi) {
		return 0, &Error{name, fmt.Sprintf("%q is not a number of megabytes in %g..%g", s, lo, hi)}
	}
	return int64(math.Round(mb * (1 << 20))), nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

func checkURL(name, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &Error{name, fmt.Sprintf("%q is not a URL: %v", raw, errors.Unwrap(err))}
	}
	for _, s := range schemes {
		if u.Scheme == s {
			if u.Host == "" {
				return &Error{name, fmt.Sprintf("%q has no host", raw)}
			}
			return nil
		}
	}
	return &Error{name, fmt.Sprintf("scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))}
}

// EnsureSecret creates the data directory and, when FLEETTASKS_SECRET is
// unset, reads the signing secret from DataDir/secret, generating it once.
func (c *Config) EnsureSecret() error {
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return &Error{"FLEETTASKS_DATA_DIR", err.Error()}
	}
	if c.Secret != nil {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		c.Secret = b
		return nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	secret := []byte(hex.EncodeToString(buf))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process won the race
		b, err := os.ReadFile(path)
		if err != nil {
			return &Error{"FLEETTASKS_DATA_DIR", err.Error()}
		}
		c.Secret = b
		return nil
	}
	if err != nil {
		return &Error{"FLEETTASKS_DATA_DIR", err.Error()}
	}
	defer f.Close()
	if _, err := f.Write(secret); err != nil {
		return &Error{"FLEETTASKS_DATA_DIR", err.Error()}
	}
	c.Secret = secret
	return f.Sync()
}

// MQTTCredentials are the user and password of the server's own broker
// connections, those of FLEETTASKS_MQTT_URL (tcp://user:password@host:port);
// "" when it has none.
func (c *Config) MQTTCredentials() (user, password string) {
	u, err := url.Parse(c.MQTTURL)
	if err != nil || u.User == nil {
		return "", ""
	}
	pw, _ := u.User.Password()
	return u.User.Username(), pw
}

// Broker kinds of FLEETTASKS_BROKER.
const (
	BrokerExternal = "external"
	BrokerEmbedded = "embedded"
)

// DefaultBrokerAddr is where the embedded broker listens by default.
const DefaultBrokerAddr = "127.0.0.1:1883"

// loadBroker reads the embedded broker's variables. With an embedded
// broker and no FLEETTASKS_MQTT_URL, the server connects to it.
func (c *Config) loadBroker(get func(string, string) string) error {
	c.Broker = strings.ToLower(get("FLEETTASKS_BROKER", BrokerExternal))
	if c.Broker != BrokerExternal && c.Broker != BrokerEmbedded {
		return &Error{"FLEETTASKS_BROKER", fmt.Sprintf("%q is neither external nor embedded", c.Broker)}
	}
	c.BrokerAddr = get("FLEETTASKS_BROKER_ADDR", DefaultBrokerAddr)
	if _, port, err := net.SplitHostPort(c.BrokerAddr); err != nil {
		return &Error{"FLEETTASKS_BROKER_ADDR", fmt.Sprintf("%q is not host:port", c.BrokerAddr)}
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return &Error{"FLEETTASKS_BROKER_ADDR", fmt.Sprintf("%q has no valid port", c.BrokerAddr)}
	}
	c.BrokerTLSCert, c.BrokerTLSKey = get("FLEETTASKS_BROKER_TLS_CERT", ""), get("FLEETTASKS_BROKER_TLS_KEY", "")
	if (c.BrokerTLSCert == "") != (c.BrokerTLSKey == "") {
		if c.BrokerTLSCert != "" {
			return &Error{"FLEETTASKS_BROKER_TLS_CERT", "is set without FLEETTASKS_BROKER_TLS_KEY; set both or neither"}
		}
		return &Error{"FLEETTASKS_BROKER_TLS_KEY", "is set without FLEETTASKS_BROKER_TLS_CERT; set both or neither"}
	}
	if c.Broker == BrokerEmbedded && get("FLEETTASKS_MQTT_URL", "") == "" {
		scheme := "tcp"
		if c.BrokerTLSCert != "" {
			scheme = "ssl"
		}
		c.MQTTURL = scheme + "://" + c.BrokerAddr
		c.MQTTToEmbedded = true
	}
	return nil
}

// CertPool is the system's certificate pool with the PEM certificates of
// file added.
func CertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
