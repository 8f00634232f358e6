package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/config"
	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
)

// A Mosquitto run with the files of `broker passwd` admits each device
// with its secret and the server with its user, refuses a wrong secret,
// keeps each device to its own topics; with --watch, a device registered
// while it runs can connect once Mosquitto reloaded, and a rotated secret
// signs in no more.
func TestBrokerPasswdMosquitto(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := testenv.DatabaseURL(t)
	cfg, err := config.Load(testenv.Env(t, url, "FLEETTASKS_MQTT_URL=tcp://srv:srv-password@127.0.0.1:1883"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reg := models.NewRegistry(db, models.WithDeviceSecretKey(cfg.Secret))
	pk := testenv.Prefix(t)
	if _, err := reg.CreateProduct(ctx, models.ProductInput{ProductKey: pk, Name: "lamps"}); err != nil {
		t.Fatal(err)
	}
	devs, err := reg.CreateDevices(ctx, pk, []string{"d1", "d2"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pw, acl, pid := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"), filepath.Join(dir, "mosquitto.pid")
	log := slog.New(slog.DiscardHandler)
	if err := brokerPasswd(ctx, cfg, log, []string{"--out", pw, "--acl-out", acl}); err != nil {
		t.Fatal(err)
	}
	broker := testenv.NewBrokerWith(t, fmt.Sprintf("allow_anonymous false\npassword_file %s\nacl_file %s\npid_file %s\n", pw, acl, pid))

	connect := func(user, password string) (mqtt.Client, error) {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID(user + "-" + testenv.ID()).
			SetUsername(user).SetPassword(password).SetAutoReconnect(false))
		tok := c.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			return nil, fmt.Errorf("no answer")
		}
		if tok.Error() != nil {
			return nil, tok.Error()
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c, nil
	}
	must := func(user, password string) mqtt.Client {
		t.Helper()
		c, err := connect(user, password)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		return c
	}
	// eventually connects: the files are rewritten and Mosquitto reloads
	// them within seconds
	eventually := func(user, password string) mqtt.Client {
		t.Helper()
		var err error
		for i := 0; i < 100; i++ {
			var c mqtt.Client
			if c, err = connect(user, password); err == nil {
				return c
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s never connected: %v", user, err)
		return nil
	}

	server := must("srv", "srv-password")
	d1 := must(models.DeviceUsername(pk, "d1"), devs[0].Secret)
	if _, err := connect(models.DeviceUsername(pk, "d1"), devs[1].Secret); err == nil {
		t.Fatal("d1 connected with d2's secret")
	}
	if _, err := connect(models.DeviceUsername(pk, "ghost"), devs[0].Secret); err == nil {
		t.Fatal("an unknown device connected")
	}

	// d1 reads its own notify and not d2's: the server sends d2's first,
	// then d1's, so d2's would have arrived before d1's
	notes := make(chan string, 10)
	for _, dn := range []string{"d1", "d2"} {
		d1.Subscribe(protocol.Topic(pk, dn, protocol.KindNotify), 1, func(_ mqtt.Client, m mqtt.Message) { notes <- m.Topic() }).Wait()
	}
	server.Publish(protocol.Topic(pk, "d2", protocol.KindNotify), 1, false, "{}").Wait()
	server.Publish(protocol.Topic(pk, "d1", protocol.KindNotify), 1, false, "{}").Wait()
	if got := <-notes; got != protocol.Topic(pk, "d1", protocol.KindNotify) {
		t.Fatalf("d1 read %s", got)
	}
	// d1's update on d2's topic is dropped, its own arrives
	ups := make(chan string, 10)
	server.Subscribe(protocol.Filter(protocol.KindUpdate), 1, func(_ mqtt.Client, m mqtt.Message) { ups <- m.Topic() }).Wait()
	d1.Publish(protocol.Topic(pk, "d2", protocol.KindUpdate), 1, false, "{}").Wait()
	d1.Publish(protocol.Topic(pk, "d1", protocol.KindUpdate), 1, false, "{}").Wait()
	if got := <-ups; got != protocol.Topic(pk, "d1", protocol.KindUpdate) {
		t.Fatalf("the server got %s", got)
	}

	// --watch: a new device connects, a rotated secret is refused
	done := make(chan error, 1)
	go func() {
		done <- brokerPasswd(ctx, cfg, log, []string{"--out", pw, "--acl-out", acl, "--watch", "--pid-file", pid})
	}()
	added, err := reg.CreateDevices(ctx, pk, []string{"d3"})
	if err != nil {
		t.Fatal(err)
	}
	d3 := eventually(models.DeviceUsername(pk, "d3"), added[0].Secret)
	got := make(chan string, 1)
	d3.Subscribe(protocol.Topic(pk, "d3", protocol.KindNotify), 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() }).Wait()
	server.Publish(protocol.Topic(pk, "d3", protocol.KindNotify), 1, false, "{}").Wait()
	if topic := <-got; topic != protocol.Topic(pk, "d3", protocol.KindNotify) {
		t.Fatalf("d3 read %s", topic)
	}
	secret, err := reg.RotateDeviceSecret(ctx, pk, "d2")
	if err != nil {
		t.Fatal(err)
	}
	eventually(models.DeviceUsername(pk, "d2"), secret)
	if _, err := connect(models.DeviceUsername(pk, "d2"), devs[1].Secret); err == nil {
		t.Fatal("d2 connected with its old secret")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pw); err != nil {
		t.Fatal(err)
	}
}

// broker passwd needs the server's broker user (from FLEETTASKS_MQTT_URL)
// and an output file, and says so.
func TestBrokerPasswdFlagErrors(t *testing.T) {
	cfg, err := config.Load(testenv.Env(t, "postgres://127.0.0.1:1/none", "FLEETTASKS_MQTT_URL=tcp://127.0.0.1:1883"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--out is required"},
		{[]string{"--out", filepath.Join(t.TempDir(), "p")}, "FLEETTASKS_MQTT_URL has no user and password"},
	} {
		err := brokerPasswd(context.Background(), cfg, log, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
