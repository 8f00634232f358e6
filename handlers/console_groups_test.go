package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func TestConsoleStaticGroup(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 3)
	_, doc := s.page("GET", "/groups", nil, false)
	if testid(doc, "empty-state").Length() != 1 || testid(doc, "group-create").Length() != 1 {
		t.Fatal("empty group list")
	}
	resp, _ := s.page("POST", "/groups", url.Values{"name": {"kitchen"}, "kind": {"static"}, "query": {"ignored"}}, false)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/groups/") {
		t.Fatalf("create: %d %s", resp.StatusCode, loc)
	}
	for _, tc := range []struct{ name, form, errID, want string }{
		{"taken", "name=kitchen&kind=static", "group-name-error", "already exists"},
		{"no name", "name=&kind=static", "group-name-error", "is required"},
		{"bad kind", "name=x&kind=other", "group-kind-error", "not a group kind"},
		{"bad query", "name=x&kind=dynamic&query=deviceName+LIKE", "group-query-error", "at position 16"},
	} {
		form, _ := url.ParseQuery(tc.form)
		resp, frag := s.page("POST", "/groups", form, true)
		if resp.StatusCode != 422 || !strings.Contains(testid(frag, "error-"+tc.errID).Text(), tc.want) {
			t.Errorf("%s: %d %q", tc.name, resp.StatusCode, frag.Text())
		}
	}

	add := url.Values{"devices": {"productKey,deviceName\n" + pk + ",d1\n" + pk + ",d2\n"}}
	resp, _ = s.page("POST", loc+"/devices/add", add, false)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(flash(resp), "Added 2 devices") {
		t.Fatalf("add: %d %q", resp.StatusCode, flash(resp))
	}
	for _, bad := range []string{pk + ",nope", "just-one-field", ""} {
		resp, doc := s.page("POST", loc+"/devices/add", url.Values{"devices": {bad}}, false)
		if resp.StatusCode != 422 || testid(doc, "error-group-add-error").Length() != 1 || testid(doc, "group-devices").Text() != bad {
			t.Errorf("add %q: %d", bad, resp.StatusCode)
		}
	}
	_, doc = s.page("GET", loc, nil, false)
	if testid(doc, "member-row").Length() != 2 || testid(doc, "group-count").Text() != "2" {
		t.Fatalf("members: %q", testid(doc, "member-table").Text())
	}
	rm := testid(doc, "member-row").First().Find("input[name=devices]").AttrOr("value", "")
	resp, _ = s.page("POST", loc+"/devices/remove", url.Values{"devices": {rm}}, false)
	if !strings.Contains(flash(resp), "Removed 1 devices") {
		t.Fatalf("remove: %q", flash(resp))
	}
	_, doc = s.page("GET", "/groups", nil, false)
	if row := testid(doc, "group-row"); !strings.Contains(row.Text(), "1") || !strings.Contains(row.Text(), "Static") {
		t.Fatalf("list: %q", row.Text())
	}
}

func TestConsoleDynamicGroup(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 12)
	q := "productKey = '" + pk + "' AND deviceName LIKE 'd1%'"
	_, frag := s.page("POST", "/groups/preview", url.Values{"query": {q}}, true)
	if testid(frag, "preview-total").Text() != "4" || testid(frag, "preview-device").Length() != 4 {
		t.Fatalf("preview: %q", frag.Text())
	}
	_, frag = s.page("POST", "/groups/preview", url.Values{"query": {"deviceName = 'x' AND"}}, true)
	if e := testid(frag, "query-error"); e.AttrOr("data-pos", "") != "21" || !strings.Contains(e.Text(), "at position 21") ||
		!strings.Contains(e.Find("pre").Text(), strings.Repeat(" ", 20)+"^") {
		t.Fatalf("parse error: %q", frag.Text())
	}
	resp, _ := s.page("POST", "/groups", url.Values{"name": {"ones"}, "kind": {"dynamic"}, "query": {q}}, false)
	loc := resp.Header.Get("Location")
	_, doc := s.page("GET", loc, nil, false)
	if testid(doc, "member-row").Length() != 4 || testid(doc, "group-add").Length() != 0 ||
		!strings.Contains(testid(doc, "group-query-info").Text(), "cannot be the target of a task") {
		t.Fatalf("dynamic group page: %q", doc.Find("main").Text())
	}
	resp, doc = s.page("POST", loc+"/devices/add", url.Values{"devices": {pk + ",d2"}}, false)
	if resp.StatusCode != 422 || !strings.Contains(testid(doc, "error-group-add-error").Text(), "dynamic group") {
		t.Fatalf("add to a dynamic group: %d", resp.StatusCode)
	}
	if resp, _ := s.page("GET", "/groups/999999", nil, false); resp.StatusCode != 404 {
		t.Fatalf("unknown group: %d", resp.StatusCode)
	}
}

