package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/config"
	"fleettasks/device"
	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol/signin"
)

// stack is a fleettasks serve running in the test, with an admin's API
// token.
type stack struct {
	t     *testing.T
	cfg   *config.Config
	api   string
	token string
}

// startStack runs serve with the environment env gives until the test
// ends. The free ports picked for it may be taken before serve listens
// (by any outgoing connection): then it tries again with new ones, and
// env is called again.
func startStack(t *testing.T, env func() []string) *stack {
	t.Helper()
	dbURL, redisURL := testenv.DatabaseURL(t), testenv.RedisDB(t)
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		vars := append([]string{"FLEETTASKS_HTTP_ADDR=" + addr, "FLEETTASKS_PUBLIC_URL=http://" + addr, "FLEETTASKS_REDIS_URL=" + redisURL}, env()...)
		cfg, err := config.Load(testenv.Env(t, dbURL, vars...))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.EnsureSecret(); err != nil {
			t.Fatal(err)
		}
		s := &stack{t: t, cfg: cfg, api: "http://" + addr}
		err = s.serve()
		if err == nil {
			s.login()
			return s
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 5 {
			t.Fatalf("serve: %v", err)
		}
	}
}

// serve starts serve and waits until it is ready, or returns why it
// stopped.
func (s *stack) serve() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, s.cfg, slog.New(slog.DiscardHandler), nil) }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			cancel()
			return fmt.Errorf("stopped before it was ready: %w", err)
		default:
		}
		resp, err := http.Get(s.api + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			s.t.Cleanup(func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						s.t.Errorf("serve: %v", err)
					}
				case <-time.After(20 * time.Second):
					s.t.Error("serve did not stop")
				}
			})
			return nil
		}
	}
	cancel()
	<-done
	return errors.New("not ready within 30 s")
}

