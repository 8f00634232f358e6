package handlers_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// unstorable are JSON string values a JSON parser accepts and PostgreSQL
// refuses: U+0000, a lone surrogate and a byte that is not UTF-8.
var unstorable = []struct{ name, json string }{
	{"NUL", `"a\u0000b"`},
	{"lone surrogate", `"a\ud800b"`},
	{"byte 0xff", "\"a\xffb\""},
}

// nestedDocument is a job document nesting depth objects ({"a":{"a":{}}}
// is 3).
func nestedDocument(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
}

// TestAPIBodiesRefuseUnstorableText sends every free-text field of every
// API body, and a value of a job document, with each unstorable value: a
// 400 naming the field, never a 500, and nothing written.
func TestAPIBodiesRefuseUnstorableText(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	task, err := s.Deps.Tasks.CreateTask(ctx, models.TaskInput{Name: "t", Description: "kept",
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Deps.Registry.CreateGroup(ctx, models.GroupInput{Name: "g", Kind: models.GroupStatic})
	if err != nil {
		t.Fatal(err)
	}
	taskPath, groupPath, userPath := "/api/v1/tasks/"+task.ID.String(), "/api/v1/groups/"+g.ID.String(), "/api/v1/users/"+s.As.User.ID.String()
	target := `"target":{"type":"DEVICE_LIST","devices":[{"productKey":"` + pk + `","deviceName":"d1"}]}`
	cases := []struct {
		method, path, body, field string
	}{
		{"POST", "/api/v1/tasks", `{"name":BAD,` + target + `,"jobDocument":{"k":"v"}}`, "name"},
		{"POST", "/api/v1/tasks", `{"name":"n","description":BAD,` + target + `,"jobDocument":{"k":"v"}}`, "description"},
		{"POST", "/api/v1/tasks", `{"name":"n",` + target + `,"jobDocument":{"cmd":BAD}}`, "jobDocument.cmd"},
		{"POST", "/api/v1/tasks", `{"name":"n",` + target + `,"jobDocument":{"args":["x",{"y":BAD}]}}`, "jobDocument.args[1].y"},
		{"POST", "/api/v1/tasks", `{"name":"n","target":{"type":"DEVICE_LIST","devices":[{"productKey":"` + pk + `","deviceName":BAD}]},"jobDocument":{}}`,
			"target.devices[0].deviceName"},
		{"PATCH", taskPath, `{"description":BAD}`, "description"},
		{"POST", "/api/v1/products", `{"productKey":"n` + pk + `","name":BAD}`, "name"},
		{"POST", "/api/v1/products", `{"productKey":"n` + pk + `","description":BAD}`, "description"},
		{"POST", "/api/v1/products/" + pk + "/devices", `{"devices":[{"deviceName":"ok"},{"deviceName":BAD}]}`, "devices[1].deviceName"},
		{"POST", "/api/v1/groups", `{"name":BAD,"kind":"static"}`, "name"},
		{"POST", "/api/v1/groups", `{"name":"dyn","kind":"dynamic","query":BAD}`, "query"},
		{"PATCH", groupPath, `{"name":BAD}`, "name"},
		{"POST", groupPath + "/devices", `{"devices":[{"productKey":"` + pk + `","deviceName":BAD}]}`, "devices[0].deviceName"},
		{"POST", "/api/v1/users", `{"email":BAD,"role":"support","password":"0123456789ab"}`, "email"},
		{"PATCH", userPath, `{"password":BAD}`, "password"},
		{"POST", userPath + "/tokens", `{"name":BAD}`, "name"},
	}
	for _, tc := range cases {
		for _, bad := range unstorable {
			var e apiErr
			status, raw := s.do(tc.method, tc.path, strings.Replace(tc.body, "BAD", bad.json, 1), &e)
			if status != http.StatusBadRequest || e.Error.Code != "invalid_argument" || e.Error.Field != tc.field {
				t.Errorf("%s %s, %s in %s: %d %s; want 400 on field %q", tc.method, tc.path, bad.name, tc.field, status, raw, tc.field)
			}
		}
	}
	var tasks, products, groups, tokens int64
	if err := s.Deps.DB.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM products WHERE product_key <> $1),
		(SELECT count(*) FROM groups), (SELECT count(*) FROM api_tokens)`, pk).Scan(&tasks, &products, &groups, &tokens); err != nil {
		t.Fatal(err)
	}
	if tasks != 1 || products != 0 || groups != 1 || tokens != 1 {
		t.Errorf("refused requests wrote: %d tasks, %d products, %d groups, %d tokens", tasks, products, groups, tokens)
	}
	if got, _ := s.Deps.Tasks.GetTask(ctx, task.ID); got.Description != "kept" {
		t.Errorf("description patched to %q", got.Description)
	}
}

// TestAPIQueriesRefuseUnstorableText sends search terms and filters with a
// NUL byte or a byte that is not UTF-8: a 400 naming the parameter (a
// product key in the path: 404).
func TestAPIQueriesRefuseUnstorableText(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	task, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: "t",
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, field string }{
		{"/api/v1/tasks?q=", "q"},
		{"/api/v1/tasks?productKey=", "productKey"},
		{"/api/v1/tasks/" + task.ID.String() + "/subtasks?q=", "q"},
		{"/api/v1/devices?q=", "q"},
		{"/api/v1/devices/" + pk + "/d1/messages?topic=", "topic"},
		{"/api/v1/audit?user=", "user"},
		{"/api/v1/audit?action=", "action"},
		{"/api/v1/audit?target=", "target"},
	}
	for _, tc := range cases {
		for _, bad := range []string{"a%00b", "a%FFb"} {
			var e apiErr
			if status, raw := s.do("GET", tc.path+bad, nil, &e); status != http.StatusBadRequest || e.Error.Field != tc.field {
				t.Errorf("GET %s%s: %d %s; want 400 on field %q", tc.path, bad, status, raw, tc.field)
			}
		}
	}
	// a product key in the path that cannot exist is not found
	for _, bad := range []string{"a%00b", "a%FFb"} {
		if status, raw := s.do("GET", "/api/v1/products/"+bad, nil, nil); status != http.StatusNotFound {
			t.Errorf("GET /api/v1/products/%s: %d %s; want 404", bad, status, raw)
		}
		if status, raw := s.do("POST", "/api/v1/products/"+bad+"/devices", `{"devices":[{"deviceName":"d1"}]}`, nil); status != http.StatusNotFound {
			t.Errorf("POST /api/v1/products/%s/devices: %d %s; want 404", bad, status, raw)
		}
	}
}

// TestUploadRefusesUnstorableFileName uploads files whose names hold a NUL
// or a byte that is not UTF-8 (raw, or RFC 2231 encoded): 400 on file,
// nothing stored.
func TestUploadRefusesUnstorableFileName(t *testing.T) {
	s := newFileServer(t)
	for _, disposition := range []string{
		`form-data; name="file"; filename="a` + "\xff" + `b.bin"`,
		`form-data; name="file"; filename*=UTF-8''a%00b.bin`,
		`form-data; name="file"; filename*=UTF-8''a%FFb.bin`,
		`form-data; name="file"; filename="a` + "\x00" + `b.bin"`,
	} {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("kind", "firmware")
		part, err := w.CreatePart(textproto.MIMEHeader{"Content-Disposition": {disposition}})
		if err != nil {
			t.Fatal(err)
		}
		part.Write([]byte("firmware"))
		w.Close()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/files", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		var e apiErr
		if status, raw := s.send(req, &e); status != http.StatusBadRequest || e.Error.Field != "file" {
			t.Errorf("%q: %d %s; want 400 on field file", disposition, status, raw)
		}
		s.assertNoUploads(disposition)
	}
}
