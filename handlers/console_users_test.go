package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// as runs f with the console requests sent as cr.
func (s *testServer) as(cr *creds, f func()) {
	s.t.Helper()
	prev := s.As
	s.As = cr
	defer func() { s.As = prev }()
	f()
}

// bearer sends GET /api/v1/me with secret and returns the status and the
// user's email.
func (s *testServer) bearer(secret string) (int, string) {
	s.t.Helper()
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	var me struct {
		Email string `json:"email"`
	}
	code, _ := s.send(req, &me)
	return code, me.Email
}

func userPath(u *models.User) string { return "/users/" + u.ID.String() }

func TestConsoleUsersCreate(t *testing.T) {
	s := newTestServer(t)
	resp, doc := s.page("GET", "/users", nil, false)
	if resp.StatusCode != 200 || testid(doc, "user-create").Length() != 1 {
		t.Fatalf("GET /users: %d", resp.StatusCode)
	}
	row := doc.Find(`[data-testid="user-row"][data-user="` + s.As.User.Email + `"]`)
	if row.Length() != 1 || row.Find(`a[href="`+userPath(s.As.User)+`"]`).Length() != 1 ||
		testid(doc, "user-status").First().AttrOr("data-status", "") != "enabled" || !strings.Contains(row.Text(), "admin") {
		t.Fatalf("admin row: %q", row.Text())
	}
	if doc.Find(`#user-create input[name="_csrf"]`).AttrOr("value", "") == "" {
		t.Fatal("the create form has no CSRF field")
	}

	resp, _ = s.page("POST", "/users", url.Values{"email": {" New.Op@Example.com "}, "role": {"operator"}, "password": {"0123456789"}}, false)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/users/") || !strings.Contains(flash(resp), "ok|") {
		t.Fatalf("create: %d %s %q", resp.StatusCode, resp.Header.Get("Location"), flash(resp))
	}
	u, err := s.Deps.Accounts.UserByEmail(context.Background(), "new.op@example.com")
	if err != nil || u.Role != models.RoleOperator || resp.Header.Get("Location") != userPath(u) {
		t.Fatalf("created user %+v, %v", u, err)
	}
	_, doc = s.page("GET", "/users", nil, false)
	if testid(doc, "user-row").Length() != 2 {
		t.Fatalf("%d rows after create", testid(doc, "user-row").Length())
	}

	cases := []struct {
		name  string
		form  url.Values
		hx    bool
		errID string
		want  string
	}{
		{"taken", url.Values{"email": {"new.op@example.com"}, "role": {"support"}, "password": {"0123456789"}}, true, "user-email-error", "already exists"},
		{"short password", url.Values{"email": {"short@example.com"}, "role": {"support"}, "password": {"123456789"}}, true, "user-password-error", "at least 10 characters"},
		{"bad role", url.Values{"email": {"root@example.com"}, "role": {"root"}, "password": {"0123456789"}}, false, "user-role-error", "must be admin, operator or support"},
		{"bad email", url.Values{"email": {"not-an-address"}, "role": {"support"}, "password": {"0123456789"}}, false, "user-email-error", "not an email address"},
	}
	for _, tc := range cases {
		resp, doc := s.page("POST", "/users", tc.form, tc.hx)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testid(doc, "error-"+tc.errID).Text(), tc.want) {
			t.Errorf("%s: %d %q", tc.name, resp.StatusCode, doc.Find("#user-create").Text())
			continue
		}
		if got := doc.Find("#user-email").AttrOr("value", "?"); got != tc.form.Get("email") {
			t.Errorf("%s: email kept as %q", tc.name, got)
		}
		if got := doc.Find("#user-password").AttrOr("value", "?"); got != "" {
			t.Errorf("%s: the password is echoed back: %q", tc.name, got)
		}
		if ids := doc.Find("#"+strings.TrimSuffix(tc.errID, "-error")).AttrOr("aria-describedby", ""); !strings.Contains(ids, tc.errID) {
			t.Errorf("%s: the field is not described by its error (%q)", tc.name, ids)
		}
		if tc.hx != (doc.Find(`nav[aria-label="Main"]`).Length() == 0) {
			t.Errorf("%s: htmx %v answered with the full page %v", tc.name, tc.hx, !tc.hx)
		}
		if !tc.hx && testid(doc, "user-row").Length() != 2 {
			t.Errorf("%s: the full page has no user list", tc.name)
		}
	}
	// the role kept, and no admin chosen by default for a bad one
	_, doc = s.page("POST", "/users", url.Values{"email": {"x@example.com"}, "role": {"operator"}, "password": {"1"}}, true)
	if v := doc.Find("#user-role option[selected]").AttrOr("value", ""); v != "operator" {
		t.Errorf("role kept as %q", v)
	}
	_, doc = s.page("POST", "/users", url.Values{"email": {"x@example.com"}, "role": {"root"}, "password": {"1"}}, true)
	if v := doc.Find("#user-role option[selected]").AttrOr("value", ""); v != "support" {
		t.Errorf("a bad role selects %q", v)
	}

	// only admins
	op := s.user(models.RoleOperator)
	s.as(op, func() {
		if resp, _ := s.page("GET", "/users", nil, false); resp.StatusCode != http.StatusForbidden {
			t.Errorf("an operator gets the user list: %d", resp.StatusCode)
		}
		if resp, _ := s.page("POST", "/users", url.Values{"email": {"y@example.com"}, "role": {"admin"}, "password": {"0123456789"}}, false); resp.StatusCode != http.StatusForbidden {
			t.Errorf("an operator creates a user: %d", resp.StatusCode)
		}
	})
}

