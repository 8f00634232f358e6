package models_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"fleettasks/models"
	"fleettasks/protocol/signin"
)

var secretShape = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

// rawSecret is the stored column of device pk/dn, as the database holds it.
func rawSecret(t *testing.T, db *models.DB, pk, dn string) []byte {
	t.Helper()
	var raw []byte
	if err := db.Pool.QueryRow(context.Background(), `SELECT secret_enc FROM devices WHERE product_key = $1 AND device_name = $2`, pk, dn).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestDeviceSecretsSealedAndRotated(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	ds := regProduct(t, r, "p1", "d1", "d2")
	if !secretShape.MatchString(ds[0].Secret) || !secretShape.MatchString(ds[1].Secret) || ds[0].Secret == ds[1].Secret {
		t.Fatalf("secrets %q %q", ds[0].Secret, ds[1].Secret)
	}
	raw := rawSecret(t, db, "p1", "d1")
	if len(raw) == 0 || bytes.Contains(raw, []byte(ds[0].Secret)) || bytes.Contains(raw, []byte(ds[0].Secret[:8])) {
		t.Fatalf("the stored secret is not encrypted: %q", raw)
	}
	if got, err := r.DeviceSecret(ctx, "p1", "d1"); err != nil || got != ds[0].Secret {
		t.Fatalf("DeviceSecret: %q %v", got, err)
	}
	if d, err := r.GetDevice(ctx, "p1", "d1"); err != nil || d.Secret != "" {
		t.Fatalf("GetDevice shows the secret: %+v %v", d, err)
	}
	if list, _, err := r.ListDevices(ctx, models.DeviceFilter{ProductKey: "p1"}, models.Page{}); err != nil || list[0].Secret != "" {
		t.Fatalf("ListDevices shows the secret: %v", err)
	}

	v := signin.NewVerifier(r)
	old := signin.Sign(signin.Device{ProductKey: "p1", DeviceName: "d1"}, ds[0].Secret, signin.SignOptions{})
	if res, err := v.Verify(ctx, old); err != nil || res.Device.DeviceName != "d1" {
		t.Fatalf("verify: %+v %v", res, err)
	}
	next, err := r.RotateDeviceSecret(ctx, "p1", "d1")
	if err != nil || !secretShape.MatchString(next) || next == ds[0].Secret {
		t.Fatalf("rotate: %q %v", next, err)
	}
	if _, err := v.Verify(ctx, old); err == nil {
		t.Fatal("the old secret still signs in after the rotation")
	} else if ref, ok := signin.AsRefusal(err); !ok || ref.Reason != signin.ReasonBadSignature {
		t.Fatalf("old secret: %v", err)
	}
	if _, err := v.Verify(ctx, signin.Sign(signin.Device{ProductKey: "p1", DeviceName: "d1"}, next, signin.SignOptions{})); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	if _, err := r.RotateDeviceSecret(ctx, "p1", "nope"); !models.IsNotFound(err) {
		t.Fatalf("rotate unknown: %v", err)
	}
	if _, err := r.DeviceSecret(ctx, "p1", "nope"); !errors.Is(err, signin.ErrUnknownDevice) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := r.DeviceSecret(ctx, "p1", strings.Repeat("x", 65)); !errors.Is(err, signin.ErrUnknownDevice) {
		t.Fatalf("unregistrable: %v", err)
	}

	// a device registered before secrets existed has none until rotated
	if _, err := db.Pool.Exec(ctx, `INSERT INTO devices (product_key, device_name) VALUES ('p1', 'old')`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeviceSecret(ctx, "p1", "old"); !errors.Is(err, signin.ErrNoSecret) {
		t.Fatalf("no secret: %v", err)
	}

	// another FLEETTASKS_SECRET does not open the sealed secrets, and says so
	other := models.NewRegistry(db, models.WithDeviceSecretKey([]byte("another-server-secret")))
	if got, err := other.DeviceSecret(ctx, "p1", "d2"); !errors.Is(err, models.ErrSecretUnreadable) || got != "" {
		t.Fatalf("wrong key: %q %v", got, err)
	}
	// a sealed secret copied to another device does not open there
	if _, err := db.Pool.Exec(ctx, `UPDATE devices SET secret_enc = (SELECT secret_enc FROM devices WHERE device_name = 'd2') WHERE device_name = 'old'`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeviceSecret(ctx, "p1", "old"); !errors.Is(err, models.ErrSecretUnreadable) {
		t.Fatalf("copied secret: %v", err)
	}
	// without a key, no device is registered without a secret
	if _, err := models.NewRegistry(db).CreateDevices(ctx, "p1", []string{"d9"}); err == nil {
		t.Fatal("a registry without a key registered a device")
	}
}

func TestImportDevicesSecrets(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1")
	res, err := r.ImportDevices(ctx, strings.NewReader("productKey,deviceName\np1,a\np1,b\n"))
	if err != nil || res.Created != 2 || len(res.Devices) != 2 {
		t.Fatalf("import: %+v %v", res, err)
	}
	for _, d := range res.Devices {
		if !secretShape.MatchString(d.Secret) || bytes.Contains(rawSecret(t, db, "p1", d.DeviceName), []byte(d.Secret)) {
			t.Fatalf("device %s: secret %q", d.DeviceName, d.Secret)
		}
		if got, err := r.DeviceSecret(ctx, "p1", d.DeviceName); err != nil || got != d.Secret {
			t.Fatalf("device %s: %q %v", d.DeviceName, got, err)
		}
	}
	if res.Devices[0].DeviceName != "a" || res.Devices[1].DeviceName != "b" {
		t.Fatalf("order: %+v", res.Devices)
	}
}
