package handlers_test

import "testing"

// The console's pages for a signed-in user are never cached.
func TestSignedInPagesNotCached(t *testing.T) {
	s := newTestServer(t)
	for _, path := range []string{"/tasks", "/devices", "/files"} {
		resp, _ := s.page("GET", path, nil, false)
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
	}
}
