package handlers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"fleettasks/config"
	"fleettasks/handlers"
	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// testServer is a full app on this test's own database and data directory.
type testServer struct {
	App  *fiber.App
	Deps handlers.Deps
	t    *testing.T
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	t.Parallel()
	db := testenv.DB(t)
	cfg, err := config.Load(testenv.Env(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	files := models.NewFiles(db, cfg.DataDir, cfg.Secret, cfg.PublicURL)
	d := handlers.Deps{
		Config:   cfg,
		DB:       db,
		Registry: models.NewRegistry(db),
		Files:    files,
		Tasks:    models.NewTasks(db, files),
	}
	return &testServer{App: handlers.New(d), Deps: d, t: t}
}

// do sends a request with an optional JSON body and returns the status and
// the body; out, when not nil, receives the decoded JSON.
func (s *testServer) do(method, path string, body any, out any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			r = bytes.NewBufferString(b)
		case []byte:
			r = bytes.NewReader(b)
		default:
			raw, err := json.Marshal(body)
			if err != nil {
				s.t.Fatal(err)
			}
			r = bytes.NewReader(raw)
		}
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.send(req, out)
}

// send runs req through the app with a generous timeout.
func (s *testServer) send(req *http.Request, out any) (int, []byte) {
	s.t.Helper()
	resp, err := s.App.Test(req, 120_000)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", req.Method, req.URL, raw, err)
		}
	}
	return resp.StatusCode, raw
}

// apiErr is the API error shape, for assertions.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}
