package models_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A second write hashes only the users whose password changed: a new
// device and a rotated secret; a deleted device's line goes.
func TestBrokerPasswdKeepsHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	reg := models.NewRegistry(db, models.WithDeviceSecretKey([]byte("a server secret of the test")))
	pk := testenv.Prefix(t)
	if _, err := reg.CreateProduct(ctx, models.ProductInput{ProductKey: pk, Name: "lamps"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateDevices(ctx, pk, []string{"d1", "d2", "d3"}); err != nil {
		t.Fatal(err)
	}
	p := models.NewBrokerPasswd(reg)
	write := func() (string, models.PasswdStats) {
		t.Helper()
		var b bytes.Buffer
		st, err := p.Write(ctx, &b, map[string]string{"srv": "pw"})
		if err != nil {
			t.Fatal(err)
		}
		return b.String(), st
	}
	first, st := write()
	if st != (models.PasswdStats{Users: 4, Hashed: 4}) || !strings.Contains(first, "\nd1&"+pk+":$7$101$") {
		t.Fatalf("first write %+v:\n%s", st, first)
	}
	again, st := write()
	if st != (models.PasswdStats{Users: 4, Hashed: 0}) || again != first {
		t.Fatalf("unchanged write %+v:\n%s", st, again)
	}
	if _, err := reg.RotateDeviceSecret(ctx, pk, "d2"); err != nil {
		t.Fatal(err)
	}
	if err := reg.DeleteDevice(ctx, pk, "d3"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateDevices(ctx, pk, []string{"d4"}); err != nil {
		t.Fatal(err)
	}
	last, st := write()
	if st != (models.PasswdStats{Users: 4, Hashed: 2}) || strings.Contains(last, "d3&") || !strings.Contains(last, "d4&"+pk+":") {
		t.Fatalf("after changes %+v:\n%s", st, last)
	}
}