func TestConsoleUsersRoleAndDisable(t *testing.T) {
	s := newTestServer(t)
	op := s.user(models.RoleOperator)
	path := userPath(op.User)
	resp, doc := s.page("GET", path, nil, false)
	if resp.StatusCode != 200 || testid(doc, "user-email").Text() != op.User.Email ||
		doc.Find("#role option[selected]").AttrOr("value", "") != "operator" {
		t.Fatalf("user page: %d", resp.StatusCode)
	}
	dlg := testid(doc, "disable-dialog")
	if testid(doc, "disable-user").AttrOr("data-open-dialog", "") != "disable-dialog" || dlg.Length() != 1 ||
		!strings.Contains(dlg.Text(), "signed out") || !strings.Contains(dlg.Text(), "API tokens stop working") ||
		dlg.Find(`input[name="_csrf"]`).Length() != 1 {
		t.Fatalf("disable dialog: %q", dlg.Text())
	}

	resp, _ = s.page("POST", path, url.Values{"role": {"support"}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path || !strings.Contains(flash(resp), "from operator to support") {
		t.Fatalf("change role: %d %q", resp.StatusCode, flash(resp))
	}
	if u, _ := s.Deps.Accounts.GetUser(context.Background(), op.User.ID); u.Role != models.RoleSupport {
		t.Fatalf("role %s after the change", u.Role)
	}
	resp, doc = s.page("POST", path, url.Values{"role": {"root"}}, false)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testid(doc, "error-role-error").Text(), "must be admin, operator or support") {
		t.Fatalf("bad role: %d", resp.StatusCode)
	}

	// the user still works before being disabled
	s.as(op, func() {
		if resp, _ := s.page("GET", "/tasks", nil, false); resp.StatusCode != 200 {
			t.Fatalf("the user's session before: %d", resp.StatusCode)
		}
	})
	resp, _ = s.page("POST", path, url.Values{"disabled": {"true"}}, false)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(flash(resp), "Disabled") {
		t.Fatalf("disable: %d %q", resp.StatusCode, flash(resp))
	}
	s.as(op, func() {
		resp, _ := s.page("GET", "/tasks", nil, false)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Fatalf("the disabled user's session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	if code, _ := s.bearer(op.Token); code != http.StatusUnauthorized {
		t.Fatalf("the disabled user's API token: %d", code)
	}
	_, doc = s.page("GET", path, nil, false)
	if testid(doc, "user-status").AttrOr("data-status", "") != "disabled" || testid(doc, "enable-user").Length() != 1 || testid(doc, "disable-dialog").Length() != 0 {
		t.Fatal("the page of a disabled user")
	}
	resp, _ = s.page("POST", path, url.Values{"disabled": {"false"}}, false)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(flash(resp), "Enabled") {
		t.Fatalf("enable: %d %q", resp.StatusCode, flash(resp))
	}
	if code, email := s.bearer(op.Token); code != 200 || email != op.User.Email {
		t.Fatalf("the enabled user's API token: %d %q", code, email)
	}
	if resp, _ := s.page("POST", "/users/999999999", url.Values{"role": {"admin"}}, false); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown user: %d", resp.StatusCode)
	}
}

func TestConsoleUsersLastAdmin(t *testing.T) {
	s := newTestServer(t)
	path := userPath(s.As.User)
	for _, form := range []url.Values{{"role": {"operator"}}, {"disabled": {"true"}}} {
		resp, doc := s.page("POST", path, form, false)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(testid(doc, "user-error").Text(), "last enabled admin") {
			t.Fatalf("%v: %d %q", form, resp.StatusCode, testid(doc, "user-error").Text())
		}
		if testid(doc, "user-email").Text() != s.As.User.Email {
			t.Fatalf("%v: the user's page is not shown", form)
		}
	}
	u, _ := s.Deps.Accounts.GetUser(context.Background(), s.As.User.ID)
	if u.Role != models.RoleAdmin || u.Disabled {
		t.Fatalf("the last admin is now %s, disabled %v", u.Role, u.Disabled)
	}
	// refusals are not in the audit log
	_, doc := s.page("GET", "/audit?action=user.update", nil, false)
	if testid(doc, "audit-row").Length() != 0 || testid(doc, "empty-state").Length() != 1 {
		t.Fatalf("refused updates are audited: %q", testid(doc, "audit-table").Text())
	}
	// with a second admin, the first can step down
	s.user(models.RoleAdmin)
	resp, _ := s.page("POST", path, url.Values{"role": {"operator"}}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("demotion with another admin: %d", resp.StatusCode)
	}
}

func TestConsoleUsersPassword(t *testing.T) {
	s := newTestServer(t)
	sup := s.user(models.RoleSupport)
	path := userPath(sup.User)
	resp, doc := s.page("POST", path+"/password", url.Values{"password": {"short"}}, false)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testid(doc, "error-new-password-error").Text(), "at least 10 characters") ||
		doc.Find("#new-password").AttrOr("value", "?") != "" {
		t.Fatalf("short password: %d", resp.StatusCode)
	}
	resp, _ = s.page("POST", path+"/password", url.Values{"password": {"a brand new secret"}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path || !strings.Contains(flash(resp), "new password") {
		t.Fatalf("set password: %d %q", resp.StatusCode, flash(resp))
	}
	ctx := context.Background()
	if _, _, err := s.Deps.Accounts.Login(ctx, sup.User.Email, testPassword, "192.0.2.9"); err == nil {
		t.Fatal("the old password still signs in")
	}
	if _, _, err := s.Deps.Accounts.Login(ctx, sup.User.Email, "a brand new secret", "192.0.2.9"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	s.as(sup, func() {
		if resp, _ := s.page("GET", "/tasks", nil, false); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the old session after a new password: %d", resp.StatusCode)
		}
	})
	_, doc = s.page("GET", "/audit?action=user.reset_password", nil, false)
	row := testid(doc, "audit-row")
	if row.Length() != 1 || testid(doc, "audit-target").Text() != "user:"+sup.User.ID.String() ||
		!strings.Contains(row.Text(), "password: (old) → (new)") || strings.Contains(doc.Text(), "a brand new secret") {
		t.Fatalf("audit of the reset: %q", row.Text())
	}
}

func TestConsoleUsersToken(t *testing.T) {
	s := newTestServer(t)
	op := s.user(models.RoleOperator)
	path := userPath(op.User)
	resp, doc := s.page("POST", path+"/tokens", url.Values{"name": {strings.Repeat("n", 129)}}, false)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testid(doc, "error-token-name-error").Text(), "at most 128") ||
		doc.Find("#token-name").AttrOr("value", "") != strings.Repeat("n", 129) || testid(doc, "token-secret").Length() != 0 {
		t.Fatalf("long name: %d", resp.StatusCode)
	}

	resp, doc = s.page("POST", path+"/tokens", url.Values{"name": {"CI deploys"}}, false)
	box := testid(doc, "token-secret")
	secret := strings.TrimSpace(testid(doc, "token-secret-value").Text())
	if resp.StatusCode != http.StatusCreated || box.Length() != 1 || !strings.Contains(box.Text(), "Copy it now; it is not shown again") ||
		!strings.HasPrefix(secret, models.TokenPrefix) || len(secret) < 40 {
		t.Fatalf("create token: %d %q", resp.StatusCode, box.Text())
	}
	if resp.Header.Get("Location") != "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Location %q, Cache-Control %q", resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
	}
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Value, secret) {
			t.Fatalf("the secret is in the cookie %s", c.Name)
		}
	}
	row := doc.Find(`[data-testid="token-row"]`).FilterFunction(func(_ int, r *goquery.Selection) bool {
		return strings.Contains(r.Text(), "CI deploys")
	})
	tokenID := row.AttrOr("data-token", "")
	if row.Length() != 1 || !strings.Contains(row.Text(), secret[:12]) || tokenID == "" {
		t.Fatalf("token row: %q", testid(doc, "token-table").Text())
	}

	// shown once
	_, doc = s.page("GET", path, nil, false)
	if testid(doc, "token-secret").Length() != 0 || strings.Contains(doc.Text(), secret) {
		t.Fatal("the secret is shown again")
	}
	if code, email := s.bearer(secret); code != 200 || email != op.User.Email {
		t.Fatalf("GET /api/v1/me with the new token: %d %q", code, email)
	}

	// revoke, from the dialog
	dlg := doc.Find("#revoke-dialog-" + tokenID)
	if dlg.Length() != 1 || dlg.Find(`[data-testid="confirm-revoke"]`).Length() != 1 ||
		row.Find(`[data-open-dialog="revoke-dialog-`+tokenID+`"]`).Length() != 1 {
		t.Fatal("no revoke dialog")
	}
	form := url.Values{"user": {op.User.ID.String()}}
	resp, _ = s.page("POST", "/tokens/"+tokenID+"/revoke", form, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path || !strings.Contains(flash(resp), "Revoked the token “CI deploys”") {
		t.Fatalf("revoke: %d %s %q", resp.StatusCode, resp.Header.Get("Location"), flash(resp))
	}
	if code, _ := s.bearer(secret); code != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d", code)
	}
	if code, _ := s.bearer(op.Token); code != 200 {
		t.Fatalf("the user's other token: %d", code)
	}
	resp, doc = s.page("POST", "/tokens/"+tokenID+"/revoke", form, false)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(testid(doc, "user-error").Text(), "already revoked") {
		t.Fatalf("second revoke: %d", resp.StatusCode)
	}
	revoked := doc.Find(`[data-testid="token-row"][data-token="` + tokenID + `"]`)
	if revoked.Find(`[data-testid="token-revoked"]`).Length() != 1 || revoked.Find(`[data-testid="revoke-token"]`).Length() != 0 {
		t.Fatal("the revoked token still has a Revoke button")
	}

	// a disabled user gets no token: said on the page
	if _, _, err := s.Deps.Accounts.UpdateUser(context.Background(), op.User.ID, models.UserPatch{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	resp, doc = s.page("POST", path+"/tokens", url.Values{"name": {"later"}}, false)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(testid(doc, "user-error").Text(), "is disabled") || testid(doc, "token-secret").Length() != 0 {
		t.Fatalf("token of a disabled user: %d", resp.StatusCode)
	}

	_, doc = s.page("GET", "/audit?target=token:", nil, false)
	actions := testid(doc, "audit-action-name").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if strings.Join(actions, ",") != "token.revoke,token.create" || strings.Contains(doc.Text(), secret) {
		t.Fatalf("token audit: %v", actions)
	}
}

func ptr[T any](v T) *T { return &v }

func TestConsoleAuditPage(t *testing.T) {
	s := newTestServer(t)
	resp, doc := s.page("GET", "/audit", nil, false)
	if resp.StatusCode != 200 || testid(doc, "empty-state").Length() != 1 || !strings.Contains(testid(doc, "empty-state").Text(), "No entries match these filters") {
		t.Fatalf("empty audit log: %d", resp.StatusCode)
	}
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		resp, _ := s.page("POST", "/users", url.Values{"email": {email}, "role": {"operator"}, "password": {"0123456789"}}, false)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create %s: %d", email, resp.StatusCode)
		}
	}
	bob, _ := s.Deps.Accounts.UserByEmail(context.Background(), "bob@example.com")
	if resp, _ := s.page("POST", userPath(bob), url.Values{"role": {"support"}}, false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", resp.StatusCode)
	}
	op := s.user(models.RoleOperator)
	s.as(op, func() {
		if resp, _ := s.page("GET", "/audit", nil, false); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("an operator reads the audit log: %d", resp.StatusCode)
		}
		if resp, _ := s.page("POST", "/products", url.Values{"productKey": {testenv.Prefix(t)}}, false); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("operator creates a product: %d", resp.StatusCode)
		}
	})

	_, doc = s.page("GET", "/audit", nil, false)
	rows := testid(doc, "audit-row")
	if rows.Length() != 4 || rows.First().AttrOr("data-action", "") != "product.create" {
		t.Fatalf("%d rows, first %q", rows.Length(), rows.First().AttrOr("data-action", ""))
	}
	if doc.Find(`table[data-testid="audit-table"] th[scope="col"]`).Length() != 8 {
		t.Fatal("audit table headers")
	}
	upd := doc.Find(`[data-testid="audit-row"][data-action="user.update"]`)
	for _, want := range []string{s.As.User.Email, "admin", "user:" + bob.ID.String(), "role: operator → support", "UTC"} {
		if !strings.Contains(upd.Text(), want) {
			t.Errorf("the user.update row %q lacks %q", upd.Text(), want)
		}
	}
	created := doc.Find(`[data-testid="audit-row"][data-action="user.create"]`).First()
	if !strings.Contains(created.Text(), "email: — → bob@example.com") || !strings.Contains(created.Text(), "role: — → operator") {
		t.Errorf("the user.create row: %q", created.Text())
	}

	check := func(query string, want ...string) {
		t.Helper()
		resp, doc := s.page("GET", "/audit?"+query, nil, false)
		got := testid(doc, "audit-action-name").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		if resp.StatusCode != 200 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %d %v, want %v", query, resp.StatusCode, got, want)
		}
	}
	check("action=user.create", "user.create", "user.create")
	check("action=user.", "user.update", "user.create", "user.create")
	check("action=task.delete")
	check("user="+url.QueryEscape(strings.ToUpper(op.User.Email[:5])), "product.create")
	check("user=admin&action=user.update", "user.update")
	check("target=user:"+bob.ID.String(), "user.update", "user.create")
	check("from=2000-01-01T00:00&to=2999-01-01T00:00:00&action=product.create", "product.create")
	check("to=2000-01-01T00:00")

	_, doc = s.page("GET", "/audit?action=user.", nil, false)
	if doc.Find(`#audit-action option[selected]`).AttrOr("value", "") != "user." {
		t.Error("the action filter is not kept")
	}
	_, doc = s.page("GET", "/audit?action=nothing.like.this", nil, false)
	if doc.Find(`#audit-action option[selected]`).AttrOr("value", "") != "nothing.like.this" ||
		!strings.Contains(testid(doc, "empty-state").Text(), "No entries match these filters") {
		t.Error("an unknown action")
	}

	// pages keep the filters
	_, doc = s.page("GET", "/audit?action=user.&pageSize=1", nil, false)
	next := testid(doc, "audit-next").AttrOr("href", "")
	if testid(doc, "audit-row").Length() != 1 || !strings.Contains(next, "action=user.") || !strings.Contains(next, "pageSize=1") || !strings.Contains(next, "page=2") {
		t.Fatalf("next page %q", next)
	}
	_, doc = s.page("GET", next, nil, false)
	if testid(doc, "audit-row").AttrOr("data-action", "") != "user.create" || testid(doc, "audit-prev").Length() != 1 {
		t.Fatal("second page")
	}

	// bad filters: beside the field, with the input kept
	resp, doc = s.page("GET", "/audit?from=yesterday&user=ann", nil, false)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testid(doc, "error-audit-from-error").Text(), "not a date and time") ||
		doc.Find("#audit-from").AttrOr("value", "") != "yesterday" || doc.Find("#audit-user").AttrOr("value", "") != "ann" ||
		testid(doc, "audit-row").Length() != 0 {
		t.Fatalf("bad from: %d", resp.StatusCode)
	}
	resp, doc = s.page("GET", "/audit?from=2025-02-01T00:00&to=2025-01-01T00:00", nil, false)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testid(doc, "error-audit-to-error").Text(), "after") {
		t.Fatalf("to before from: %d", resp.StatusCode)
	}
	if resp, _ := s.page("GET", "/audit?page=0", nil, false); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("page=0: %d", resp.StatusCode)
	}
}
