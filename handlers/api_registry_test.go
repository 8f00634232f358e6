package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"fleettasks/models"
)

// devicesBody is the body of a bulk registration of names.
func devicesBody(names ...string) map[string]any {
	ds := make([]map[string]string, len(names))
	for i, n := range names {
		ds[i] = map[string]string{"deviceName": n}
	}
	return map[string]any{"devices": ds}
}

// wantAPIErr fails unless the answer has status and names field.
func wantAPIErr(t *testing.T, what string, status int, raw []byte, wantStatus int, field string) apiErr {
	t.Helper()
	var e apiErr
	if err := json.Unmarshal(raw, &e); err != nil || status != wantStatus || e.Error.Field != field || e.Error.Message == "" {
		t.Fatalf("%s: got %d %s, want %d naming %q", what, status, raw, wantStatus, field)
	}
	return e
}

func TestProductAPI(t *testing.T) {
	s := newTestServer(t)
	var p models.Product
	st, raw := s.do("POST", "/api/v1/products", map[string]string{"productKey": "p1", "name": "Lamp", "description": "a lamp"}, &p)
	if st != http.StatusCreated || p.ProductKey != "p1" || p.Name != "Lamp" || !strings.Contains(string(raw), `"createdAt"`) {
		t.Fatalf("create: %d %s", st, raw)
	}
	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"duplicate", map[string]string{"productKey": "p1"}, 409, "productKey"},
		{"bad key", map[string]string{"productKey": "p/1"}, 400, "productKey"},
		{"long name", map[string]string{"productKey": "p2", "name": strings.Repeat("n", 129)}, 400, "name"},
		{"long description", map[string]string{"productKey": "p2", "description": strings.Repeat("d", 1001)}, 400, "description"},
		{"key of the wrong type", `{"productKey": 5}`, 400, "productKey"},
		{"no body", nil, 400, ""},
	}
	for _, tc := range cases {
		st, raw := s.do("POST", "/api/v1/products", tc.body, nil)
		wantAPIErr(t, tc.name, st, raw, tc.status, tc.field)
	}
	s.do("POST", "/api/v1/products/p1/devices", devicesBody("d1", "d2"), nil)
	var list models.List[models.Product]
	if st, raw := s.do("GET", "/api/v1/products?pageSize=5", nil, &list); st != 200 || list.Total != 1 || list.PageSize != 5 || list.Items[0].DeviceCount != 2 {
		t.Fatalf("list: %d %s", st, raw)
	}
	if st, raw := s.do("GET", "/api/v1/products/p1", nil, &p); st != 200 || p.DeviceCount != 2 {
		t.Fatalf("get: %d %s", st, raw)
	}
	st, raw = s.do("GET", "/api/v1/products/nope", nil, nil)
	wantAPIErr(t, "get unknown", st, raw, 404, "")
	st, raw = s.do("GET", "/api/v1/products?pageSize=500", nil, nil)
	wantAPIErr(t, "pageSize 500", st, raw, 400, "pageSize")
}

