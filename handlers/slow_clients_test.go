package handlers_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"fleettasks/handlers"
)

// Slow clients cannot hold the server's connections: one that sends its
// headers slowly is cut off after the header timeout, one address cannot
// open more than its share of connections, and an upload may still take
// longer than the header timeout to send its body.
func TestSlowClients(t *testing.T) {
	s := newTestServer(t)
	// a server of its own for each check, so that the connections of one
	// are not counted against another
	serve := func(headerTimeout time.Duration, maxConns int) (dial func() net.Conn) {
		d := s.Deps
		cfg := *d.Config
		cfg.HTTPHeaderTimeout, cfg.HTTPMaxConnsPerIP = headerTimeout, maxConns
		d.Config = &cfg
		app := handlers.New(d)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go app.Listener(ln)
		t.Cleanup(func() { ln.Close() })
		return func() net.Conn {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
	}
	dial := serve(time.Second, 0)
	capped := serve(time.Minute, 5)
	// closed is how long the server takes to close c (it sends nothing more)
	closed := func(c net.Conn) time.Duration {
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
		return time.Since(start)
	}

	// slowloris: a header trickled a byte at a time, never ended
	slow := dial()
	io.WriteString(slow, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	go func() {
		for i := 0; i < 20; i++ {
			time.Sleep(250 * time.Millisecond)
			if _, err := slow.Write([]byte("a")); err != nil {
				return
			}
		}
	}()
	took := closed(slow)
	t.Logf("trickling client closed after %v", took)
	if took > 3*time.Second {
		t.Errorf("a client trickling its headers kept its connection %v", took)
	}

	conns := make([]net.Conn, 5)
	for i := range conns {
		conns[i] = capped()
		io.WriteString(conns[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(conns[i]), nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}
	extra := capped()
	io.WriteString(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(extra), nil); err == nil && resp.StatusCode == 200 {
		t.Error("a sixth connection from one address was served")
	}
	// an upload's body may come after the header timeout
	up := dial()
	body := "--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nfirmware\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fw.bin\"\r\nContent-Type: application/octet-stream\r\n\r\nslow firmware\r\n--b--\r\n"
	io.WriteString(up, "POST /api/v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+s.As.Token+
		"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
	time.Sleep(1500 * time.Millisecond) // longer than the header timeout: the point of the test
	io.WriteString(up, body)
	up.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(up), nil)
	if err != nil || resp.StatusCode != http.StatusCreated {
		b := ""
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			b = resp.Status + " " + string(raw)
		}
		t.Fatalf("a slow upload: %v %s", err, strings.TrimSpace(b))
	}
}
