package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
	"fleettasks/protocol/signin"
	embedded "fleettasks/workers/broker"
)

// mapSecrets is a secret source of a few devices, by "pk/dn".
type mapSecrets map[string]string

func (m mapSecrets) DeviceSecret(_ context.Context, pk, dn string) (string, error) {
	if s, ok := m[pk+"/"+dn]; ok {
		return s, nil
	}
	return "", signin.ErrUnknownDevice
}

// bench-connect's load generator signs devices in on their own
// connections to the embedded broker, counts a wrong secret as refused,
// and counts the notifies its devices receive.
func TestConnectLoadSignsInAndCountsNotifies(t *testing.T) {
	pk := testenv.Prefix(t)
	secrets := mapSecrets{}
	var lines strings.Builder
	for i := 1; i <= 20; i++ {
		dn := fmt.Sprintf("d%d", i)
		secrets[pk+"/"+dn] = models.NewDeviceSecret()
		fmt.Fprintf(&lines, "%s,%s,%s\n", pk, dn, secrets[pk+"/"+dn])
	}
	secrets[pk+"/d21"] = models.NewDeviceSecret()
	fmt.Fprintf(&lines, "%s,d21,%s\n.\n", pk, models.NewDeviceSecret()) // not its secret
	addr, err := listenAddr()
	if err != nil {
		t.Fatal(err)
	}
	b, err := embedded.Start(embedded.Config{Addr: addr, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- connectLoad(context.Background(), inR, outW, addr, 1000, 5, 30); outW.Close() }()
	go io.WriteString(inW, lines.String())
	out := bufio.NewScanner(outR)
	next := func() string {
		if !out.Scan() {
			t.Fatalf("bench-connect said nothing more: %v", out.Err())
		}
		return out.Text()
	}
	if line := next(); !strings.HasPrefix(line, "connected 20 refused 1 failed 0 ") {
		t.Fatalf("first line %q, want 20 connected and 1 refused", line)
	}

	if err := b.Publish(protocol.Topic(pk, "d7", protocol.KindNotify), []byte(`{}`), 1); err != nil {
		t.Fatal(err)
	}
	got := ""
	for deadline := time.Now().Add(5 * time.Second); got != "received 1" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		io.WriteString(inW, "count\n")
		got = next()
	}
	if got != "received 1" {
		t.Fatalf("after one notify: %q", got)
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
