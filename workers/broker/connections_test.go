package broker_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
	"fleettasks/protocol/signin"
	"fleettasks/workers/broker"
)

// connection waits until device i's connection satisfies ok and returns it.
func (e *env) connection(t *testing.T, i int, what string, ok func(*models.DeviceConnection) bool) *models.DeviceConnection {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		d, err := e.reg.GetDevice(context.Background(), e.pk, e.dev[i].DeviceName)
		if err == nil && ok(d.Connection) {
			if d.Online != d.Connection.Online {
				t.Fatalf("Online %v, connection %+v", d.Online, d.Connection)
			}
			return d.Connection
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the connection is %+v (%v)", what, d.Connection, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func online(c *models.DeviceConnection) bool { return c.Online }

func offlineFor(reason string) func(*models.DeviceConnection) bool {
	return func(c *models.DeviceConnection) bool { return !c.Online && c.LastDisconnectReason == reason }
}

// rawConnect signs device i in over a bare TCP connection with the given
// keep-alive, and returns the connection once the broker accepted it.
func (e *env) rawConnect(t *testing.T, i int, keepalive uint16) net.Conn {
	t.Helper()
	c := signin.Sign(e.device(i), e.secret[i], signin.SignOptions{})
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4, Connect: packets.ConnectParams{
		ProtocolName: []byte("MQTT"), Clean: true, Keepalive: keepalive, ClientIdentifier: c.ClientID,
		UsernameFlag: true, Username: []byte(c.Username), PasswordFlag: true, Password: []byte(c.Password)}}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", e.b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	conn.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.ReadFull(conn, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK %x %v", ack, err)
	}
	return conn
}

