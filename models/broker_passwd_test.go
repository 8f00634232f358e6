package models_test

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha512"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// MosquittoHash writes the format of mosquitto_passwd: the same fields,
// lengths and iterations, and mosquitto_passwd's own line is PBKDF2-SHA512
// of the password over its salt, as MosquittoHash computes.
func TestMosquittoHashFormat(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-c", "-b", file, "u", "secret-1").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	raw, _ := os.ReadFile(file)
	theirs := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(raw), "u:")), "$")
	ours, err := models.MosquittoHash("secret-1")
	if err != nil {
		t.Fatal(err)
	}
	mine := strings.Split(ours, "$")
	if len(theirs) != 5 || len(mine) != 5 || theirs[1] != "7" || mine[1] != "7" || theirs[2] != mine[2] ||
		len(theirs[3]) != len(mine[3]) || len(theirs[4]) != len(mine[4]) {
		t.Fatalf("mosquitto_passwd %q, ours %q", raw, ours)
	}
	salt, _ := base64.StdEncoding.DecodeString(theirs[3])
	iter, _ := strconv.Atoi(theirs[2])
	sum, _ := pbkdf2.Key(sha512.New, "secret-1", salt, iter, sha512.Size)
	if base64.StdEncoding.EncodeToString(sum) != theirs[4] {
		t.Fatalf("mosquitto_passwd's hash is not PBKDF2-SHA512: %q", raw)
	}
}