func TestGroupRename(t *testing.T) {
	s := newTestServer(t)
	for _, name := range []string{"north", "south"} {
		s.page("POST", "/groups", url.Values{"name": {name}, "kind": {"static"}}, false)
	}
	resp, _ := s.page("POST", "/groups/1/rename", url.Values{"name": {"north-east"}}, false)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(flash(resp), "north-east") {
		t.Fatalf("rename: %d %q", resp.StatusCode, flash(resp))
	}
	for _, tc := range []struct{ name, want string }{{"south", "already exists"}, {"", "is required"}} {
		resp, doc := s.page("POST", "/groups/1/rename", url.Values{"name": {tc.name}}, false)
		if resp.StatusCode != 422 || !strings.Contains(testid(doc, "error-rename-error").Text(), tc.want) ||
			testid(doc, "group-rename-name").AttrOr("value", "?") != tc.name || testid(doc, "group-name").Text() != "north-east" {
			t.Errorf("rename to %q: %d %q", tc.name, resp.StatusCode, testid(doc, "group-rename").Text())
		}
	}
	var e apiErr
	if status, raw := s.do(http.MethodPatch, "/api/v1/groups/2", `{"name":"north-east"}`, &e); status != 409 || e.Error.Field != "name" {
		t.Fatalf("API rename to a taken name: %d %s", status, raw)
	}
	var g struct{ Name string }
	if status, raw := s.do(http.MethodPatch, "/api/v1/groups/2", `{"name":"west"}`, &g); status != 200 || g.Name != "west" {
		t.Fatalf("API rename: %d %s", status, raw)
	}
	if status, _ := s.do(http.MethodPatch, "/api/v1/groups/99", `{"name":"x"}`, &e); status != 404 {
		t.Fatalf("unknown group: %d", status)
	}
}

// The query preview is a POST: a query near the 4,000-character limit does
// not fit in a URL within the server's header limits (431), but previews
// from the form's body, read-only (any role, no audit entry), under the
// CSRF token like any console POST; the create form sends it so.
func TestGroupPreviewLongQuery(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 12)
	_, doc := s.page("GET", "/groups", nil, false)
	// (its own swap: the form's outerHTML, inherited, would replace the
	// preview's box with the first, empty, answer)
	if area := testid(doc, "group-query"); area.AttrOr("hx-post", "") != "/groups/preview" || area.AttrOr("hx-get", "") != "" ||
		area.AttrOr("hx-swap", "") != "innerHTML" {
		t.Errorf("the query field previews by hx-post %q, hx-get %q, hx-swap %q",
			area.AttrOr("hx-post", ""), area.AttrOr("hx-get", ""), area.AttrOr("hx-swap", ""))
	}
	// productKey = '…' AND (deviceName LIKE 'd1%' OR deviceName IN ('zzz…')), 3,900 characters
	head := "productKey = '" + pk + "' AND (deviceName LIKE 'd1%' OR deviceName IN ('"
	q := head + strings.Repeat("z", 3900-len(head)-3) + "'))"
	if len(q) != 3900 {
		t.Fatalf("the query is %d characters", len(q))
	}
	s.As = s.user(models.RoleSupport) // view only
	resp, frag := s.page("POST", "/groups/preview", url.Values{"query": {q}}, true)
	if resp.StatusCode != http.StatusOK || testid(frag, "preview-total").Text() != "4" {
		t.Fatalf("a 3,900-character query: %d %q", resp.StatusCode, frag.Text())
	}
	// past the limit: the parse error, still a 200
	long := strings.Repeat("z", 4001)
	resp, frag = s.page("POST", "/groups/preview", url.Values{"query": {long}}, true)
	if e := testid(frag, "query-error"); resp.StatusCode != http.StatusOK || !strings.Contains(e.Text(), "the limit is 4000") {
		t.Fatalf("a 4,001-character query: %d %q", resp.StatusCode, frag.Text())
	}
	var n int
	if err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE email = $1`, s.As.User.Email).Scan(&n); err != nil || n != 0 {
		t.Errorf("previews recorded %d audit entries (%v)", n, err)
	}
	// the CSRF token is required, as for any console POST
	req := httptest.NewRequest("POST", "/groups/preview", strings.NewReader(url.Values{"query": {q}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Csrf-Token", "forged")
	if resp, body := s.fetch(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a preview with a forged CSRF token: %d %s", resp.StatusCode, snippet(body))
	}
}