// disconnections reads fleettasks_broker_disconnections_total{reason}.
func disconnections(t *testing.T, reason string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "fleettasks_broker_disconnections_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestOnlineFollowsConnection: a device is online from its connect, with
// its address and SDK, and offline from its disconnect, with the reason,
// which is counted.
func TestOnlineFollowsConnection(t *testing.T) {
	e := start(t)
	counted := disconnections(t, "client disconnected")
	e.connection(t, 0, "before any connect", func(c *models.DeviceConnection) bool { return c != nil && !c.Online && c.Since == nil })
	before := time.Now()
	cl, err := e.connect(t, signin.Sign(e.device(0), e.secret[0], signin.SignOptions{SDKVersion: "sdk-c-4.1.2"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.connection(t, 0, "after connect", online)
	if c.Since == nil || c.Since.Before(before.Add(-time.Second)) || c.Since.After(time.Now()) ||
		!strings.HasPrefix(c.ClientAddress, "127.0.0.1:") || c.SDK != "sdk-c-4.1.2" {
		t.Fatalf("after connect: %+v", c)
	}
	cl.Disconnect(100)
	c = e.connection(t, 0, "after DISCONNECT", offlineFor("client disconnected"))
	if c.Since == nil || c.LastConnect == nil || c.Since.Before(*c.LastConnect) || c.SDK != "sdk-c-4.1.2" {
		t.Fatalf("after disconnect: %+v", c)
	}
	if n := disconnections(t, "client disconnected"); n <= counted {
		t.Fatalf("the disconnect was not counted: %v, %v before", n, counted)
	}
	if c := e.connection(t, 1, "the other device", func(*models.DeviceConnection) bool { return true }); c.Online || c.Since != nil {
		t.Fatalf("a device that never connected: %+v", c)
	}
}

// TestConnectionLost: a dropped TCP connection and a silent one (past
// its keep-alive) end the device's connection with their reasons.
func TestConnectionLost(t *testing.T) {
	e := start(t)
	conn := e.rawConnect(t, 0, 60)
	e.connection(t, 0, "raw connect", online)
	conn.Close()
	e.connection(t, 0, "after the TCP connection dropped", offlineFor("connection lost"))

	e.rawConnect(t, 1, 1) // keep-alive 1 s: the broker waits 1.5 s
	e.connection(t, 1, "raw connect", online)
	e.connection(t, 1, "after the keep-alive", offlineFor("keep-alive timeout"))
}

// TestTakeover: a new connection with the same client id takes over the
// session; the device stays online on it.
func TestTakeover(t *testing.T) {
	e := start(t)
	creds := signin.Sign(e.device(0), e.secret[0], signin.SignOptions{})
	lost := make(chan struct{})
	o := paho.NewClientOptions().AddBroker(e.url()).SetClientID(creds.ClientID).SetUsername(creds.Username).
		SetPassword(creds.Password).SetAutoReconnect(false).SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	first := paho.NewClient(o)
	if tok := first.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("first connect: %v", tok.Error())
	}
	defer first.Disconnect(100)
	c1 := e.connection(t, 0, "first connection", online)
	time.Sleep(10 * time.Millisecond)
	if _, err := e.connect(t, creds, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(wait):
		t.Fatal("the first connection was not taken over")
	}
	c2 := e.connection(t, 0, "second connection", func(c *models.DeviceConnection) bool { return c.Online && c.Since.After(*c1.Since) })
	// well after the first connection's end was recorded
	time.Sleep(500 * time.Millisecond)
	if c := e.connection(t, 0, "after the takeover", online); !c.Since.Equal(*c2.Since) {
		t.Fatalf("after the takeover: %+v, want since %v", c, c2.Since)
	}
}

// TestRestartEndsConnections: a broker starting marks the devices a
// previous one left connected as offline.
func TestRestartEndsConnections(t *testing.T) {
	e := start(t)
	// a broker that dies: its devices stay marked connected
	now := time.Now()
	if err := e.reg.RecordConnections(context.Background(), []models.ConnectionChange{
		{Device: models.DeviceRef{ProductKey: e.pk, DeviceName: "d2"}, ID: 1, ConnectedAt: &now}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.connect(t, signin.Sign(e.device(0), e.secret[0], signin.SignOptions{}), nil); err != nil {
		t.Fatal(err)
	}
	e.connection(t, 0, "connected", online)
	e.connection(t, 1, "marked connected", online)
	b, err := broker.Start(broker.Config{Addr: freeAddr(t), Secrets: e.reg, Connections: e.reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range e.dev {
		e.connection(t, i, "after a new start", offlineFor("server restarted"))
	}
}

// TestConnectionsWhileDatabaseDown: a disconnect while the database is
// unreachable is recorded once it is back.
func TestConnectionsWhileDatabaseDown(t *testing.T) {
	e := start(t)
	cl, err := e.connect(t, signin.Sign(e.device(0), e.secret[0], signin.SignOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.connection(t, 0, "connected", online)

	u, _ := url.Parse(e.dbURL)
	name := strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	allow := func(yes bool) {
		t.Helper()
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" WITH ALLOW_CONNECTIONS "+map[bool]string{true: "true", false: "false"}[yes]); err != nil {
			t.Fatal(err)
		}
		if !yes {
			if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	allow(false)
	defer allow(true)
	start := time.Now()
	cl.Disconnect(100)
	if time.Since(start) > time.Second {
		t.Fatalf("the disconnect waited %v for the database", time.Since(start))
	}
	time.Sleep(500 * time.Millisecond) // several failed writes
	// a sign-in the registry cannot decide is "server unavailable", which
	// a device retries, not "bad user name or password"
	d2 := signin.Sign(e.device(1), e.secret[1], signin.SignOptions{})
	if _, err := e.connect(t, d2, nil); err == nil || !strings.Contains(strings.ToLower(err.Error()), "unavailable") {
		t.Fatalf("a sign-in while the database is down: %v, want server unavailable", err)
	}
	allow(true)
	e.connection(t, 0, "once the database is back", offlineFor("client disconnected"))
	if _, err := e.connect(t, d2, nil); err != nil {
		t.Fatalf("d2 once the database is back: %v", err)
	}
}

// TestTakeoverSendsNoDisconnect: the connection a takeover ends is closed
// without a DISCONNECT packet, which MQTT 3.1.1 lets only clients send
// (a 3.1.1 client reading one reports a malformed packet).
func TestTakeoverSendsNoDisconnect(t *testing.T) {
	e := start(t)
	first := e.rawConnect(t, 0, 60)
	e.rawConnect(t, 0, 60) // the same device and client id: takes the session over
	first.SetReadDeadline(time.Now().Add(wait))
	got, err := io.ReadAll(first)
	if len(got) > 0 {
		t.Fatalf("the connection taken over got %x before it closed, want nothing", got)
	}
	if err != nil {
		t.Fatalf("the connection taken over was not closed: %v", err)
	}
}

// TestKeptSessionGetsNotify: a device with a kept session (clean session
// off) that is offline when its QoS 1 notify is published gets it when it
// connects again.
func TestKeptSessionGetsNotify(t *testing.T) {
	e := start(t)
	creds := signin.Sign(e.device(0), e.secret[0], signin.SignOptions{})
	got := make(chan string, 10)
	connect := func() paho.Client {
		o := paho.NewClientOptions().AddBroker(e.url()).SetClientID(creds.ClientID).SetUsername(creds.Username).
			SetPassword(creds.Password).SetCleanSession(false).SetAutoReconnect(false).SetProtocolVersion(4).
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) })
		cl := paho.NewClient(o)
		if tok := cl.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		return cl
	}
	d := connect()
	// the implicit subscriptions are in place once a publish is acknowledged
	if tok := d.Publish(protocol.Topic(e.pk, "d1", protocol.KindUpdate), 1, false, "{}"); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("device publish: %v", tok.Error())
	}
	d.Disconnect(100)
	e.connection(t, 0, "offline", offlineFor("client disconnected"))
	topic := protocol.Topic(e.pk, "d1", protocol.KindNotify)
	if err := e.b.Publish(topic, []byte("while away"), 1); err != nil {
		t.Fatal(err)
	}
	d = connect()
	defer d.Disconnect(100)
	select {
	case m := <-got:
		if m != topic+" while away" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(wait):
		t.Fatal("the notify published while the device was away was not delivered when it came back")
	}
}
