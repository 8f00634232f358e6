package handlers_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"fleettasks/handlers"
	"fleettasks/models"
)

// chunkedPost is a POST sent chunked (no Content-Length) over a socket of
// its own: the body is head, then size bytes of 'a', then tail.
type chunkedPost struct {
	path, contentType string
	header            string // more header lines, each ending in \r\n
	head, tail        string
	size              int
}

// chunkedAnswer is what came back and how much of the body was sent
// before the server answered and closed the connection.
type chunkedAnswer struct {
	status int
	close  bool // Connection: close
	sent   int
	body   string
}

// A body sent chunked (no Content-Length) is held to the route's cap while
// it is read: a 64 MB chunked POST to the sign-in page (no account needed)
// and to a JSON API call is refused 413 after the cap, with the connection
// closed, long before the client could send it all; so is a multipart
// body whose one part (a field nobody reads, skipped while the next part
// is looked for) runs past the cap of an upload or an import, read as a
// stream by its handler. Small chunked bodies still work.
func TestChunkedBodiesCapped(t *testing.T) {
	s := newTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.App.Listener(ln)
	token := s.As.Token
	send := func(p chunkedPost) chunkedAnswer {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		head := "POST " + p.path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: " + p.contentType + "\r\n" + p.header
		if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
			t.Fatal(err)
		}
		var a chunkedAnswer
		done := make(chan struct{})
		go func() {
			defer close(done)
			write := func(chunk string) bool {
				if chunk == "" {
					return true
				}
				conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return false // the server closed the connection
				}
				a.sent += len(chunk)
				return true
			}
			if !write(p.head) {
				return
			}
			chunk := strings.Repeat("a", 64<<10)
			for n := 0; n < p.size; n += len(chunk) {
				if !write(chunk) {
					return
				}
			}
			if write(p.tail) {
				io.WriteString(conn, "0\r\n\r\n")
			}
		}()
		conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		<-done
		a.status, a.close, a.body = resp.StatusCode, resp.Close, string(b)
		return a
	}
	bearer := "Authorization: Bearer " + token + "\r\n"
	for _, c := range []struct{ path, ctype, header string }{
		{"/login", "application/x-www-form-urlencoded", ""},
		{"/api/v1/products", "application/json", bearer},
	} {
		a := send(chunkedPost{path: c.path, contentType: c.ctype, header: c.header, size: 64 << 20})
		if a.status != http.StatusRequestEntityTooLarge || a.sent >= 32<<20 {
			t.Errorf("%s: a 64 MB chunked body: %d after %d MB sent: %s", c.path, a.status, a.sent>>20, a.body)
		}
	}
	// within the cap, chunked is fine (here: a product too short a key, answered on its merits)
	if a := send(chunkedPost{path: "/api/v1/products", contentType: "application/json", header: bearer}); a.status == http.StatusRequestEntityTooLarge {
		t.Errorf("an empty chunked body refused: %d %s", a.status, a.body)
	}

	// multipart, read as a stream by the handler: a part that never ends
	// runs past the route's cap (the upload's 1001 MB, the import's 17 MB)
	const multipart = "multipart/form-data; boundary=XyZ"
	junk := "--XyZ\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\n"
	console := "Cookie: fleettasks_session=" + s.As.Session + "; fleettasks_csrf=" + s.As.CSRF + "\r\nX-Csrf-Token: " + s.As.CSRF + "\r\n"
	for _, c := range []struct {
		path, header string
		cap          int
	}{
		{"/devices/import", console, models.MaxImportBytes + 1<<20},
		{"/api/v1/files?kind=firmware", bearer, handlers.MaxUpload},
	} {
		size := c.cap + c.cap/2
		a := send(chunkedPost{path: c.path, contentType: multipart, header: c.header, head: junk, size: size})
		if a.status != http.StatusRequestEntityTooLarge || !a.close || a.sent >= c.cap+32<<20 ||
			!strings.Contains(a.body, "at most "+strconv.Itoa(c.cap)) {
			t.Errorf("%s: a chunked multipart body of %d MB, cap %d MB: %d (close %t) after %d MB sent: %.300s",
				c.path, size>>20, c.cap>>20, a.status, a.close, a.sent>>20, a.body)
		}
	}
	// a small chunked upload is stored
	rule := "--XyZ\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nrule\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.json\"\r\nContent-Type: application/json\r\n\r\n" +
		`{"version": "2.1"}` + "\r\n--XyZ--\r\n"
	if a := send(chunkedPost{path: "/api/v1/files", contentType: multipart, header: bearer, head: rule}); a.status != http.StatusCreated || a.close {
		t.Errorf("a small chunked upload: %d (close %t) %s", a.status, a.close, a.body)
	}
}
