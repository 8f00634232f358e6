package handlers_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol/signin"
)

// The API answers each new device's secret once; reading a device never
// shows it; a rotation answers the new one to operators and admins only,
// is audited without the secret, and the old secret signs in no more.
func TestAPIDeviceSecrets(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	if code, raw := s.do("POST", "/api/v1/products", map[string]any{"productKey": pk, "name": "lamps"}, nil); code != 201 {
		t.Fatalf("product: %d %s", code, raw)
	}
	var created struct {
		Devices []struct {
			DeviceName   string `json:"deviceName"`
			DeviceSecret string `json:"deviceSecret"`
		} `json:"devices"`
	}
	code, raw := s.do("POST", "/api/v1/products/"+pk+"/devices", map[string]any{"devices": []map[string]string{{"deviceName": "d1"}, {"deviceName": "d2"}}}, &created)
	if code != 201 || len(created.Devices) != 2 {
		t.Fatalf("create: %d %s", code, raw)
	}
	first := created.Devices[0].DeviceSecret
	if len(first) < 32 || created.Devices[1].DeviceSecret == first {
		t.Fatalf("secrets %q %q", first, created.Devices[1].DeviceSecret)
	}
	d1 := signin.Device{ProductKey: pk, DeviceName: "d1"}
	v := signin.NewVerifier(s.Deps.Registry)
	if _, err := v.Verify(ctx, signin.Sign(d1, first, signin.SignOptions{})); err != nil {
		t.Fatalf("the secret answered does not sign in: %v", err)
	}
	for _, path := range []string{"/api/v1/devices/" + pk + "/d1", "/api/v1/devices?productKey=" + pk} {
		if code, raw := s.do("GET", path, nil, nil); code != 200 || strings.Contains(string(raw), first) || strings.Contains(string(raw), "deviceSecret") {
			t.Fatalf("GET %s shows the secret: %d %s", path, code, raw)
		}
	}

	rotate := "/api/v1/devices/" + pk + "/d1/secret"
	s.As = s.user(models.RoleSupport)
	if code, raw := s.do("POST", rotate, nil, nil); code != 403 {
		t.Fatalf("support rotates: %d %s", code, raw)
	}
	s.As = s.user(models.RoleOperator)
	var got struct{ ProductKey, DeviceName, DeviceSecret string }
	code, raw = s.do("POST", rotate, nil, &got)
	if code != 200 || got.ProductKey != pk || got.DeviceName != "d1" || len(got.DeviceSecret) < 32 || got.DeviceSecret == first {
		t.Fatalf("rotate: %d %s", code, raw)
	}
	if _, err := v.Verify(ctx, signin.Sign(d1, first, signin.SignOptions{})); err == nil {
		t.Fatal("the old secret signs in after the rotation")
	}
	if _, err := v.Verify(ctx, signin.Sign(d1, got.DeviceSecret, signin.SignOptions{})); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	if code, _ := s.do("POST", "/api/v1/devices/"+pk+"/nope/secret", nil, nil); code != 404 {
		t.Fatalf("rotate unknown: %d", code)
	}
	var target, changes string
	err := s.Deps.DB.Pool.QueryRow(ctx, `SELECT target, coalesce(changes::text, '') FROM audit_log WHERE action = 'device.rotate_secret' ORDER BY id DESC LIMIT 1`).Scan(&target, &changes)
	if err != nil || target != "device:"+pk+"/d1" {
		t.Fatalf("audit: %q %v", target, err)
	}
	var leaks int
	err = s.Deps.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE coalesce(changes::text, '') LIKE '%' || $1 || '%' OR coalesce(changes::text, '') LIKE '%' || $2 || '%'`, first, got.DeviceSecret).Scan(&leaks)
	if err != nil || leaks != 0 {
		t.Fatalf("the audit log holds a secret: %d %v", leaks, err)
	}
}

// The device page's button (behind its confirmation dialog) makes a new
// secret and shows it once.
func TestConsoleDeviceSecretRotate(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 1) // registered before secrets: none yet
	if _, err := s.Deps.Registry.DeviceSecret(context.Background(), pk, "d1"); err == nil {
		t.Fatal("a seeded device has a secret")
	}
	_, doc := s.page("GET", "/devices/"+pk+"/d1", nil, false)
	dialog := testid(doc, "device-secret-dialog")
	if testid(doc, "device-rotate-secret").AttrOr("data-open-dialog", "") != "device-secret-dialog" ||
		dialog.Find("form[method=post]").AttrOr("action", "") != "/devices/"+pk+"/d1/secret" || !strings.Contains(dialog.Text(), "stops working") {
		t.Fatal("no confirmed rotate button")
	}
	resp, doc := s.page("POST", "/devices/"+pk+"/d1/secret", url.Values{}, false)
	secret := testid(doc, "device-secret-value").Text()
	if resp.StatusCode != 200 || len(secret) != models.DeviceSecretLength || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %q", resp.StatusCode, secret)
	}
	if got, err := s.Deps.Registry.DeviceSecret(context.Background(), pk, "d1"); err != nil || got != secret {
		t.Fatalf("the secret shown is not the device's: %v", err)
	}
	_, doc = s.page("GET", "/devices/"+pk+"/d1", nil, false)
	if html, _ := doc.Html(); strings.Contains(html, secret) {
		t.Fatal("the device page shows the secret again")
	}
	s.As = s.user(models.RoleSupport)
	_, doc = s.page("GET", "/devices/"+pk+"/d1", nil, false)
	if testid(doc, "device-rotate-secret").Length() != 0 || testid(doc, "device-secret-dialog").Length() != 0 {
		t.Fatal("support sees the rotate button")
	}
}