// login makes an admin and its API token.
func (s *stack) login() {
	t, ctx := s.t, context.Background()
	db, err := models.Open(ctx, s.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := models.NewAccounts(db)
	u, err := acc.CreateUser(ctx, models.UserInput{Email: "admin@example.com", Role: string(models.RoleAdmin), Password: "a-long-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.token, _, err = acc.CreateToken(ctx, u.ID, "test"); err != nil {
		t.Fatal(err)
	}
}

// call sends a JSON API request and decodes the answer into out (when
// not nil), failing the test on any status but want.
func (s *stack) call(method, path string, body any, want int, out any) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.api+path, r)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// register creates product pk and device dn through the API and returns
// the device's secret.
func (s *stack) register(pk, dn string) string {
	s.t.Helper()
	s.call("POST", "/api/v1/products", map[string]string{"productKey": pk, "name": pk}, 201, nil)
	var created struct {
		Devices []struct {
			DeviceName   string `json:"deviceName"`
			DeviceSecret string `json:"deviceSecret"`
		} `json:"devices"`
	}
	s.call("POST", "/api/v1/products/"+pk+"/devices", map[string]any{"devices": []map[string]string{{"deviceName": dn}}}, 201, &created)
	if len(created.Devices) != 1 || len(created.Devices[0].DeviceSecret) < 32 {
		s.t.Fatalf("created %+v", created)
	}
	return created.Devices[0].DeviceSecret
}

// metric is the value of the sample named exactly line (name{labels}) on
// /metrics, 0 when absent.
func (s *stack) metric(line string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.api + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// completingDevice connects a device with cfg that completes each sub-task it is
// notified of.
func completingDevice(t *testing.T, cfg device.Config) *device.Client {
	t.Helper()
	work := make(chan string, 10)
	cfg.OnNotify = func(n device.Notify) {
		if n.Task.Status == "SENT" {
			work <- n.Task.TaskID
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := device.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	go func() {
		for id := range work {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if _, err := c.Get(ctx, id); err == nil {
				c.Update(ctx, id, "SUCCEEDED", device.WithProgress(100))
			}
			cancel()
		}
	}()
	return c
}

// runTask creates a task for pk/dn and waits until it completed.
func (s *stack) runTask(pk, dn string) {
	s.t.Helper()
	var task struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	s.call("POST", "/api/v1/tasks", map[string]any{
		"name": "identity", "type": "CUSTOM", "jobDocument": map[string]string{"version": "2"},
		"target":           map[string]any{"type": "DEVICE_LIST", "devices": []map[string]string{{"productKey": pk, "deviceName": dn}}},
		"rolloutPerMinute": 1000, "qos": 1, "inProgressTimeoutMinutes": 5,
	}, 201, &task)
	waitFor(s.t, 30*time.Second, "the task completed by the device", func() bool {
		s.call("GET", "/api/v1/tasks/"+task.ID, nil, 200, &task)
		return task.Status == "COMPLETED"
	})
	var stats map[string]any
	s.call("GET", "/api/v1/tasks/"+task.ID+"/statistics", nil, 200, &stats)
	if fmt.Sprint(stats["succeeded"]) != "1" {
		s.t.Fatalf("statistics %v", stats)
	}
}

// refused says whether the broker at url refuses creds.
func refused(t *testing.T, url string, creds signin.Credentials, tlsConf *tls.Config) bool {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetTLSConfig(tlsConf).SetClientID(creds.ClientID).
		SetUsername(creds.Username).SetPassword(creds.Password).SetAutoReconnect(false).SetProtocolVersion(4))
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect: no answer")
	}
	if tok.Error() == nil {
		c.Disconnect(100)
		return false
	}
	return true
}

// On the embedded broker, a device registered while the server runs
// connects at once with the Alibaba signed sign-in and completes a whole
// task without subscribing to anything (the broker subscribes it); a
// wrong signature, an unknown device and a rotated secret are refused and
// counted. Over TCP, and over TLS, where the server's own clients connect
// to the broker's TLS listener too. Not parallel: it reads the process's
// counters.
func TestDeviceIdentityEmbedded(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "tls"}[withTLS], func(t *testing.T) {
			var brokerAddr, url string
			var devTLS *tls.Config
			var tlsEnv []string
			if withTLS {
				certFile, keyFile, pool := selfSigned(t)
				tlsEnv = []string{"FLEETTASKS_BROKER_TLS_CERT=" + certFile, "FLEETTASKS_BROKER_TLS_KEY=" + keyFile}
				devTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			}
			s := startStack(t, func() []string {
				brokerAddr = freeAddr(t)
				url = map[bool]string{false: "tcp://", true: "ssl://"}[withTLS] + brokerAddr
				return append([]string{"FLEETTASKS_BROKER=embedded", "FLEETTASKS_BROKER_ADDR=" + brokerAddr, "FLEETTASKS_MQTT_URL="}, tlsEnv...)
			})
			if !strings.HasPrefix(s.cfg.MQTTURL, url[:6]) || !strings.HasSuffix(s.cfg.MQTTURL, "@"+brokerAddr) {
				t.Fatalf("the server's own clients connect to %s, want %s", s.cfg.MQTTURL, url)
			}
			pk := testenv.Prefix(t)
			secret := s.register(pk, "lamp-1")
			cfg := device.Config{BrokerURL: url, TLS: devTLS, ProductKey: pk, DeviceName: "lamp-1", DeviceSecret: secret, NoSubscribe: true}
			c := completingDevice(t, cfg)
			s.runTask(pk, "lamp-1")
			if withTLS {
				return
			}
			// closed, so that no reconnect of it with the old secret
			// counts below
			c.Close()

			const bad = `fleettasks_broker_signin_failures_total{reason="bad_signature"}`
			const unknown = `fleettasks_broker_signin_failures_total{reason="unknown_device"}`
			badBefore, unknownBefore := s.metric(bad), s.metric(unknown)
			dev := signin.Device{ProductKey: pk, DeviceName: "lamp-1"}
			if !refused(t, url, signin.Sign(dev, strings.Repeat("x", 32), signin.SignOptions{Time: time.Now()}), nil) {
				t.Fatal("a wrong signature was accepted")
			}
			if !refused(t, url, signin.Sign(signin.Device{ProductKey: pk, DeviceName: "ghost"}, secret, signin.SignOptions{}), nil) {
				t.Fatal("an unknown device was accepted")
			}
			var rotated struct {
				DeviceSecret string `json:"deviceSecret"`
			}
			s.call("POST", "/api/v1/devices/"+pk+"/lamp-1/secret", nil, 200, &rotated)
			if !refused(t, url, signin.Sign(dev, secret, signin.SignOptions{}), nil) {
				t.Fatal("the rotated secret still signs in")
			}
			if refused(t, url, signin.Sign(dev, rotated.DeviceSecret, signin.SignOptions{}), nil) {
				t.Fatal("the new secret is refused")
			}
			if got := s.metric(bad) - badBefore; got != 2 {
				t.Fatalf("bad signatures counted: %v, want 2", got)
			}
			if got := s.metric(unknown) - unknownBefore; got != 1 {
				t.Fatalf("unknown devices counted: %v, want 1", got)
			}
		})
	}
}

