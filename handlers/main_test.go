package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"fleettasks/config"
	"fleettasks/handlers"
	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// testServer is a full app on this test's own database and data directory.
// Its requests are sent as As (an admin unless a test changes it); its
// accounts service runs on clock.
type testServer struct {
	App   *fiber.App
	Deps  handlers.Deps
	As    *creds
	t     *testing.T
	clock *testenv.Clock
}

// creds are a user's ways in: a console session, an API token and a CSRF
// token (the csrf cookie and header of the console's forms).
type creds struct {
	User    *models.User
	Session string
	Token   string
	CSRF    string
}

// newTestServer builds a test server; opts configure its file service.
func newTestServer(t *testing.T, opts ...models.FilesOption) *testServer {
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
	files := models.NewFiles(db, cfg.DataDir, cfg.Secret, cfg.PublicURL, opts...)
	clock := &testenv.Clock{}
	acc := models.NewAccounts(db, models.WithAccountClock(clock.Now), models.WithPasswordCost(bcrypt.MinCost))
	d := handlers.Deps{
		Config:   cfg,
		DB:       db,
		Registry: models.NewRegistry(db, models.WithDeviceSecretKey(cfg.Secret)),
		Files:    files,
		Tasks:    models.NewTasks(db, files),
		Accounts: acc,
		Audit:    models.NewAudit(db),
	}
	s := &testServer{App: handlers.New(d), Deps: d, t: t, clock: clock}
	s.As = s.user(models.RoleAdmin)
	return s
}

const testPassword = "correct horse battery"

// user creates a user of role (role@example.com, or a numbered address
// when taken) and signs it in: a session, an API token, a CSRF token.
func (s *testServer) user(role models.Role) *creds {
	s.t.Helper()
	ctx := context.Background()
	email := string(role) + "@example.com"
	for i := 2; ; i++ {
		if _, err := s.Deps.Accounts.UserByEmail(ctx, email); models.IsNotFound(err) {
			break
		}
		email = fmt.Sprintf("%s%d@example.com", role, i)
	}
	u, err := s.Deps.Accounts.CreateUser(ctx, models.UserInput{Email: email, Role: string(role), Password: testPassword})
	if err != nil {
		s.t.Fatal(err)
	}
	session, _, err := s.Deps.Accounts.Login(ctx, email, testPassword, "192.0.2.1")
	if err != nil {
		s.t.Fatal(err)
	}
	token, _, err := s.Deps.Accounts.CreateToken(ctx, u.ID, "tests")
	if err != nil {
		s.t.Fatal(err)
	}
	return &creds{User: u, Session: session, Token: token, CSRF: s.sessionCSRF(session)}
}

// sessionCSRF is the CSRF token the console's pages hand session.
func (s *testServer) sessionCSRF(session string) string {
	s.t.Helper()
	req := httptest.NewRequest("GET", "/products", nil)
	req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: session})
	resp, err := s.App.Test(req, 30_000)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	token := doc.Find(`meta[name="csrf-token"]`).AttrOr("content", "")
	if token == "" {
		s.t.Fatalf("GET /products (%d) has no CSRF token", resp.StatusCode)
	}
	return token
}

// signInToken is what the sign-in page hands an anonymous browser: the
// cookie binding its form and the form's CSRF token.
func (s *testServer) signInToken() (cookie, token string) {
	s.t.Helper()
	resp, err := s.App.Test(httptest.NewRequest("GET", "/login", nil), 30_000)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "fleettasks_csrf" && c.Value != "" {
			cookie = c.Value
		}
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	token = doc.Find(`input[name="_csrf"]`).AttrOr("value", "")
	if cookie == "" || token == "" {
		s.t.Fatalf("GET /login: cookie %q, form token %q", cookie, token)
	}
	return cookie, token
}

// sign adds cr's credentials to req: the API token for /api/, else the
// session and CSRF cookies and, for a change, the X-Csrf-Token header.
// Credentials the test set itself are kept.
func (cr *creds) sign(req *http.Request) {
	if cr == nil {
		return
	}
	if strings.HasPrefix(req.URL.Path, "/api/") {
		if req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", "Bearer "+cr.Token)
		}
		return
	}
	if req.Header.Get("Cookie") == "" {
		req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: cr.Session})
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead && req.Header.Get("X-Csrf-Token") == "" {
		req.Header.Set("X-Csrf-Token", cr.CSRF)
	}
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

// test runs req through the app, signed as s.As.
func (s *testServer) test(req *http.Request) (*http.Response, error) {
	s.As.sign(req)
	return s.App.Test(req, 120_000)
}

// send runs req through the app, signed as s.As, with a generous timeout.
func (s *testServer) send(req *http.Request, out any) (int, []byte) {
	s.t.Helper()
	s.As.sign(req)
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
