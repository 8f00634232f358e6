package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/config"
	"fleettasks/internal/app"
	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol/signin"
)

// With FLEETTASKS_BROKER=embedded and no FLEETTASKS_MQTT_URL, serve runs
// its own broker, its workers sign in to it, and it stops cleanly.
func TestServeEmbeddedBroker(t *testing.T) {
	addr, brokerAddr := freeAddr(t), freeAddr(t)
	cfg, err := config.Load(testenv.Env(t, testenv.DatabaseURL(t), "FLEETTASKS_HTTP_ADDR="+addr, "FLEETTASKS_REDIS_URL="+testenv.RedisDB(t),
		"FLEETTASKS_BROKER=embedded", "FLEETTASKS_BROKER_ADDR="+brokerAddr, "FLEETTASKS_MQTT_URL="))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil) }()

	get := func(path string) (int, string) { return getServed(t, addr, path) }
	if code, body := get("/readyz"); code != 200 || strings.Count(body, `"ok"`) != 3 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	accepted := false
	for i := 0; i < 100 && !accepted; i++ {
		_, body := get("/metrics")
		accepted = strings.Contains(body, `fleettasks_broker_connections_total{result="accepted"}`)
		if !accepted {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !accepted {
		t.Fatal("the server's own MQTT client did not sign in to the embedded broker")
	}

	// a device's connection is recorded, and read as its online state
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !a.Registry.ConnectionState() {
		t.Fatal("with the embedded broker, online is not the connection state")
	}
	if _, err := a.Registry.CreateProduct(ctx, models.ProductInput{ProductKey: "p1", Name: "p1"}); err != nil {
		t.Fatal(err)
	}
	ds, err := a.Registry.CreateDevices(ctx, "p1", []string{"d1"})
	if err != nil {
		t.Fatal(err)
	}
	creds := signin.Sign(signin.Device{ProductKey: "p1", DeviceName: "d1"}, ds[0].Secret, signin.SignOptions{})
	dev := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID(creds.ClientID).
		SetUsername(creds.Username).SetPassword(creds.Password).SetAutoReconnect(false))
	if tok := dev.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("device connect: %v", tok.Error())
	}
	defer dev.Disconnect(0)
	connection := func(want bool) *models.DeviceConnection {
		t.Helper()
		for i := 0; i < 100; i++ {
			d, err := a.Registry.GetDevice(context.Background(), "p1", "d1")
			if err != nil {
				t.Fatal(err)
			}
			if d.Connection != nil && d.Connection.Online == want {
				return d.Connection
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("d1 never became online %v", want)
		return nil
	}
	connection(true)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if c := connection(false); c.LastDisconnectReason != "server shutdown" {
		t.Fatalf("after serve stopped: %+v", c)
	}
}

// A taken FLEETTASKS_BROKER_ADDR fails serve with an error naming it.
func TestServeEmbeddedBrokerAddressTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg, err := config.Load(testenv.Env(t, testenv.DatabaseURL(t), "FLEETTASKS_HTTP_ADDR="+freeAddr(t), "FLEETTASKS_REDIS_URL="+testenv.RedisDB(t),
		"FLEETTASKS_BROKER=embedded", "FLEETTASKS_BROKER_ADDR="+l.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	err = serve(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err == nil || !strings.Contains(err.Error(), "FLEETTASKS_BROKER_ADDR") {
		t.Fatalf("serve with a taken broker address: %v", err)
	}
}
