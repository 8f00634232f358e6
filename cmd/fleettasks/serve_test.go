package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"fleettasks/config"
	"fleettasks/internal/testenv"
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// getServed GETs path from the server at addr, trying again for 10 s
// while it is not listening yet, and returns the status and body.
func getServed(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	var last error
	for i := 0; i < 100; i++ {
		resp, err := http.Get("http://" + addr + path)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", path, last)
	return 0, ""
}

// serve migrates an empty database, answers health, readiness and metrics
// against the real services, and stops cleanly when its context ends.
func TestServe(t *testing.T) {
	addr := freeAddr(t)
	cfg, err := config.Load(testenv.Env(t, testenv.DatabaseURL(t), "FLEETTASKS_HTTP_ADDR="+addr, "FLEETTASKS_REDIS_URL="+testenv.RedisDB(t)))
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
	if code, body := get("/healthz"); code != 200 {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != 200 || strings.Count(body, `"ok"`) != 3 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	get("/api/v1/tasks")
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `fleettasks_http_requests_total{method="GET",route="/api/v1/tasks",status="401"}`) {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}
