package handlers_test

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// /metrics keeps answering after requests of every method and status on
// kept-alive connections: the labels are copies, not views of buffers that
// later requests overwrite (which made duplicate series and a 500), and a
// method outside the standard ones cannot add series of its own.
func TestMetricsAfterMixedRequests(t *testing.T) {
	s := newTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.App.Listener(ln)
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}} // one connection, reused
	for i := 0; i < 30; i++ {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "BREW", "G"} {
			for _, path := range []string{"/login", "/api/v1/tasks", "/nope", "/healthz"} {
				req, _ := http.NewRequest(m, base+path, strings.NewReader("x=1"))
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	allowed := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true, "other": true}
	for _, m := range regexp.MustCompile(`fleettasks_http_requests_total\{method="([^"]*)"`).FindAllStringSubmatch(string(body), -1) {
		if !allowed[m[1]] {
			t.Errorf("method label %q", m[1])
		}
	}
	if !strings.Contains(string(body), `method="other"`) {
		t.Error("methods outside the standard ones (TRACE, CONNECT) are not counted as other")
	}
}
