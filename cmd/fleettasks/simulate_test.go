package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fleettasks/config"
	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func TestSimulateFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--devices", "3"}, "--product is required"},
		{[]string{"--product", "p"}, "--devices 0"},
		{[]string{"--product", "p", "--devices", "-2"}, "--devices -2"},
		{[]string{"--product", "p", "--devices", "3", "--behaviour", "explode"}, `behaviour "explode"`},
		{[]string{"--product", "p", "--devices", "3", "--work", "-1s"}, "--work -1s"},
		{[]string{"--product", "p", "--devices", "3", "--work", "soon"}, "invalid value"},
		{[]string{"--product", "p", "--devices", "3", "--prefix", ""}, "--prefix"},
		{[]string{"--product", "p", "--devices", "3", "extra"}, `unexpected argument "extra"`},
		{[]string{"--colour", "red"}, "flag provided but not defined: -colour"},
		{[]string{"--product", "p", "--devices", "3", "--register", "--rotate-unknown"}, "--rotate-unknown needs --register and --secrets"},
	}
	for _, tc := range cases {
		_, err := parseSimulateFlags(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	f, err := parseSimulateFlags([]string{"--product", "p", "--devices", "3", "--behaviour", "mixed", "--work", "10ms"}, io.Discard)
	if err != nil || f.prefix != "d" || f.devices != 3 || f.behaviour != "mixed" || f.work != 10*time.Millisecond || f.shared || f.secrets != "" {
		t.Fatalf("%+v, %v", f, err)
	}
	f, err = parseSimulateFlags([]string{"--product", "p", "--devices", "3", "--secrets", "s.csv", "--shared"}, io.Discard)
	if err != nil || !f.shared || f.secrets != "s.csv" {
		t.Fatalf("--secrets --shared: %+v, %v", f, err)
	}
}

func TestSimulateCommandUsage(t *testing.T) {
	var out strings.Builder
	if code := run([]string{"simulate", "--devices", "2"}, testenv.Env(t, ""), &out); code != 1 || !strings.Contains(out.String(), "--product is required") {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
}

// --register creates the product and only the missing devices: a second
// run with more devices adds the rest. The new devices' secrets go to the
// --secrets file, which the runs then sign in with.
func TestSimulateRegistersMissingDevices(t *testing.T) {
	t.Parallel()
	url := testenv.DatabaseURL(t)
	cfg, err := config.Load(testenv.Env(t, url))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	secretsFile := filepath.Join(t.TempDir(), "secrets.csv")
	pk := testenv.Prefix(t)
	count := func() int {
		db, err := models.Open(context.Background(), url)
		if err != nil {
			return -1
		}
		defer db.Close()
		var n int
		if db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM devices WHERE product_key = $1`, pk).Scan(&n) != nil {
			return -1
		}
		return n
	}
	log := slog.New(slog.DiscardHandler)
	for _, n := range []int{5, 8} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- simulate(ctx, cfg, log, []string{"--product", pk, "--devices", strconv.Itoa(n), "--register", "--work", "10ms", "--secrets", secretsFile})
		}()
		waitFor(t, 20*time.Second, func() string { return fmt.Sprintf("--devices %d: %d devices registered", n, count()) }, func() bool {
			select {
			case err := <-done:
				t.Fatalf("simulate --devices %d stopped: %v", n, err)
			default:
			}
			return count() == n
		})
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("simulate --devices %d: %v", n, err)
		}
	}
	raw, err := os.ReadFile(secretsFile)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil || len(recs) != 9 || strings.Join(recs[0], ",") != "productKey,deviceName,deviceSecret" {
		t.Fatalf("secrets file %q: %v", raw, err)
	}
	db, err := models.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := models.NewRegistry(db, models.WithDeviceSecretKey(cfg.Secret))
	for _, r := range recs[1:] {
		if got, err := reg.DeviceSecret(context.Background(), r[0], r[1]); err != nil || r[0] != pk || got != r[2] {
			t.Fatalf("%v: not the device's secret: %v", r, err)
		}
	}
	if st, err := os.Stat(secretsFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file mode: %v %v", st.Mode(), err)
	}
	got, err := readSecrets(secretsFile, pk, false)
	if err != nil || len(got) != 8 || got["d8"] != recs[8][2] {
		t.Fatalf("readSecrets: %d %v", len(got), err)
	}
	if _, err := readSecrets(filepath.Join(t.TempDir(), "none.csv"), pk, false); err == nil {
		t.Fatal("a missing --secrets file without --register")
	}

	// --rotate-unknown: with the file lost, the existing devices get new
	// secrets, written to the new file; the old ones stop working
	lost := filepath.Join(t.TempDir(), "new.csv")
	created, err := registerSimulated(context.Background(), cfg, log, &simulateFlags{product: pk, devices: 8, prefix: "d", register: true, rotate: true, secrets: lost}, map[string]string{"d2": recs[2][2]})
	if err != nil || len(created) != 7 {
		t.Fatalf("--rotate-unknown: %d devices, %v", len(created), err)
	}
	for _, d := range created {
		if got, err := reg.DeviceSecret(context.Background(), pk, d.DeviceName); err != nil || got != d.Secret || d.DeviceName == "d2" {
			t.Fatalf("%s: the new secret is not the device's: %v", d.DeviceName, err)
		}
	}
	if got, _ := reg.DeviceSecret(context.Background(), pk, "d2"); got != recs[2][2] {
		t.Fatal("d2, whose secret was known, got a new one")
	}
}
