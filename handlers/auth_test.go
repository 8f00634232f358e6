package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/handlers"
	"fleettasks/models"
)

// signInForm posts the sign-in form as a browser with a CSRF cookie does.
func (s *testServer) signInForm(email, password, next string) *http.Response {
	s.t.Helper()
	cookie, csrf := s.signInToken()
	form := url.Values{"email": {email}, "password": {password}, "next": {next}, "_csrf": {csrf}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "fleettasks_csrf", Value: cookie})
	resp, err := s.App.Test(req, 30_000)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp
}

func sessionOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "fleettasks_session" && c.Value != "" {
			return c
		}
	}
	return nil
}

// TestSignIn: the form opens a session in an HttpOnly, SameSite=Lax
// cookie and goes where the user was going (never off-site); sign-out ends
// the session for good.
func TestSignIn(t *testing.T) {
	s := newTestServer(t)
	admin := s.As
	s.As = nil
	resp := s.signInForm(admin.User.Email, testPassword, "/devices?q=x")
	c := sessionOf(resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/devices?q=x" || c == nil {
		t.Fatalf("sign in: %d %s cookie %v", resp.StatusCode, resp.Header.Get("Location"), c)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
		t.Errorf("session cookie over http: %+v", c)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`} {
		loc := s.signInForm(admin.User.Email, testPassword, next).Header.Get("Location")
		if u, err := url.Parse(loc); err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, `\`) {
			t.Errorf("next %q leads off-site to %q", next, loc)
		}
	}
	resp = s.signInForm(admin.User.Email, "wrong password!", "")
	if resp.StatusCode != http.StatusUnauthorized || sessionOf(resp) != nil || !strings.Contains(readAll(resp), "email or password is wrong") {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	// over HTTPS (per a trusted proxy's X-Forwarded-Proto) the cookie is
	// Secure; the header of anyone else is ignored
	httpsSignIn := func(app *fiber.App) *http.Cookie {
		cookie, csrf := s.signInToken()
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {admin.User.Email}, "password": {testPassword}, "_csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		req.Header.Set("Referer", "https://example.com/login")
		req.Host = "example.com"
		req.AddCookie(&http.Cookie{Name: "fleettasks_csrf", Value: cookie})
		resp, err := app.Test(req, 30_000)
		if err != nil {
			t.Fatal(err)
		}
		return sessionOf(resp)
	}
	if c := httpsSignIn(s.App); c == nil || c.Secure {
		t.Errorf("X-Forwarded-Proto from an untrusted address made the cookie %+v", c)
	}
	cfg := *s.Deps.Config
	cfg.TrustedProxies = []string{"0.0.0.0/0"}
	d := s.Deps
	d.Config = &cfg
	c = httpsSignIn(handlers.New(d))
	if c == nil || !c.Secure {
		t.Fatalf("session cookie behind an HTTPS proxy: %+v", c)
	}
	var l models.List[models.AuditEntry]
	s.As = admin
	s.do("GET", "/api/v1/audit?action=auth.login", nil, &l)
	s.As = nil
	if len(l.Items) < 2 || l.Items[0].SourceIP != "198.51.100.7" || l.Items[1].SourceIP == "198.51.100.7" {
		t.Errorf("source addresses: %+v", l.Items)
	}

	// sign out: the session no longer opens anything
	user := &creds{User: admin.User, Session: c.Value, CSRF: s.sessionCSRF(c.Value)}
	s.As = user
	if resp, _ := s.page("POST", "/logout", url.Values{}, false); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("sign out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := s.page("GET", "/tasks", nil, false); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out: %d", resp.StatusCode)
	}
}

// TestSessionExpiry: a session ends after 30 idle minutes and 12 hours
// after sign-in however busy; the user is sent to sign in again.
func TestSessionExpiry(t *testing.T) {
	s := newTestServer(t)
	s.As = s.user(models.RoleOperator)
	open := func() bool {
		resp, _ := s.page("GET", "/tasks", nil, false)
		return resp.StatusCode == http.StatusOK
	}
	s.clock.Add(29 * time.Minute)
	if !open() {
		t.Fatal("a session used after 29 minutes has expired")
	}
	s.clock.Add(29 * time.Minute) // 58 minutes after sign-in, 29 after last use
	if !open() {
		t.Fatal("idle time is counted from sign-in, not from the last use")
	}
	s.clock.Add(31 * time.Minute)
	resp, _ := s.page("GET", "/tasks", nil, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Ftasks" {
		t.Fatalf("after 31 idle minutes: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := sessionOf(resp); c != nil {
		t.Error("the expired session's cookie was not cleared")
	}

	// absolute: busy all day, still ends at 12 hours
	s.As = s.user(models.RoleOperator)
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		s.clock.Add(20 * time.Minute)
		if !open() {
			t.Fatalf("a busy session ended after %s", elapsed+20*time.Minute)
		}
	}
	s.clock.Add(20 * time.Minute)
	if open() {
		t.Fatal("a session outlived its 12 hours")
	}
}

// TestLoginThrottle: five failures lock the account for 15 minutes (even
// for the right password), twenty from one address lock that address; the
// answer says how long to wait.
func TestLoginThrottle(t *testing.T) {
	s := newTestServer(t)
	victim := s.As.User.Email
	s.As = nil
	for i := 0; i < 5; i++ {
		if resp := s.signInForm(victim, "guess-"+string(rune('a'+i))+"-password", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := s.signInForm(victim, testPassword, "")
	body := readAll(resp)
	if resp.StatusCode != http.StatusTooManyRequests || sessionOf(resp) != nil || !strings.Contains(body, "too many failed sign-ins for this account; try again in 15 minutes") {
		t.Fatalf("sixth attempt with the right password: %d %s", resp.StatusCode, snippet([]byte(body)))
	}
	s.clock.Add(15*time.Minute + time.Second)
	if resp := s.signInForm(victim, testPassword, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 15 minutes: %d", resp.StatusCode)
	}

	// per address: failures spread over many accounts
	for i := 0; i < 20; i++ {
		s.signInForm("nobody"+string(rune('a'+i))+"@example.com", "whatever-password", "")
	}
	resp = s.signInForm(victim, testPassword, "")
	if body := readAll(resp); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "for your address") {
		t.Fatalf("after 20 failures from one address: %d %s", resp.StatusCode, snippet([]byte(body)))
	}
}

// TestTokens: a token works at once, carries its user's role, and stops
// at once when revoked or when the user is disabled.
func TestTokens(t *testing.T) {
	s := newTestServer(t)
	admin := s.As
	op := s.user(models.RoleOperator)
	s.As = op
	var me models.User
	if status, raw := s.do("GET", "/api/v1/me", nil, &me); status != 200 || me.Role != models.RoleOperator {
		t.Fatalf("me: %d %s", status, raw)
	}
	if status, _ := s.do("DELETE", "/api/v1/tasks/1", nil, nil); status != http.StatusForbidden {
		t.Fatalf("operator deletes a task: %d", status)
	}
	s.As = admin
	var created struct {
		Token string       `json:"token"`
		Info  models.Token `json:"info"`
	}
	if status, raw := s.do("POST", "/api/v1/users/"+op.User.ID.String()+"/tokens", map[string]string{"name": "deploy"}, &created); status != 201 || !strings.HasPrefix(created.Token, "ftk_") {
		t.Fatalf("create token: %d %s", status, raw)
	}
	var list struct{ Items []models.Token }
	s.do("GET", "/api/v1/users/"+op.User.ID.String()+"/tokens", nil, &list)
	raw, _ := json.Marshal(list)
	if len(list.Items) != 2 || strings.Contains(string(raw), created.Token) {
		t.Fatalf("token list: %s", raw)
	}
	fresh := &creds{Token: created.Token}
	s.As = fresh
	if status, _ := s.do("GET", "/api/v1/tasks", nil, nil); status != 200 {
		t.Fatalf("new token: %d", status)
	}
	s.As = admin
	if status, raw := s.do("DELETE", "/api/v1/tokens/"+created.Info.ID.String(), nil, nil); status != 200 {
		t.Fatalf("revoke: %d %s", status, raw)
	}
	s.As = fresh
	if status, _ := s.do("GET", "/api/v1/tasks", nil, nil); status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", status)
	}
	s.As = admin
	if status, _ := s.do("DELETE", "/api/v1/tokens/"+created.Info.ID.String(), nil, nil); status != http.StatusConflict {
		t.Fatalf("revoke twice: %d", status)
	}
	// disabling the user stops its other token and its session at once
	if status, raw := s.do("PATCH", "/api/v1/users/"+op.User.ID.String(), map[string]any{"disabled": true}, nil); status != 200 {
		t.Fatalf("disable: %d %s", status, raw)
	}
	s.As = op
	if status, _ := s.do("GET", "/api/v1/tasks", nil, nil); status != http.StatusUnauthorized {
		t.Fatalf("token of a disabled user: %d", status)
	}
	if resp, _ := s.page("GET", "/tasks", nil, false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("session of a disabled user: %d", resp.StatusCode)
	}
	s.As = admin
	// the last admin can be neither demoted nor disabled
	status, raw := s.do("PATCH", "/api/v1/users/"+admin.User.ID.String(), map[string]any{"role": "operator"}, nil)
	if status != http.StatusConflict || !strings.Contains(string(raw), "last enabled admin") {
		t.Fatalf("demote the last admin: %d %s", status, raw)
	}
}

// TestAuditTrail: each kind of change, through the API and the console,
// leaves one entry naming the actor, role, target, address, request id
// and, for edits, the fields before and after.
func TestAuditTrail(t *testing.T) {
	s := newTestServer(t)
	admin := s.As
	op := s.user(models.RoleOperator)
	task, devs := s.consoleTask("audited", 2)
	s.As = op
	if status, raw := s.do("PATCH", "/api/v1/tasks/"+task.ID.String(), map[string]any{"rolloutPerMinute": 42, "description": "new words"}, nil); status != 200 {
		t.Fatalf("patch: %d %s", status, raw)
	}
	if resp, _ := s.page("POST", "/tasks/"+task.ID.String()+"/cancel", url.Values{}, false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", resp.StatusCode)
	}
	var product models.Product
	s.do("POST", "/api/v1/products", map[string]string{"productKey": devs[0].ProductKey + "x"}, &product)
	resp, _ := s.page("POST", "/groups", url.Values{"name": {"audited-group"}, "kind": {"static"}}, false)
	group := strings.TrimPrefix(resp.Header.Get("Location"), "/groups/")
	s.page("POST", "/groups/"+group+"/rename", url.Values{"name": {"renamed-group"}}, false)
	s.As = admin
	file := s.upload("rule", "r.json", []byte(`{"a":1}`))
	s.do("DELETE", "/api/v1/files/"+file.ID.String(), nil, nil)
	s.do("POST", "/api/v1/tasks/"+task.ID.String()+"/cancel", nil, nil) // refused (409): no entry

	var l models.List[models.AuditEntry]
	if status, raw := s.do("GET", "/api/v1/audit?pageSize=200", nil, &l); status != 200 {
		t.Fatalf("audit: %d %s", status, raw)
	}
	find := func(action, target string) *models.AuditEntry {
		var found *models.AuditEntry
		for i, e := range l.Items {
			if e.Action == action && e.Target == target {
				if found != nil {
					t.Errorf("%s %s recorded twice", action, target)
				}
				found = &l.Items[i]
			}
		}
		if found == nil {
			t.Errorf("no audit entry %s %s in %+v", action, target, l.Items)
			return &models.AuditEntry{}
		}
		return found
	}
	tid := "task:" + task.ID.String()
	patch := find("task.update", tid)
	if patch.Email != op.User.Email || patch.Role != "operator" || patch.UserID == nil || *patch.UserID != op.User.ID ||
		patch.SourceIP == "" || patch.RequestID == "" || patch.At.IsZero() {
		t.Errorf("task.update entry: %+v", patch)
	}
	if ch := patch.Changes["rolloutPerMinute"]; ch.Before != float64(1000) && ch.Before != float64(task.RolloutPerMinute) || ch.After != float64(42) {
		t.Errorf("rolloutPerMinute change: %+v (task had %d)", ch, task.RolloutPerMinute)
	}
	if ch := patch.Changes["description"]; ch.After != "new words" {
		t.Errorf("description change: %+v", patch.Changes)
	}
	if e := find("task.cancel", tid); e.Email != op.User.Email {
		t.Errorf("cancel by %s", e.Email)
	}
	find("product.create", "product:"+product.ProductKey)
	find("group.create", "group:"+group)
	if ch := find("group.rename", "group:"+group).Changes["name"]; ch.Before != "audited-group" || ch.After != "renamed-group" {
		t.Errorf("rename change: %+v", ch)
	}
	if e := find("file.upload", "file:"+file.ID.String()); e.Email != admin.User.Email || e.Role != "admin" || e.Changes["name"].After != "r.json" {
		t.Errorf("upload entry: %+v", e)
	}
	find("file.delete", "file:"+file.ID.String())
	cancels := 0
	for _, e := range l.Items {
		if e.Action == "task.cancel" {
			cancels++
		}
	}
	if cancels != 1 {
		t.Errorf("%d task.cancel entries; a refused cancel must not be recorded", cancels)
	}

	// filters
	s.do("GET", "/api/v1/audit?action=group.&user="+url.QueryEscape("operator@"), nil, &l)
	if l.Total != 2 {
		t.Errorf("group.* by the operator: %d entries %+v", l.Total, l.Items)
	}
	s.do("GET", "/api/v1/audit?target="+tid, nil, &l)
	if l.Total != 2 {
		t.Errorf("entries of %s: %d", tid, l.Total)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	s.do("GET", "/api/v1/audit?from="+future, nil, &l)
	if l.Total != 0 {
		t.Errorf("entries from the future: %d", l.Total)
	}
	if status, raw := s.do("GET", "/api/v1/audit?from=yesterday", nil, nil); status != 400 || !strings.Contains(string(raw), `"field":"from"`) {
		t.Errorf("bad from: %d %s", status, raw)
	}

	// sign-in and its failures are on record too
	s.As = nil
	s.signInForm(op.User.Email, "not the password", "")
	s.signInForm(op.User.Email, testPassword, "")
	s.As = admin
	s.do("GET", "/api/v1/audit?action=auth.", nil, &l)
	var failed, ok bool
	for _, e := range l.Items {
		failed = failed || e.Action == "auth.login_failed" && e.Target == "email:"+op.User.Email && e.UserID == nil
		ok = ok || e.Action == "auth.login" && e.Email == op.User.Email && e.Role == "operator"
	}
	if !failed || !ok {
		t.Errorf("sign-in entries: %+v", l.Items)
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestRefusedConsoleActionNotAudited: a refusal answered with a flash and
// a redirect (cancel of a finished task) is not recorded as done.
func TestRefusedConsoleActionNotAudited(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("finished", 1)
	if _, err := s.Deps.Tasks.CancelTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	resp, _ := s.page("POST", "/tasks/"+task.ID.String()+"/cancel", url.Values{}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel again: %d", resp.StatusCode)
	}
	var l models.List[models.AuditEntry]
	s.do("GET", "/api/v1/audit?action=task.cancel", nil, &l)
	if l.Total != 0 {
		t.Fatalf("a refused cancel is in the audit log: %+v", l.Items)
	}
}

// TestBodyLimits: each route refuses a body over its limit (413) before
// reading it, signed in or not.
func TestBodyLimits(t *testing.T) {
	s := newTestServer(t)
	big := func(n int) string { return "x=" + strings.Repeat("a", n) }
	cases := []struct {
		path string
		size int
	}{
		{"/login", 70 << 10},
		{"/products", 70 << 10},
		{"/tasks/1/cancel", 70 << 10},
		{"/users", 70 << 10},
		{"/tasks/new", 17 << 20},
	}
	for _, c := range cases {
		req := httptest.NewRequest("POST", c.path, strings.NewReader(big(c.size)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body := s.fetch(req)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "takes at most") {
			t.Errorf("%s with %d bytes: %d %s", c.path, c.size, resp.StatusCode, snippet(body))
		}
	}
	req := httptest.NewRequest("POST", "/api/v1/users", strings.NewReader(`{"email":"`+strings.Repeat("a", 70<<10)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, body := s.fetch(req); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"code":"payload_too_large"`) {
		t.Errorf("API users: %d %s", resp.StatusCode, body)
	}
}
