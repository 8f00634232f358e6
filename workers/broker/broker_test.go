package broker_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
	"fleettasks/protocol/signin"
	"fleettasks/workers/broker"
)

const (
	serverUser     = "fleettasks"
	serverPassword = "server-password"
	wait           = 10 * time.Second
)

// freeAddr is a local address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type env struct {
	b      *broker.Broker
	reg    *models.Registry // with WithConnectionState
	dbURL  string
	pk     string
	dev    []models.Device
	secret []string
}

// start runs an embedded broker, recording connections, on a test
// database holding a product with two devices.
func start(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	return setup(t)
}

// setup is start without t.Parallel, for tests that read the process's
// counters and must run alone.
func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	db, err := models.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reg := models.NewRegistry(db, models.WithDeviceSecretKey([]byte("broker-tests-server-secret")), models.WithConnectionState())
	pk := testenv.Prefix(t)
	if _, err := reg.CreateProduct(ctx, models.ProductInput{ProductKey: pk, Name: pk}); err != nil {
		t.Fatal(err)
	}
	ds, err := reg.CreateDevices(ctx, pk, []string{"d1", "d2"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(broker.Config{Addr: freeAddr(t), Secrets: reg, User: serverUser, Password: serverPassword, Connections: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := &env{b: b, reg: reg, dbURL: dbURL, pk: pk, dev: ds}
	for _, d := range ds {
		e.secret = append(e.secret, d.Secret)
	}
	return e
}

func (e *env) url() string { return "tcp://" + e.b.Addr() }

// connect opens a paho connection with the given credentials and returns
// it with the connect error.
func (e *env) connect(t *testing.T, c signin.Credentials, onMsg paho.MessageHandler) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(e.url()).SetClientID(c.ClientID).SetUsername(c.Username).
		SetPassword(c.Password).SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetProtocolVersion(4) // one attempt: without it, paho tries 3.1 after a refusal
	if onMsg != nil {
		o.SetDefaultPublishHandler(onMsg)
	}
	cl := paho.NewClient(o)
	tok := cl.Connect()
	if !tok.WaitTimeout(wait) {
		t.Fatal("connect timed out")
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return cl, nil
}

func (e *env) device(i int) signin.Device {
	return signin.Device{ProductKey: e.pk, DeviceName: e.dev[i].DeviceName}
}

func (e *env) server(t *testing.T, onMsg paho.MessageHandler) paho.Client {
	t.Helper()
	cl, err := e.connect(t, signin.Credentials{ClientID: "server-" + testenv.ID(), Username: serverUser, Password: serverPassword}, onMsg)
	if err != nil {
		t.Fatalf("server user refused: %v", err)
	}
	return cl
}

func TestSignIn(t *testing.T) {
	e := start(t)
	signed := signin.Sign(e.device(0), e.secret[0], signin.SignOptions{Time: time.Now()})
	if _, err := e.connect(t, signed, nil); err != nil {
		t.Fatalf("a correctly signed device was refused: %v", err)
	}
	plain := signin.Credentials{ClientID: e.pk + ".d2", Username: signin.Username(e.device(1)), Password: e.secret[1]}
	if _, err := e.connect(t, plain, nil); err != nil {
		t.Fatalf("a plain sign-in was refused: %v", err)
	}

	bad := signin.Sign(e.device(0), e.secret[1], signin.SignOptions{})
	if _, err := e.connect(t, bad, nil); err == nil {
		t.Fatal("a wrong signature was accepted")
	}
	unknown := signin.Sign(signin.Device{ProductKey: e.pk, DeviceName: "nobody"}, e.secret[0], signin.SignOptions{})
	if _, err := e.connect(t, unknown, nil); err == nil {
		t.Fatal("an unknown device was accepted")
	}
	if _, err := e.connect(t, signin.Credentials{ClientID: "x", Username: serverUser, Password: "wrong"}, nil); err == nil {
		t.Fatal("the server user with a wrong password was accepted")
	}
	if _, err := e.connect(t, signin.Credentials{ClientID: "anon"}, nil); err == nil {
		t.Fatal("an anonymous client was accepted")
	}

	old := signin.Sign(e.device(0), e.secret[0], signin.SignOptions{})
	if _, err := e.reg.RotateDeviceSecret(context.Background(), e.pk, "d1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.connect(t, old, nil); err == nil {
		t.Fatal("the rotated secret still signs in")
	}
}

// counter is the value of the counter name{label=value} in the default
// Prometheus registry (0 when it has not been counted yet).
func counter(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Each refused sign-in is counted by its reason, each refused publish or
// subscription by its action. Not parallel: it reads the process's
// counters.
func TestRefusalsCounted(t *testing.T) {
	e := setup(t)
	type count struct{ name, label, value string }
	counts := []count{
		{"fleettasks_broker_signin_failures_total", "reason", "bad_signature"},
		{"fleettasks_broker_signin_failures_total", "reason", "unknown_device"},
		{"fleettasks_broker_signin_failures_total", "reason", "server_password"},
		{"fleettasks_broker_connections_total", "result", "refused"},
		{"fleettasks_broker_connections_total", "result", "accepted"},
		{"fleettasks_broker_acl_refusals_total", "action", "publish"},
		{"fleettasks_broker_acl_refusals_total", "action", "subscribe"},
	}
	before := map[count]float64{}
	for _, c := range counts {
		before[c] = counter(t, c.name, c.label, c.value)
	}
	refused := func(what string, c signin.Credentials) {
		t.Helper()
		if _, err := e.connect(t, c, nil); err == nil {
			t.Fatalf("%s was accepted", what)
		}
	}
	old := signin.Sign(e.device(0), e.secret[0], signin.SignOptions{})
	refused("a wrong signature", signin.Sign(e.device(0), e.secret[1], signin.SignOptions{}))
	refused("an unknown device", signin.Sign(signin.Device{ProductKey: e.pk, DeviceName: "nobody"}, e.secret[0], signin.SignOptions{}))
	refused("a wrong server password", signin.Credentials{ClientID: "x", Username: serverUser, Password: "wrong"})
	if _, err := e.reg.RotateDeviceSecret(context.Background(), e.pk, "d1"); err != nil {
		t.Fatal(err)
	}
	refused("a rotated secret", old)

	d2, err := e.connect(t, signin.Sign(e.device(1), e.secret[1], signin.SignOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	filter := protocol.Topic(e.pk, "d1", protocol.KindNotify)
	if tok := d2.Subscribe(filter, 1, nil); !tok.WaitTimeout(wait) || tok.(*paho.SubscribeToken).Result()[filter] != 0x80 {
		t.Fatal("d2 subscribed to d1's notify")
	}
	if tok := d2.Publish(protocol.Topic(e.pk, "d1", protocol.KindUpdate), 0, false, "{}"); !tok.WaitTimeout(wait) {
		t.Fatal("publish timed out")
	}
	want := map[count]float64{counts[0]: 2, counts[1]: 1, counts[2]: 1, counts[3]: 4, counts[4]: 1, counts[5]: 1, counts[6]: 1}
	deadline := time.Now().Add(wait)
	for _, c := range counts {
		for {
			got := counter(t, c.name, c.label, c.value) - before[c]
			if got == want[c] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s{%s=%q} counted %v, want %v", c.name, c.label, c.value, got, want[c])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestImplicitSubscription(t *testing.T) {
	e := start(t)
	got := make(chan string, 10)
	creds := signin.Sign(e.device(0), e.secret[0], signin.SignOptions{})
	d1, err := e.connect(t, creds, func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) })
	if err != nil {
		t.Fatal(err)
	}
	// the broker subscribes the device once the session is established,
	// just after the CONNACK and before it reads the device's first
	// packet: an acknowledged publish proves it is done
	if tok := d1.Publish(protocol.Topic(e.pk, "d1", protocol.KindUpdate), 1, false, "{}"); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("device publish: %v", tok.Error())
	}
	srv := e.server(t, nil)
	for _, kind := range []string{protocol.KindNotify, protocol.KindGetReply, protocol.KindUpdateReply} {
		topic := protocol.Topic(e.pk, "d1", kind)
		if tok := srv.Publish(topic, 1, false, "hello"); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("server publish to %s: %v", topic, tok.Error())
		}
		select {
		case m := <-got:
			if m != topic+" hello" {
				t.Fatalf("got %q, want %s", m, topic)
			}
		case <-time.After(wait):
			t.Fatalf("the device that never subscribed did not get %s", topic)
		}
	}
}

func TestACL(t *testing.T) {
	e := start(t)
	var seen = make(chan string, 10)
	srv := e.server(t, func(_ paho.Client, m paho.Message) { seen <- m.Topic() })
	// The server user may subscribe to anything, wildcards included.
	if tok := srv.Subscribe("/sys/+/+/thing/job/#", 1, nil); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	d1, err := e.connect(t, signin.Sign(e.device(0), e.secret[0], signin.SignOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	subResult := func(filter string) byte {
		tok := d1.Subscribe(filter, 1, nil)
		if !tok.WaitTimeout(wait) {
			t.Fatalf("subscribe %s timed out", filter)
		}
		return tok.(*paho.SubscribeToken).Result()[filter]
	}
	if r := subResult(protocol.Topic(e.pk, "d2", protocol.KindNotify)); r != 0x80 {
		t.Fatalf("subscribing to another device's notify: result %#x, want refused", r)
	}
	if r := subResult("/sys/" + e.pk + "/+/thing/job/notify"); r != 0x80 {
		t.Fatalf("a wildcard subscription: result %#x, want refused", r)
	}
	if r := subResult(protocol.Topic(e.pk, "d1", protocol.KindNotify)); r == 0x80 {
		t.Fatal("subscribing to its own notify was refused")
	}

	// A publish to another device's update is dropped; one to its own
	// update, sent after it on the same connection, reaches the server
	// first.
	other := protocol.Topic(e.pk, "d2", protocol.KindUpdate)
	own := protocol.Topic(e.pk, "d1", protocol.KindUpdate)
	if tok := d1.Publish(other, 0, false, "{}"); !tok.WaitTimeout(wait) {
		t.Fatal("publish timed out")
	}
	if tok := d1.Publish(own, 1, false, "{}"); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publish to its own update: %v", tok.Error())
	}
	select {
	case topic := <-seen:
		if topic != own {
			t.Fatalf("the server got %s first: a publish to another device's topic went through", topic)
		}
	case <-time.After(wait):
		t.Fatal("the device's publish to its own update did not arrive")
	}
	// A refused QoS 1 publish over MQTT 3.1.1 is acknowledged and dropped,
	// and the connection stays: an SDK publishing its default reports to
	// topics it may not use must not be cut off and reconnect for ever.
	lost := make(chan error, 1)
	d2creds := signin.Sign(e.device(1), e.secret[1], signin.SignOptions{})
	o := paho.NewClientOptions().AddBroker(e.url()).SetClientID(d2creds.ClientID).SetUsername(d2creds.Username).
		SetPassword(d2creds.Password).SetAutoReconnect(false).SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	d2 := paho.NewClient(o)
	if tok := d2.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("d2 connect: %v", tok.Error())
	}
	defer d2.Disconnect(100)
	for _, topic := range []string{protocol.Topic(e.pk, "d1", protocol.KindNotifyReply), "/sys/" + e.pk + "/d2/thing/deviceinfo/update"} {
		if tok := d2.Publish(topic, 1, false, "{}"); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("a refused QoS 1 publish to %s was not acknowledged: %v", topic, tok.Error())
		}
	}
	own2 := protocol.Topic(e.pk, "d2", protocol.KindUpdate)
	if tok := d2.Publish(own2, 1, false, "{}"); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("d2's publish to its own update: %v", tok.Error())
	}
	select {
	case topic := <-seen:
		if topic != own2 {
			t.Fatalf("the server got %s: a refused publish went through", topic)
		}
	case err := <-lost:
		t.Fatalf("a refused QoS 1 publish ended the connection: %v", err)
	case <-time.After(wait):
		t.Fatal("d2's publish to its own update did not arrive")
	}
	select {
	case err := <-lost:
		t.Fatalf("a refused QoS 1 publish ended the connection: %v", err)
	default:
	}
	// The server user publishes anywhere.
	if tok := srv.Publish("anything/at/all", 1, false, "x"); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := srv.Subscribe("anything/#", 1, nil); !tok.WaitTimeout(wait) || tok.(*paho.SubscribeToken).Result()["anything/#"] == 0x80 {
		t.Fatal("the server user could not subscribe")
	}
}

func TestAddressTaken(t *testing.T) {
	e := start(t)
	_, err := broker.Start(broker.Config{Addr: e.b.Addr(), Secrets: e.reg})
	if err == nil || !strings.Contains(err.Error(), "FLEETTASKS_BROKER_ADDR") {
		t.Fatalf("a taken address: %v", err)
	}
}

// A device cannot take over another device's session by using its client
// id: not a live one (which would cut it off), not a kept one (whose
// subscriptions it would inherit). The device itself can.
func TestClientIDOfAnotherDevice(t *testing.T) {
	e := start(t)
	const id = "lamp-controller" // a plain sign-in may use any client id
	plain := func(i int) signin.Credentials {
		return signin.Credentials{ClientID: id, Username: signin.Username(e.device(i)), Password: e.secret[i]}
	}
	persistent := func(c signin.Credentials, onMsg paho.MessageHandler) (paho.Client, error) {
		o := paho.NewClientOptions().AddBroker(e.url()).SetClientID(c.ClientID).SetUsername(c.Username).SetPassword(c.Password).
			SetCleanSession(false).SetAutoReconnect(false).SetProtocolVersion(4)
		if onMsg != nil {
			o.SetDefaultPublishHandler(onMsg)
		}
		cl := paho.NewClient(o)
		if tok := cl.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
			return nil, fmt.Errorf("connect: %v", tok.Error())
		}
		t.Cleanup(func() { cl.Disconnect(100) })
		return cl, nil
	}
	d1, err := persistent(plain(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := persistent(plain(1), nil); err == nil {
		t.Fatal("d2 took over d1's live session")
	}
	if !d1.IsConnectionOpen() {
		t.Fatal("d1 was cut off")
	}
	d1.Disconnect(100) // its session, with the implicit subscriptions, is kept
	if _, err := persistent(plain(1), nil); err == nil {
		t.Fatal("d2 took over d1's kept session")
	}
	got := make(chan string, 10)
	if _, err := persistent(plain(0), func(_ paho.Client, m paho.Message) { got <- m.Topic() }); err != nil {
		t.Fatalf("d1 could not take back its own session: %v", err)
	}
	srv := e.server(t, nil)
	topic := protocol.Topic(e.pk, "d1", protocol.KindNotify)
	srv.Publish(topic, 1, false, "{}").Wait()
	select {
	case m := <-got:
		if m != topic {
			t.Fatalf("d1 got %s", m)
		}
	case <-time.After(wait):
		t.Fatal("d1's session lost its subscription")
	}
}
