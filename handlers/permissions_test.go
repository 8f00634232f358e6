package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/views"
)

// fixture is a fresh set of things for one role to act on through one
// channel (API or console), so that an allowed change cannot spoil the
// next request.
type fixture struct {
	pk       string
	dev      models.DeviceRef
	running  *models.Task // IN_PROGRESS: edit, cancel
	finished *models.Task // COMPLETED with failures: rerun
	doomed   *models.Task // to delete
	group    models.ID
	rule     models.File // to delete
	user     *models.User
	token    models.ID
	template models.ID // to edit
	scrap    models.ID // a template to delete
}

func (s *testServer) fixture() *fixture {
	s.t.Helper()
	ctx := context.Background()
	f := &fixture{pk: testenv.Prefix(s.t)}
	devs := testenv.SeedDevices(s.t, s.Deps.DB, f.pk, 3)
	f.dev = devs[0]
	task := func(name string) *models.Task {
		t, err := s.Deps.Tasks.CreateTask(ctx, models.TaskInput{Name: name,
			Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devs}, JobDocument: []byte(`{"k":"v"}`)})
		if err != nil {
			s.t.Fatal(err)
		}
		return t
	}
	f.running, f.finished, f.doomed = task("running"), task("finished"), task("doomed")
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE subtasks SET status = 'FAILED', finished_at = now() WHERE task_id = $1`, f.finished.ID); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE tasks SET status = 'COMPLETED', finished_at = now() WHERE id = $1`, f.finished.ID); err != nil {
		s.t.Fatal(err)
	}
	f.group = testenv.SeedGroup(s.t, s.Deps.DB, "g-"+f.pk, models.GroupStatic, "", devs[:1])
	up, err := s.Deps.Files.Receive("r.json", strings.NewReader(`{"a":1}`), 1<<16)
	if err != nil {
		s.t.Fatal(err)
	}
	file, err := s.Deps.Files.Create(ctx, models.FileRule, up)
	if err != nil {
		s.t.Fatal(err)
	}
	f.rule = *file
	if f.user, err = s.Deps.Accounts.CreateUser(ctx, models.UserInput{Email: f.pk + "@example.com", Role: "support", Password: testPassword}); err != nil {
		s.t.Fatal(err)
	}
	_, tok, err := s.Deps.Accounts.CreateToken(ctx, f.user.ID, "fixture")
	if err != nil {
		s.t.Fatal(err)
	}
	f.token = tok.ID
	for _, id := range []*models.ID{&f.template, &f.scrap} {
		tpl, err := s.Deps.Tasks.CreateTemplate(ctx, models.TemplateInput{Name: "tpl-" + testenv.ID(), JobDocument: []byte(`{"k":"v"}`)})
		if err != nil {
			s.t.Fatal(err)
		}
		*id = tpl.ID
	}
	return f
}

// request is what one action sends: a JSON body (any), a form
// (url.Values) or a multipart upload ([]formPart).
type request struct {
	method, path string
	body         any
}

