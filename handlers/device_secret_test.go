package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
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

// A registration sent with an Idempotency-Key answers the secrets once:
// they are not kept with the key, and a repeat is told so.
func TestIdempotentDeviceCreateKeepsNoSecret(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	if code, raw := s.do("POST", "/api/v1/products", map[string]any{"productKey": pk, "name": "lamps"}, nil); code != 201 {
		t.Fatalf("product: %d %s", code, raw)
	}
	body := []byte(`{"devices":[{"deviceName":"d1"}]}`)
	first := s.idemPost(s.As, "/api/v1/products/"+pk+"/devices", "reg-1", body)
	secret, err := s.Deps.Registry.DeviceSecret(context.Background(), pk, "d1")
	if first.status != 201 || err != nil || !strings.Contains(string(first.body), `"deviceSecret":"`+secret+`"`) {
		t.Fatalf("first: %d %s %v", first.status, first.body, err)
	}
	again := s.idemPost(s.As, "/api/v1/products/"+pk+"/devices", "reg-1", body)
	if again.status != 409 || !again.replayed || strings.Contains(string(again.body), secret) || !strings.Contains(string(again.body), "not kept") {
		t.Fatalf("repeat: %d %v %s", again.status, again.replayed, again.body)
	}
	var kept int
	if err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE position($1::bytea IN body) > 0`, []byte(secret)).Scan(&kept); err != nil || kept != 0 {
		t.Fatalf("the secret is kept with the key: %d %v", kept, err)
	}
}

// The API's CSV import answers each new device's secret; a refused one
// lists every problem by line.
func TestAPIDeviceImport(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	if code, raw := s.do("POST", "/api/v1/products", map[string]any{"productKey": pk, "name": "lamps"}, nil); code != 201 {
		t.Fatalf("product: %d %s", code, raw)
	}
	send := func(ct, csv string) (int, string, string) {
		req := httptest.NewRequest("POST", "/api/v1/devices/import", strings.NewReader(csv))
		req.Header.Set("Content-Type", ct)
		s.As.sign(req)
		resp, err := s.test(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Cache-Control"), string(b)
	}
	code, _, raw := send("text/csv", "productKey,deviceName\n"+pk+",a b\n"+pk+",c\n"+pk+",c\n")
	var refused struct {
		Error struct {
			Code     string
			Problems []struct {
				Line   int
				Reason string
			}
		}
	}
	if err := json.Unmarshal([]byte(raw), &refused); err != nil || code != 422 || refused.Error.Code != "failed_precondition" ||
		len(refused.Error.Problems) != 2 || refused.Error.Problems[0].Line != 2 || refused.Error.Problems[1].Line != 4 {
		t.Fatalf("refused: %d %s", code, raw)
	}
	if code, _, raw := send("application/json", "{}"); code != 415 {
		t.Fatalf("not CSV: %d %s", code, raw)
	}
	code, cache, raw := send("text/csv; charset=utf-8", "productKey,deviceName\n"+pk+",a\n"+pk+",b\n")
	var done struct {
		Created int
		Devices []struct{ ProductKey, DeviceName, DeviceSecret string }
	}
	if err := json.Unmarshal([]byte(raw), &done); err != nil || code != 201 || done.Created != 2 || len(done.Devices) != 2 || cache != "no-store" {
		t.Fatalf("import: %d %s", code, raw)
	}
	for _, d := range done.Devices {
		got, err := s.Deps.Registry.DeviceSecret(context.Background(), d.ProductKey, d.DeviceName)
		if err != nil || got != d.DeviceSecret || len(got) < 32 {
			t.Fatalf("%s: not the device's secret: %v", d.DeviceName, err)
		}
	}
}
