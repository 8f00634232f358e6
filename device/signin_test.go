package device_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fleettasks/device"
	"fleettasks/device/internal/peer"
	"fleettasks/protocol/signin"
)

// secretOf is a signin.SecretSource of one device.
type secretOf struct{ pk, dn, secret string }

func (s secretOf) DeviceSecret(_ context.Context, pk, dn string) (string, error) {
	if pk != s.pk || dn != s.dn {
		return "", signin.ErrUnknownDevice
	}
	return s.secret, nil
}

// A device given its secret signs in the Alibaba way, and what it sends
// is what the server's verifier accepts.
func TestConfigSignIn(t *testing.T) {
	const secret = "kT3vQ9xLm2Pz8RwB4nYc6HdJ0sFgA1eU"
	cfg := device.Config{BrokerURL: "tcp://127.0.0.1:1883", ProductKey: "a1", DeviceName: "lamp:1@home", DeviceSecret: secret}
	creds, err := cfg.SignIn()
	if err != nil {
		t.Fatal(err)
	}
	if creds.ClientID != "a1.lamp:1@home|_ss=1,_v=fleettasks-go,securemode=3,signmethod=hmacsha256,ext=3,|" || creds.Username != "lamp:1@home&a1" {
		t.Fatalf("credentials %+v", creds)
	}
	res, err := signin.NewVerifier(secretOf{"a1", "lamp:1@home", secret}).Verify(context.Background(), creds)
	if err != nil || res.Device != (signin.Device{ProductKey: "a1", DeviceName: "lamp:1@home"}) || res.SignMethod != signin.HMACSHA256 || res.SecureMode != "3" {
		t.Fatalf("verify: %+v %v", res, err)
	}
	if _, err := signin.Check(creds, "another-secret"); err == nil {
		t.Fatal("another secret accepts the sign-in")
	}
	again, _ := cfg.SignIn()
	if again != creds {
		t.Fatal("the client id changes between connects: the broker session would be lost")
	}

	plain := cfg
	plain.PlainSignIn = true
	if creds, err := plain.SignIn(); err != nil || creds != (signin.Credentials{ClientID: "a1.lamp:1@home", Username: "lamp:1@home&a1", Password: secret}) {
		t.Fatalf("plain sign-in: %+v %v", creds, err)
	}

	cfg.BrokerURL = "ssl://broker.example.com:8883"
	if creds, _ := cfg.SignIn(); !strings.Contains(creds.ClientID, "securemode=2,") {
		t.Fatalf("TLS: %q", creds.ClientID)
	}
	cfg.ClientID = "mine"
	if _, err := cfg.SignIn(); err == nil {
		t.Fatal("ClientID and DeviceSecret together")
	}
	cfg.DeviceSecret = ""
	if creds, err := cfg.SignIn(); err != nil || creds != (signin.Credentials{ClientID: "mine"}) {
		t.Fatalf("no secret: %+v %v", creds, err)
	}
}

// A broker that does not check passwords (Mosquitto with
// allow_anonymous) takes a signing device as before.
func TestClientSignedConnect(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	p.Add("d1", peer.Task{ID: "7", Document: []byte(`{"a":1}`)})
	c := connect(t, p, "d1", device.Config{DeviceSecret: "kT3vQ9xLm2Pz8RwB4nYc6HdJ0sFgA1eU"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	items, err := c.List(ctx)
	if err != nil || len(items) != 1 || items[0].TaskID != "7" {
		t.Fatalf("$list: %+v %v", items, err)
	}
}
