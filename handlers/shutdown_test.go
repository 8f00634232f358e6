package handlers_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// Shutdown with keep-alive connections idle, each counted against its
// address's cap (FLEETTASKS_HTTP_MAX_CONNS_PER_IP): Shutdown closes them
// and returns. (fasthttp v1.51 closed such a connection twice, once from
// Shutdown and once from its worker, and the second Close dereferenced nil:
// the process crashed.)
func TestShutdownWithIdleConnections(t *testing.T) {
	s := newTestServer(t)
	if s.Deps.Config.HTTPMaxConnsPerIP == 0 {
		t.Fatal("the per-address cap is off: this test is about the connections it counts")
	}
	const n = 50
	idle := make(chan struct{}, 4*n)
	s.App.Server().ConnState = func(_ net.Conn, st fasthttp.ConnState) {
		if st == fasthttp.StateIdle {
			select {
			case idle <- struct{}{}:
			default:
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.App.Listener(ln) }()

	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("connection %d: %v %v", i+1, err, resp)
		}
		resp.Body.Close()
		conns[i] = c
	}
	// every connection waits for its next request
	for i := 0; i < n; i++ {
		select {
		case <-idle:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d connections idle after 10s", i, n)
		}
	}

	done := make(chan error, 1)
	go func() { done <- s.App.ShutdownWithTimeout(10 * time.Second) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("shutdown did not return")
	}
	if err := <-served; err != nil {
		t.Errorf("listener: %v", err)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		switch _, err := c.Read(make([]byte, 1)); {
		case err == nil:
			t.Errorf("connection %d sent more after shutdown", i+1)
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.Errorf("connection %d still open after shutdown", i+1)
		}
	}
}