func (r request) build(t *testing.T) *http.Request {
	t.Helper()
	var req *http.Request
	switch b := r.body.(type) {
	case nil:
		req = httptest.NewRequest(r.method, r.path, nil)
	case url.Values:
		req = httptest.NewRequest(r.method, r.path, strings.NewReader(b.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case []formPart:
		body, ct := multipartBody(t, b...)
		req = httptest.NewRequest(r.method, r.path, body)
		req.Header.Set("Content-Type", ct)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		req = httptest.NewRequest(r.method, r.path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// matrixAction is one row of the permission matrix, as the API and the
// console each do it (nil where a channel has no such route).
type matrixAction struct {
	name    string
	audit   string // the audit action a change records; "" for reads
	perm    models.Permission
	api, ui func(f *fixture) request
}

func get(path string) request { return request{method: "GET", path: path} }

var matrix = []matrixAction{
	// view tasks, statistics, sub-tasks, devices, device logs, groups, files
	{"list tasks", "", models.PermView, func(f *fixture) request { return get("/api/v1/tasks") }, func(f *fixture) request { return get("/tasks") }},
	{"overview", "", models.PermView, nil, func(f *fixture) request { return get("/") }},
	{"recent failures", "", models.PermView, nil, func(f *fixture) request { return get("/failures") }},
	{"task statistics", "", models.PermView, func(f *fixture) request { return get("/api/v1/tasks/" + f.running.ID.String() + "/statistics") },
		func(f *fixture) request { return get("/tasks/" + f.running.ID.String()) }},
	{"sub-tasks", "", models.PermView, func(f *fixture) request { return get("/api/v1/tasks/" + f.running.ID.String() + "/subtasks") },
		func(f *fixture) request { return get("/tasks/" + f.running.ID.String() + "/subtasks") }},
	{"devices", "", models.PermView, func(f *fixture) request { return get("/api/v1/devices?productKey=" + f.pk) },
		func(f *fixture) request { return get("/devices/" + f.dev.ProductKey + "/" + f.dev.DeviceName) }},
	{"device log", "", models.PermView, func(f *fixture) request { return get("/api/v1/devices/" + f.pk + "/" + f.dev.DeviceName + "/messages") },
		func(f *fixture) request { return get("/devices/" + f.pk + "/" + f.dev.DeviceName + "/log") }},
	{"groups", "", models.PermView, func(f *fixture) request { return get("/api/v1/groups/" + f.group.String()) },
		func(f *fixture) request { return get("/groups/" + f.group.String()) }},
	{"files", "", models.PermView, func(f *fixture) request { return get("/api/v1/files") }, func(f *fixture) request { return get("/files") }},

	// create, edit, cancel, rerun tasks; export results
	{"create task", "task.create", models.PermTasksWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/tasks", map[string]any{"name": "new", "jobDocument": map[string]any{"k": "v"},
				"target": map[string]any{"type": "DEVICE_LIST", "devices": []models.DeviceRef{f.dev}}}}
		},
		func(f *fixture) request {
			return request{"POST", "/tasks/new", createForm(f.pk)}
		}},
	{"edit task", "task.update", models.PermTasksWrite,
		func(f *fixture) request {
			return request{"PATCH", "/api/v1/tasks/" + f.running.ID.String(), map[string]any{"rolloutPerMinute": 50}}
		},
		func(f *fixture) request {
			return request{"POST", "/tasks/" + f.running.ID.String() + "/edit/description", url.Values{"description": {"edited"}}}
		}},
	{"cancel task", "task.cancel", models.PermTasksWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/tasks/" + f.running.ID.String() + "/cancel", nil}
		},
		func(f *fixture) request {
			return request{"POST", "/tasks/" + f.running.ID.String() + "/cancel", url.Values{}}
		}},
	{"rerun task", "task.rerun", models.PermTasksWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/tasks/" + f.finished.ID.String() + "/rerun", nil}
		},
		func(f *fixture) request {
			return request{"POST", "/tasks/" + f.finished.ID.String() + "/rerun", url.Values{}}
		}},
	{"export results", "", models.PermTasksWrite, nil,
		func(f *fixture) request { return get("/tasks/" + f.running.ID.String() + "/subtasks.csv") }},

	// delete tasks
	{"delete task", "task.delete", models.PermTasksDelete,
		func(f *fixture) request { return request{"DELETE", "/api/v1/tasks/" + f.doomed.ID.String(), nil} },
		func(f *fixture) request {
			return request{"POST", "/tasks/" + f.doomed.ID.String() + "/delete", url.Values{}}
		}},

	// task templates: read by all, made and changed as tasks, deleted as tasks
	{"templates", "", models.PermView, func(f *fixture) request { return get("/api/v1/templates/" + f.template.String()) },
		func(f *fixture) request { return get("/templates/" + f.template.String()) }},
	{"create template", "template.create", models.PermTasksWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/templates", map[string]any{"name": "new-" + f.pk, "jobDocument": map[string]any{"k": "v"}}}
		},
		func(f *fixture) request {
			return request{"POST", "/tasks/" + f.running.ID.String() + "/template", url.Values{"name": {"saved-" + f.pk}}}
		}},
	{"edit template", "template.update", models.PermTasksWrite,
		func(f *fixture) request {
			return request{"PATCH", "/api/v1/templates/" + f.template.String(), map[string]any{"description": "edited"}}
		}, nil},
	{"delete template", "template.delete", models.PermTasksDelete,
		func(f *fixture) request { return request{"DELETE", "/api/v1/templates/" + f.scrap.String(), nil} },
		func(f *fixture) request {
			return request{"POST", "/templates/" + f.scrap.String() + "/delete", url.Values{}}
		}},

	// manage products, devices, groups
	{"create product", "product.create", models.PermRegistryWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/products", map[string]any{"productKey": f.pk + "-new"}}
		},
		func(f *fixture) request {
			return request{"POST", "/products", url.Values{"productKey": {f.pk + "-new"}}}
		}},
	{"register devices", "device.create", models.PermRegistryWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/products/" + f.pk + "/devices", map[string]any{"devices": []map[string]string{{"deviceName": "new1"}}}}
		},
		func(f *fixture) request {
			return request{"POST", "/devices", url.Values{"productKey": {f.pk}, "deviceName": {"new1"}}}
		}},
	{"rotate a device secret", "device.rotate_secret", models.PermRegistryWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/devices/" + f.pk + "/" + f.pk + "-d2/secret", nil}
		},
		func(f *fixture) request {
			return request{"POST", "/devices/" + f.pk + "/" + f.pk + "-d2/secret", url.Values{}}
		}},
	{"delete device", "device.delete", models.PermRegistryWrite, nil,
		func(f *fixture) request {
			return request{"POST", "/devices/" + f.pk + "/" + f.pk + "-spare/delete", url.Values{}}
		}},
	{"create group", "group.create", models.PermRegistryWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/groups", map[string]any{"name": "new-" + f.pk, "kind": "static"}}
		},
		func(f *fixture) request {
			return request{"POST", "/groups", url.Values{"name": {"new-" + f.pk}, "kind": {"static"}}}
		}},
	{"rename group", "group.rename", models.PermRegistryWrite,
		func(f *fixture) request {
			return request{"PATCH", "/api/v1/groups/" + f.group.String(), map[string]any{"name": "renamed-" + f.pk}}
		},
		func(f *fixture) request {
			return request{"POST", "/groups/" + f.group.String() + "/rename", url.Values{"name": {"renamed-" + f.pk}}}
		}},
	{"add group members", "group.add_devices", models.PermRegistryWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/groups/" + f.group.String() + "/devices", map[string]any{"devices": []models.DeviceRef{{ProductKey: f.pk, DeviceName: f.pk + "-d2"}}}}
		},
		func(f *fixture) request {
			return request{"POST", "/groups/" + f.group.String() + "/devices/add", url.Values{"devices": {f.pk + "," + f.pk + "-d2"}}}
		}},

	// upload and delete rule files and firmware
	{"upload file", "file.upload", models.PermFilesWrite,
		func(f *fixture) request {
			return request{"POST", "/api/v1/files", []formPart{kindPart("firmware"), filePart("fw.bin", []byte("firmware"))}}
		},
		func(f *fixture) request {
			// content of its own: the same content again is not stored a second time
			return request{"POST", "/files", []formPart{kindPart("firmware"), filePart("fw.bin", []byte("firmware of "+f.pk))}}
		}},
	{"delete file", "file.delete", models.PermFilesWrite,
		func(f *fixture) request { return request{"DELETE", "/api/v1/files/" + f.rule.ID.String(), nil} },
		func(f *fixture) request {
			return request{"POST", "/files/" + f.rule.ID.String() + "/delete", url.Values{}}
		}},

	// manage users and tokens; read the audit log
	{"list users", "", models.PermAdmin, func(f *fixture) request { return get("/api/v1/users") }, func(f *fixture) request { return get("/users") }},
	{"create user", "user.create", models.PermAdmin,
		func(f *fixture) request {
			return request{"POST", "/api/v1/users", map[string]any{"email": "new-" + f.pk + "@example.com", "role": "support", "password": testPassword}}
		},
		func(f *fixture) request {
			return request{"POST", "/users", url.Values{"email": {"new-" + f.pk + "@example.com"}, "role": {"support"}, "password": {testPassword}}}
		}},
	{"change role", "user.update", models.PermAdmin,
		func(f *fixture) request {
			return request{"PATCH", "/api/v1/users/" + f.user.ID.String(), map[string]any{"role": "operator"}}
		},
		func(f *fixture) request {
			return request{"POST", "/users/" + f.user.ID.String(), url.Values{"role": {"operator"}}}
		}},
	{"create token", "token.create", models.PermAdmin,
		func(f *fixture) request {
			return request{"POST", "/api/v1/users/" + f.user.ID.String() + "/tokens", map[string]any{"name": "ci"}}
		},
		func(f *fixture) request {
			return request{"POST", "/users/" + f.user.ID.String() + "/tokens", url.Values{"name": {"ci"}}}
		}},
	{"revoke token", "token.revoke", models.PermAdmin,
		func(f *fixture) request { return request{"DELETE", "/api/v1/tokens/" + f.token.String(), nil} },
		func(f *fixture) request {
			return request{"POST", "/tokens/" + f.token.String() + "/revoke", url.Values{}}
		}},
	{"audit log", "", models.PermAdmin, func(f *fixture) request { return get("/api/v1/audit") }, func(f *fixture) request { return get("/audit") }},
}

