package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/config"
	"fleettasks/handlers"
	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol/signin"
)

const emqxSecret = "emqx-shared-secret-0123"

// emqxServer is an app whose EMQX endpoints are on (or off, for an empty
// shared secret), with the server's broker user "srv" / "srv-password".
func emqxServer(t *testing.T, shared string) (*handlers.Deps, *fiber.App, func(path, bearer string, body any) (int, map[string]any)) {
	t.Helper()
	t.Parallel()
	db := testenv.DB(t)
	cfg, err := config.Load(testenv.Env(t, "", "FLEETTASKS_BROKER_HTTP_SECRET="+shared,
		"FLEETTASKS_MQTT_URL=tcp://srv:srv-password@127.0.0.1:1883"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	d := handlers.Deps{Config: cfg, DB: db, Registry: models.NewRegistry(db, models.WithDeviceSecretKey(cfg.Secret)),
		Accounts: models.NewAccounts(db), Audit: models.NewAudit(db)}
	d.Files = models.NewFiles(db, cfg.DataDir, cfg.Secret, cfg.PublicURL)
	d.Tasks = models.NewTasks(db, d.Files)
	app := handlers.New(d)
	return &d, app, func(path, bearer string, body any) (int, map[string]any) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req := httptest.NewRequest("POST", path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := app.Test(req, 60_000)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(out, &m)
		return resp.StatusCode, m
	}
}

// The EMQX authenticator admits a device signing in with its current
// secret (signed or plain) and the server's own user, and refuses every
// other sign-in; without the shared secret it answers 401.
func TestEMQXAuth(t *testing.T) {
	d, app, post := emqxServer(t, emqxSecret)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	if _, err := d.Registry.CreateProduct(ctx, models.ProductInput{ProductKey: pk, Name: "lamps"}); err != nil {
		t.Fatal(err)
	}
	devs, err := d.Registry.CreateDevices(ctx, pk, []string{"d1", "d2", "old"})
	if err != nil {
		t.Fatal(err)
	}
	d1 := signin.Device{ProductKey: pk, DeviceName: "d1"}
	secret := devs[0].Secret
	rotatedDev := signin.Device{ProductKey: pk, DeviceName: "d2"}
	oldSecret := devs[1].Secret
	if _, err := d.Registry.RotateDeviceSecret(ctx, pk, "d2"); err != nil {
		t.Fatal(err)
	}
	// a device registered before secrets existed has none
	if _, err := d.DB.Pool.Exec(ctx, `UPDATE devices SET secret_enc = NULL WHERE product_key = $1 AND device_name = 'old'`, pk); err != nil {
		t.Fatal(err)
	}
	body := func(c signin.Credentials) map[string]string {
		return map[string]string{"username": c.Username, "clientid": c.ClientID, "password": c.Password}
	}
	signed := signin.Sign(d1, secret, signin.SignOptions{Time: time.Now()})
	plain := signin.Credentials{ClientID: "plain-d1", Username: signin.Username(d1), Password: secret}
	wrong := signin.Sign(d1, "not-the-secret-0123456789abcdefgh", signin.SignOptions{})
	cases := []struct {
		name   string
		bearer string
		body   map[string]string
		code   int
		result string
		super  bool
	}{
		{"signed sign-in", emqxSecret, body(signed), 200, "allow", false},
		{"plain sign-in", emqxSecret, body(plain), 200, "allow", false},
		{"wrong signature", emqxSecret, body(wrong), 200, "deny", false},
		{"unknown device", emqxSecret, body(signin.Sign(signin.Device{ProductKey: pk, DeviceName: "ghost"}, secret, signin.SignOptions{})), 200, "deny", false},
		{"rotated secret", emqxSecret, body(signin.Sign(rotatedDev, oldSecret, signin.SignOptions{})), 200, "deny", false},
		{"device without a secret", emqxSecret, body(signin.Credentials{ClientID: "c", Username: "old&" + pk, Password: ""}), 200, "deny", false},
		{"another device's secret", emqxSecret, body(signin.Sign(rotatedDev, secret, signin.SignOptions{})), 200, "deny", false},
		{"server user", emqxSecret, map[string]string{"username": "srv", "clientid": "fleettasks-1", "password": "srv-password"}, 200, "allow", true},
		{"server user, wrong password", emqxSecret, map[string]string{"username": "srv", "clientid": "x", "password": "guess"}, 200, "deny", false},
		{"no shared secret", "", body(signed), 401, "deny", false},
		{"wrong shared secret", "emqx-shared-secret-0124", body(signed), 401, "deny", false},
	}
	for _, c := range cases {
		code, got := post("/broker/emqx/auth", c.bearer, c.body)
		if code != c.code || got["result"] != c.result || got["is_superuser"] != c.super {
			t.Errorf("%s: %d %v, want %d %s superuser=%v", c.name, code, got, c.code, c.result, c.super)
		}
		// an allowed device is named in client_attrs, for auto-subscribe
		attrs, _ := got["client_attrs"].(map[string]any)
		if device := c.result == "allow" && !c.super; device != (attrs != nil) ||
			device && (attrs["productKey"] != pk || attrs["deviceName"] != "d1") {
			t.Errorf("%s: client_attrs %v", c.name, got["client_attrs"])
		}
	}
	resp, err := app.Test(httptest.NewRequest("GET", "/metrics", nil), 60_000)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(raw)
	for _, want := range []string{`fleettasks_broker_auth_total{broker="emqx",check="connect",result="allow"}`,
		`fleettasks_broker_auth_total{broker="emqx",check="connect",result="deny"}`,
		`fleettasks_broker_auth_total{broker="emqx",check="connect",result="unauthorized"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// The EMQX authorizer lets a device publish and subscribe to its own job
// topics only, in the right direction, and the server's user everywhere.
func TestEMQXACL(t *testing.T) {
	_, _, post := emqxServer(t, emqxSecret)
	own := func(kind string) string { return "/sys/a1/d1/thing/job/" + kind }
	d1, d2 := "d1&a1", "d2&a1"
	cases := []struct {
		user, action, topic string
		allow               bool
	}{
		{d1, "publish", own("get"), true},
		{d1, "publish", own("update"), true},
		{d1, "publish", own("notify_reply"), true},
		{d1, "subscribe", own("notify"), true},
		{d1, "subscribe", own("get_reply"), true},
		{d1, "subscribe", own("update_reply"), true},
		{d1, "publish", own("notify"), false},
		{d1, "publish", own("get_reply"), false},
		{d1, "subscribe", own("get"), false},
		{d2, "publish", own("update"), false},
		{d2, "subscribe", own("notify"), false},
		{d1, "subscribe", "/sys/a1/d1/thing/job/#", false},
		{d1, "subscribe", "/sys/a1/+/thing/job/notify", false},
		{d1, "subscribe", "#", false},
		{d1, "publish", "/sys/a1/d1/thing/other", false},
		{d1, "all", own("notify"), false},
		{"not-a-device", "subscribe", own("notify"), false},
		{"srv", "subscribe", "$share/g//sys/+/+/thing/job/update", true},
		{"srv", "publish", "/sys/a1/d1/thing/job/notify", true},
	}
	for _, c := range cases {
		code, got := post("/broker/emqx/acl", emqxSecret, map[string]string{"username": c.user, "clientid": "c", "action": c.action, "topic": c.topic})
		want := map[bool]string{true: "allow", false: "deny"}[c.allow]
		if code != 200 || got["result"] != want {
			t.Errorf("%s %s %s: %d %v, want %s", c.user, c.action, c.topic, code, got, want)
		}
	}
	if code, got := post("/broker/emqx/acl", "", map[string]string{"username": d1, "action": "publish", "topic": own("get")}); code != 401 || got["result"] != "deny" {
		t.Errorf("without the shared secret: %d %v", code, got)
	}
}

// Without FLEETTASKS_BROKER_HTTP_SECRET the endpoints do not exist.
func TestEMQXEndpointsOff(t *testing.T) {
	_, _, post := emqxServer(t, "")
	for _, path := range []string{"/broker/emqx/auth", "/broker/emqx/acl"} {
		if code, _ := post(path, "", map[string]string{"username": "srv", "password": "srv-password"}); code != 404 {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
}

// A broker's question is small: a body over the cap is refused.
func TestEMQXBodyCap(t *testing.T) {
	_, _, on := emqxServer(t, emqxSecret)
	if code, _ := on("/broker/emqx/auth", emqxSecret, map[string]string{"username": strings.Repeat("x", 8<<10)}); code != 413 {
		t.Errorf("a large body: %d, want 413", code)
	}
}
