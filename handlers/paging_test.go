package handlers_test

import (
	"net/http"
	"strings"
	"testing"
)

// A page number too large for any offset is a 400 naming the field, in
// the API and in the console, not page 1.
func TestHugePageRefused(t *testing.T) {
	s := newTestServer(t)
	for _, n := range []string{"9223372036854775807", "1000001", "0", "-1", "x"} {
		if status, body := s.do(http.MethodGet, "/api/v1/tasks?page="+n, nil, nil); status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"page"`) {
			t.Errorf("API page=%s: %d %s", n, status, body)
		}
		if resp, _ := s.page("GET", "/tasks?page="+n, nil, false); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("console page=%s: %d", n, resp.StatusCode)
		}
	}
	if status, body := s.do(http.MethodGet, "/api/v1/tasks?page=1000000", nil, nil); status != http.StatusOK {
		t.Errorf("the last page allowed: %d %s", status, body)
	}
}