// TestPermissionMatrix sends every action of the matrix as every role,
// through the API and through the console: a role with the permission
// succeeds, any other gets 403 (the JSON error or the console's 403 page).
func TestPermissionMatrix(t *testing.T) {
	s := newTestServer(t)
	for _, role := range models.Roles {
		cr := s.user(role)
		for _, channel := range []string{"api", "console"} {
			f := s.fixture()
			// devices outside the group: one to delete, one to add
			if _, err := s.Deps.Registry.CreateDevices(context.Background(), f.pk, []string{f.pk + "-spare", f.pk + "-d2"}); err != nil {
				t.Fatal(err)
			}
			for _, a := range matrix {
				mk := a.api
				if channel == "console" {
					mk = a.ui
				}
				if mk == nil {
					continue
				}
				r := mk(f)
				name := fmt.Sprintf("%s %s %s (%s %s)", role, channel, a.name, r.method, r.path)
				s.As = cr
				before := s.auditCount(cr.User.Email, a.audit)
				resp, body := s.fetch(r.build(t))
				allowed := role.Can(a.perm)
				if a.audit != "" {
					want := before
					if allowed {
						want++
					}
					if got := s.auditCount(cr.User.Email, a.audit); got != want {
						t.Errorf("%s: %d %s audit entries by %s after it, want %d", name, got, a.audit, cr.User.Email, want)
					}
				}
				switch {
				case allowed && (resp.StatusCode >= 400):
					t.Errorf("%s: allowed, but %d %s", name, resp.StatusCode, snippet(body))
				case allowed && channel == "console" && strings.HasPrefix(resp.Header.Get("Location"), "/login"):
					t.Errorf("%s: allowed, but sent to sign in", name)
				case !allowed && resp.StatusCode != http.StatusForbidden:
					t.Errorf("%s: not allowed, but %d %s", name, resp.StatusCode, snippet(body))
				case !allowed && channel == "api" && !bytes.Contains(body, []byte(`"code":"permission_denied"`)):
					t.Errorf("%s: 403 without the permission_denied code: %s", name, body)
				case !allowed && channel == "console" && !bytes.Contains(body, []byte(`data-testid="error-page"`)):
					t.Errorf("%s: 403 without the error page: %s", name, snippet(body))
				}
			}
		}
	}
}