func TestDeviceRegistrationAPI(t *testing.T) {
	s := newTestServer(t)
	s.do("POST", "/api/v1/products", map[string]string{"productKey": "p1"}, nil)
	names := make([]string, 500)
	for i := range names {
		names[i] = fmt.Sprintf("lamp-%03d", i)
	}
	names[3] = "bad name"
	st, raw := s.do("POST", "/api/v1/products/p1/devices", devicesBody(names...), nil)
	wantAPIErr(t, "bad name", st, raw, 400, "devices[3].deviceName")

	names[3] = "a.b:c@d"
	var created struct{ Devices []models.Device }
	if st, raw := s.do("POST", "/api/v1/products/p1/devices", devicesBody(names...), &created); st != 201 || len(created.Devices) != 500 {
		t.Fatalf("create: %d %.300s", st, raw)
	}
	d := created.Devices[3]
	if d.DeviceName != "a.b:c@d" || d.ProductKey != "p1" || d.ID == 0 || d.Online || d.LastSeen != nil {
		t.Fatalf("created[3] = %+v", d)
	}

	again := append([]string{"new-1", "new-2"}, "lamp-007")
	st, raw = s.do("POST", "/api/v1/products/p1/devices", devicesBody(again...), nil)
	wantAPIErr(t, "already registered", st, raw, 409, "devices[2].deviceName")
	st, raw = s.do("POST", "/api/v1/products/p1/devices", devicesBody("x", "y", "x"), nil)
	wantAPIErr(t, "twice", st, raw, 409, "devices[2].deviceName")
	st, raw = s.do("POST", "/api/v1/products/p1/devices", devicesBody(make([]string, 10_001)...), nil)
	wantAPIErr(t, "10,001", st, raw, 400, "devices")
	st, raw = s.do("POST", "/api/v1/products/p1/devices", `{"devices":[]}`, nil)
	wantAPIErr(t, "none", st, raw, 400, "devices")
	st, raw = s.do("POST", "/api/v1/products/nope/devices", devicesBody("d1"), nil)
	wantAPIErr(t, "unknown product", st, raw, 404, "")

	var list models.List[models.Device]
	if st, raw := s.do("GET", "/api/v1/devices?productKey=p1&q=lamp-00&pageSize=3&page=2", nil, &list); st != 200 ||
		list.Total != 9 || len(list.Items) != 3 || list.Items[0].DeviceName != "lamp-004" {
		t.Fatalf("list: %d %s", st, raw)
	}
	var got models.Device
	for _, path := range []string{"/api/v1/devices/p1/a.b:c@d", "/api/v1/devices/p1/a.b%3Ac%40d"} {
		if st, raw := s.do("GET", path, nil, &got); st != 200 || got.ID != d.ID {
			t.Fatalf("GET %s: %d %s", path, st, raw)
		}
	}
	st, raw = s.do("GET", "/api/v1/devices/p1/nope", nil, nil)
	wantAPIErr(t, "unknown device", st, raw, 404, "")
	st, raw = s.do("GET", "/api/v1/devices?groupId=abc", nil, nil)
	wantAPIErr(t, "bad groupId", st, raw, 400, "groupId")
	st, raw = s.do("GET", "/api/v1/devices?groupId=12345", nil, nil)
	wantAPIErr(t, "unknown groupId", st, raw, 404, "groupId")
}

func TestGroupAPI(t *testing.T) {
	s := newTestServer(t)
	s.do("POST", "/api/v1/products", map[string]string{"productKey": "p1"}, nil)
	s.do("POST", "/api/v1/products/p1/devices", devicesBody("lamp-1", "lamp-2", "fan-1"), nil)

	var static, dynamic models.Group
	if st, raw := s.do("POST", "/api/v1/groups", map[string]string{"name": "mine", "kind": "static"}, &static); st != 201 || static.Kind != "static" {
		t.Fatalf("create static: %d %s", st, raw)
	}
	query := "productKey = 'p1' AND deviceName LIKE 'lamp-%'"
	if st, raw := s.do("POST", "/api/v1/groups", map[string]string{"name": "lamps", "kind": "dynamic", "query": query}, &dynamic); st != 201 ||
		dynamic.Query != query || dynamic.DeviceCount != 2 {
		t.Fatalf("create dynamic: %d %s", st, raw)
	}
	cases := []struct {
		name   string
		body   map[string]string
		status int
		field  string
	}{
		{"duplicate name", map[string]string{"name": "mine", "kind": "static"}, 409, "name"},
		{"no name", map[string]string{"kind": "static"}, 400, "name"},
		{"bad kind", map[string]string{"name": "g", "kind": "smart"}, 400, "kind"},
		{"static with a query", map[string]string{"name": "g", "kind": "static", "query": query}, 400, "query"},
		{"dynamic without a query", map[string]string{"name": "g", "kind": "dynamic"}, 400, "query"},
	}
	for _, tc := range cases {
		st, raw := s.do("POST", "/api/v1/groups", tc.body, nil)
		wantAPIErr(t, tc.name, st, raw, tc.status, tc.field)
	}
	st, raw := s.do("POST", "/api/v1/groups", map[string]string{"name": "g", "kind": "dynamic", "query": "deviceName LIKE lamp"}, nil)
	if e := wantAPIErr(t, "parse error", st, raw, 400, "query"); e.Error.Message != "at position 17: expected a string after LIKE, found lamp" {
		t.Fatalf("parse error message: %s", e.Error.Message)
	}

	add := func(id models.ID, refs ...string) (int, []byte) {
		ds := make([]map[string]string, len(refs))
		for i, r := range refs {
			pk, dn, _ := strings.Cut(r, "/")
			ds[i] = map[string]string{"productKey": pk, "deviceName": dn}
		}
		return s.do("POST", "/api/v1/groups/"+id.String()+"/devices", map[string]any{"devices": ds}, nil)
	}
	if st, raw := add(static.ID, "p1/fan-1", "p1/lamp-1"); st != 200 || !strings.Contains(string(raw), `"added":2`) {
		t.Fatalf("add: %d %s", st, raw)
	}
	if st, raw := add(static.ID, "p1/fan-1"); st != 200 || !strings.Contains(string(raw), `"added":0`) || !strings.Contains(string(raw), `"deviceCount":2`) {
		t.Fatalf("add again: %d %s", st, raw)
	}
	st, raw = add(static.ID, "p1/fan-1", "p1/fan-9")
	wantAPIErr(t, "missing device", st, raw, 422, "devices[1]")
	st, raw = add(dynamic.ID, "p1/fan-1")
	if e := wantAPIErr(t, "dynamic", st, raw, 422, "devices"); !strings.Contains(e.Error.Message, "cannot be added to a dynamic group") {
		t.Fatalf("dynamic: %s", raw)
	}
	st, raw = add(99999, "p1/fan-1")
	wantAPIErr(t, "unknown group", st, raw, 404, "")

	for id, want := range map[models.ID]string{static.ID: "fan-1 lamp-1", dynamic.ID: "lamp-1 lamp-2"} {
		var list models.List[models.Device]
		s.do("GET", "/api/v1/devices?groupId="+id.String(), nil, &list)
		var names []string
		for _, d := range list.Items {
			names = append(names, d.DeviceName)
		}
		if strings.Join(names, " ") != want || list.Total != 2 {
			t.Errorf("group %s: %v (total %d), want %s", id, names, list.Total, want)
		}
	}
	var groups models.List[models.Group]
	if st, raw := s.do("GET", "/api/v1/groups", nil, &groups); st != 200 || groups.Total != 2 || groups.Items[1].DeviceCount != 2 {
		t.Fatalf("list: %d %s", st, raw)
	}
	var g models.Group
	if st, raw := s.do("GET", "/api/v1/groups/"+dynamic.ID.String(), nil, &g); st != 200 || g.Name != "lamps" {
		t.Fatalf("get: %d %s", st, raw)
	}
	st, raw = s.do("GET", "/api/v1/groups/x", nil, nil)
	wantAPIErr(t, "get x", st, raw, 404, "")
}