// On Mosquitto, run with the files `broker passwd --watch` keeps, a
// device registered while the server runs connects as soon as Mosquitto
// reloaded them (plain sign-in: the password file can check only the
// secret itself), subscribes, and completes a whole task; a wrong secret
// is refused.
func TestDeviceIdentityMosquitto(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw, acl, pid := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"), filepath.Join(dir, "mosquitto.pid")
	// the files must exist before Mosquitto starts, and Mosquitto before
	// serve: they are first written from the migrated, empty database
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dbURL := testenv.DatabaseURL(t)
	db, err := models.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	env := []string{"FLEETTASKS_DATABASE_URL=" + dbURL, "FLEETTASKS_SECRET=identity-test-secret-1"}
	first, err := config.Load(testenv.Env(t, dbURL, append(env, "FLEETTASKS_MQTT_URL=tcp://srv:srv-password@127.0.0.1:1")...))
	if err != nil {
		t.Fatal(err)
	}
	if err := brokerPasswd(ctx, first, slog.New(slog.DiscardHandler), []string{"--out", pw, "--acl-out", acl}); err != nil {
		t.Fatal(err)
	}
	broker := testenv.NewBrokerWith(t, fmt.Sprintf("allow_anonymous false\npassword_file %s\nacl_file %s\npid_file %s\n", pw, acl, pid))
	mqttURL := strings.Replace(broker.URL(), "tcp://", "tcp://srv:srv-password@", 1)
	s := startStack(t, func() []string { return append(env, "FLEETTASKS_MQTT_URL="+mqttURL) })

	watch := make(chan error, 1)
	go func() {
		watch <- brokerPasswd(ctx, s.cfg, slog.New(slog.DiscardHandler), []string{"--out", pw, "--acl-out", acl, "--watch", "--pid-file", pid})
	}()
	pk := testenv.Prefix(t)
	secret := s.register(pk, "lamp-1")
	dev := signin.Device{ProductKey: pk, DeviceName: "lamp-1"}
	plain := signin.Credentials{ClientID: pk + ".probe", Username: signin.Username(dev), Password: secret}
	waitFor(t, 20*time.Second, "the new device admitted by Mosquitto", func() bool { return !refused(t, broker.URL(), plain, nil) })
	completingDevice(t, device.Config{BrokerURL: broker.URL(), ProductKey: pk, DeviceName: "lamp-1", DeviceSecret: secret, PlainSignIn: true})
	s.runTask(pk, "lamp-1")
	plain.Password = strings.Repeat("x", 32)
	if !refused(t, broker.URL(), plain, nil) {
		t.Fatal("a wrong secret was accepted")
	}
	cancel()
	if err := <-watch; err != nil {
		t.Fatal(err)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their files and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fleettasks test broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