// auditCount is the number of audit entries of action (with a target) by
// the user with that email.
func (s *testServer) auditCount(email, action string) int {
	s.t.Helper()
	if action == "" {
		return 0
	}
	var n int
	err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE email = $1 AND action = $2
		AND target <> '' AND source_ip <> '' AND request_id <> '' AND role <> ''`, email, action).Scan(&n)
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func snippet(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// TestAnonymousAndBadCredentials: no session → the sign-in page (with the
// way back); no, unknown or malformed token → 401 with WWW-Authenticate.
func TestAnonymousAndBadCredentials(t *testing.T) {
	s := newTestServer(t)
	s.As = nil
	for _, path := range []string{"/tasks", "/tasks/new", "/devices", "/files", "/users", "/audit"} {
		resp, _ := s.fetch(httptest.NewRequest("GET", path, nil))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("anonymous GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	req := httptest.NewRequest("GET", "/tasks", nil)
	req.Header.Set("HX-Request", "true")
	if resp, _ := s.fetch(req); resp.Header.Get("HX-Redirect") == "" {
		t.Errorf("anonymous htmx request: no HX-Redirect (%d)", resp.StatusCode)
	}
	// a change without a session goes to sign in and changes nothing
	req = httptest.NewRequest("POST", "/products", strings.NewReader("productKey=anon"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, _ := s.fetch(req); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("anonymous POST /products: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := s.Deps.Registry.GetProduct(context.Background(), "anon"); !models.IsNotFound(err) {
		t.Errorf("the anonymous product was created: %v", err)
	}
	for _, auth := range []string{"", "Bearer", "Bearer ftk_nope", "Basic YWRtaW46YWRtaW4=", "Bearer not-a-token"} {
		req := httptest.NewRequest("GET", "/api/v1/tasks", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, body := s.fetch(req)
		if resp.StatusCode != http.StatusUnauthorized || !bytes.Contains(body, []byte(`"code":"unauthenticated"`)) ||
			!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %d %s", auth, resp.StatusCode, body)
		}
	}
	// a session cookie does not open the API (it would need CSRF there)
	admin := s.user(models.RoleAdmin)
	req = httptest.NewRequest("GET", "/api/v1/tasks", nil)
	req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: admin.Session})
	if resp, _ := s.fetch(req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with a session cookie: %d", resp.StatusCode)
	}
}

// TestCSRF: a console change without the token, with a wrong one, with
// another session's or the sign-in form's, or with the token in the query
// string is refused 403 and changes nothing; the header and the form field
// of a URL-encoded body work.
func TestCSRF(t *testing.T) {
	s := newTestServer(t)
	admin := s.As
	other := s.user(models.RoleOperator).CSRF // valid, for another session
	_, signInToken := s.signInToken()
	post := func(form url.Values, query, header string) int {
		req := httptest.NewRequest("POST", "/products"+query, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: admin.Session})
		if header != "" {
			req.Header.Set("X-Csrf-Token", header)
		}
		resp, body := s.fetch(req)
		if resp.StatusCode == http.StatusForbidden && !bytes.Contains(body, []byte("security token")) {
			t.Errorf("403 does not say why: %s", snippet(body))
		}
		return resp.StatusCode
	}
	s.As = nil
	cases := []struct {
		name          string
		form          url.Values
		query, header string
		want          int
	}{
		{"no token at all", url.Values{"productKey": {"c1"}}, "", "", 403},
		{"wrong header", url.Values{"productKey": {"c3"}}, "", "forged", 403},
		{"another session's token", url.Values{"productKey": {"c4"}}, "", other, 403},
		{"the sign-in form's token", url.Values{"productKey": {"c5"}}, "", signInToken, 403},
		{"wrong form field", url.Values{"productKey": {"c7"}, "_csrf": {"forged"}}, "", "", 403},
		{"token in the query string", url.Values{"productKey": {"c8"}}, "?_csrf=" + url.QueryEscape(admin.CSRF), "", 403},
		{"header", url.Values{"productKey": {"ok1"}}, "", admin.CSRF, 303},
		{"form field", url.Values{"productKey": {"ok2"}, "_csrf": {admin.CSRF}}, "", "", 303},
	}
	for _, c := range cases {
		if got := post(c.form, c.query, c.header); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
		_, err := s.Deps.Registry.GetProduct(context.Background(), c.form.Get("productKey"))
		if created := err == nil; created != (c.want == 303) {
			t.Errorf("%s: product created = %v", c.name, created)
		}
	}
	// sign-in is protected too (login CSRF): without a token, with a token
	// but not the cookie it was issued with, with another browser's pair
	cookie, token := s.signInToken()
	cookie2, _ := s.signInToken()
	for _, c := range []struct{ name, cookie, token string }{
		{"no token", cookie, ""},
		{"no cookie", "", token},
		{"another browser's cookie", cookie2, token},
		{"a session's token", cookie, admin.CSRF},
	} {
		form := url.Values{"email": {admin.User.Email}, "password": {testPassword}}
		if c.token != "" {
			form.Set("_csrf", c.token)
		}
		req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.cookie != "" {
			req.AddCookie(&http.Cookie{Name: "fleettasks_csrf", Value: c.cookie})
		}
		if resp, _ := s.fetch(req); resp.StatusCode != http.StatusForbidden || sessionOf(resp) != nil {
			t.Errorf("sign-in, %s: %d", c.name, resp.StatusCode)
		}
	}
}

// TestCSRFNoServerState: anonymous views of the sign-in page leave nothing
// on the server (no Redis key, no row); the token is bound to the session,
// so signing in again gives a new one and the old session's token is
// refused on the new session.
func TestCSRFNoServerState(t *testing.T) {
	s := newTestServer(t)
	rdb := redis.NewClient(testenv.RedisOptions(t))
	defer rdb.Close()
	ctx := context.Background()
	count := func() (keys int, sessions int64) {
		iter := rdb.Scan(ctx, 0, "fleettasks:csrf:*", 1000).Iterator()
		for iter.Next(ctx) {
			keys++
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Deps.DB.Gorm.Raw("SELECT count(*) FROM sessions").Scan(&sessions).Error; err != nil {
			t.Fatal(err)
		}
		return keys, sessions
	}
	keys0, sessions0 := count()
	for range 50 {
		s.signInToken()
	}
	if keys, sessions := count(); keys != keys0 || sessions != sessions0 {
		t.Errorf("50 anonymous views of /login: Redis CSRF keys %d → %d, sessions %d → %d", keys0, keys, sessions0, sessions)
	}

	admin := s.As
	s.As = nil
	resp := s.signInForm(admin.User.Email, testPassword, "")
	c := sessionOf(resp)
	if c == nil {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	fresh := s.sessionCSRF(c.Value)
	if fresh == admin.CSRF {
		t.Fatal("a new session has the old session's CSRF token")
	}
	for token, want := range map[string]int{admin.CSRF: 403, fresh: 303} {
		req := httptest.NewRequest("POST", "/products", strings.NewReader(url.Values{"productKey": {"rot" + fmt.Sprint(want)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Csrf-Token", token)
		req.AddCookie(c)
		if resp, _ := s.fetch(req); resp.StatusCode != want {
			t.Errorf("new session with the %s token: %d, want %d", map[int]string{403: "old", 303: "new"}[want], resp.StatusCode, want)
		}
	}
}

// TestAuditActionsListed: every action the route table (and sign-in)
// records is offered by the audit page's action filter.
func TestAuditActionsListed(t *testing.T) {
	var src []byte
	for _, f := range []string{"routes.go", "login.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	recorded := map[string]bool{}
	for _, m := range regexp.MustCompile(`"((?:task|template|product|device|group|file|user|token|webhook|auth)\.[a-z_]+)"`).FindAllSubmatch(src, -1) {
		recorded[string(m[1])] = true
	}
	listed := map[string]bool{}
	for _, a := range views.AuditActions {
		listed[a] = true
	}
	if len(recorded) < 20 {
		t.Fatalf("found only %d actions in the route table: %v", len(recorded), recorded)
	}
	for a := range recorded {
		if !listed[a] {
			t.Errorf("action %s is recorded but not in views.AuditActions", a)
		}
	}
	for a := range listed {
		if !recorded[a] {
			t.Errorf("views.AuditActions lists %s, which nothing records", a)
		}
	}
}