func TestDeviceMessagesAPI(t *testing.T) {
	s := newTestServer(t)
	s.do("POST", "/api/v1/products", map[string]string{"productKey": "p1"}, nil)
	var created struct{ Devices []models.Device }
	s.do("POST", "/api/v1/products/p1/devices", devicesBody("d1"), &created)
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, payload := range []string{`{"op":"notify"}`, `plain text`, `{"code":200}`} {
		dir := []string{"c2d", "d2c", "d2c"}[i]
		if _, err := s.Deps.DB.Pool.Exec(context.Background(), `INSERT INTO device_messages
			(time, device_id, direction, topic, message_id, payload, code, subtask_id) VALUES ($1, $2, $3, 't', $4, $5, $6, 42)`,
			base.Add(time.Duration(i)*time.Minute), created.Devices[0].ID, dir, fmt.Sprint("m", i), []byte(payload), 200); err != nil {
			t.Fatal(err)
		}
	}
	var list struct {
		Items []map[string]json.RawMessage
		Total int64
	}
	st, raw := s.do("GET", "/api/v1/devices/p1/d1/messages?direction=d2c&from=2025-03-01T12:00:30Z", nil, &list)
	if st != 200 || list.Total != 2 || len(list.Items) != 2 {
		t.Fatalf("list: %d %s", st, raw)
	}
	first, second := list.Items[0], list.Items[1]
	if string(first["payload"]) != `{"code":200}` || string(second["payload"]) != `"plain text"` ||
		string(first["time"]) != `"2025-03-01T12:02:00Z"` || string(first["subtaskId"]) != `"42"` || string(first["code"]) != "200" ||
		string(first["direction"]) != `"d2c"` || string(first["messageId"]) != `"m2"` || string(first["topic"]) != `"t"` {
		t.Fatalf("items: %s", raw)
	}
	st, raw = s.do("GET", "/api/v1/devices/p1/d1/messages?to=2025-03-01T12:01:00Z&subtaskId=42", nil, &list)
	if st != 200 || list.Total != 1 || string(list.Items[0]["payload"]) != `{"op":"notify"}` {
		t.Fatalf("to: %d %s", st, raw)
	}
	for query, field := range map[string]string{"direction=up": "direction", "from=yesterday": "from", "to=2025-03-01": "to",
		"subtaskId=x": "subtaskId", "from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z": "to"} {
		st, raw := s.do("GET", "/api/v1/devices/p1/d1/messages?"+query, nil, nil)
		wantAPIErr(t, query, st, raw, 400, field)
	}
	st, raw = s.do("GET", "/api/v1/devices/p1/d9/messages", nil, nil)
	wantAPIErr(t, "unknown device", st, raw, 404, "")
}
