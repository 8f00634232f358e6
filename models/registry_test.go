package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// testServerSecret stands for FLEETTASKS_SECRET in the registry tests.
const testServerSecret = "registry-tests-server-secret"

func newRegistry(t *testing.T) (*models.DB, *models.Registry) {
	t.Helper()
	t.Parallel()
	db := testenv.DB(t)
	return db, models.NewRegistry(db, models.WithDeviceSecretKey([]byte(testServerSecret)))
}

// regProduct creates product pk with devices named names.
func regProduct(t *testing.T, r *models.Registry, pk string, names ...string) []models.Device {
	t.Helper()
	ctx := context.Background()
	if _, err := r.CreateProduct(ctx, models.ProductInput{ProductKey: pk, Name: pk}); err != nil {
		t.Fatalf("create product %s: %v", pk, err)
	}
	if len(names) == 0 {
		return nil
	}
	ds, err := r.CreateDevices(ctx, pk, names)
	if err != nil {
		t.Fatalf("create devices of %s: %v", pk, err)
	}
	return ds
}

// wantRegErr fails unless err is a *models.Error of kind on field.
func wantRegErr(t *testing.T, err error, kind models.Kind, field string) *models.Error {
	t.Helper()
	me, ok := models.AsError(err)
	if !ok {
		t.Fatalf("want a %s error on %q, got %v", kind, field, err)
	}
	if me.Kind != kind || me.Field != field {
		t.Fatalf("want a %s error on %q, got %s on %q: %s", kind, field, me.Kind, me.Field, me.Message)
	}
	return me
}

func deviceNames(n int, prefix string) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return names
}

func TestProductValidation(t *testing.T) {
	_, r := newRegistry(t)
	cases := []struct {
		name  string
		in    models.ProductInput
		field string
	}{
		{"empty key", models.ProductInput{}, "productKey"},
		{"key too long", models.ProductInput{ProductKey: strings.Repeat("k", 65)}, "productKey"},
		{"key with a dot", models.ProductInput{ProductKey: "p.1"}, "productKey"},
		{"key with a space", models.ProductInput{ProductKey: "p 1"}, "productKey"},
		{"name too long", models.ProductInput{ProductKey: "p1", Name: strings.Repeat("n", 129)}, "name"},
		{"name with NUL", models.ProductInput{ProductKey: "p1", Name: "a\x00b"}, "name"},
		{"description too long", models.ProductInput{ProductKey: "p1", Description: strings.Repeat("é", 1001)}, "description"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.CreateProduct(context.Background(), tc.in)
			wantRegErr(t, err, models.KindInvalid, tc.field)
		})
	}
	ok := models.ProductInput{ProductKey: strings.Repeat("k", 64), Name: strings.Repeat("n", 128), Description: strings.Repeat("é", 1000)}
	if _, err := r.CreateProduct(context.Background(), ok); err != nil {
		t.Fatalf("longest valid product: %v", err)
	}
}

func TestProductCreateListGet(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	p, err := r.CreateProduct(ctx, models.ProductInput{ProductKey: "p-1", Name: "Lamp", Description: "a lamp"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ProductKey != "p-1" || p.Name != "Lamp" || p.CreatedAt.IsZero() || p.CreatedAt.Location() != time.UTC {
		t.Fatalf("created %+v", p)
	}
	_, err = r.CreateProduct(ctx, models.ProductInput{ProductKey: "p-1"})
	wantRegErr(t, err, models.KindConflict, "productKey")

	regProduct(t, r, "p_2", "a", "b", "c")
	items, total, err := r.ListProducts(ctx, models.Page{Number: 1, Size: 1})
	if err != nil || total != 2 || len(items) != 1 || items[0].ProductKey != "p-1" {
		t.Fatalf("page 1: %+v %d %v", items, total, err)
	}
	items, _, _ = r.ListProducts(ctx, models.Page{Number: 2, Size: 1})
	if len(items) != 1 || items[0].ProductKey != "p_2" || items[0].DeviceCount != 3 {
		t.Fatalf("page 2: %+v", items)
	}
	got, err := r.GetProduct(ctx, "p_2")
	if err != nil || got.DeviceCount != 3 {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, err = r.GetProduct(ctx, "nope")
	wantRegErr(t, err, models.KindNotFound, "")
}

func TestCreateDevicesValidation(t *testing.T) {
	_, r := newRegistry(t)
	regProduct(t, r, "p1")
	bad := func(i int, name string) []string {
		names := deviceNames(5, "d")
		names[i] = name
		return names
	}
	cases := []struct {
		name  string
		names []string
		kind  models.Kind
		field string
	}{
		{"none", nil, models.KindInvalid, "devices"},
		{"10,001", deviceNames(10_001, "d"), models.KindInvalid, "devices"},
		{"empty name", bad(3, ""), models.KindInvalid, "devices[3].deviceName"},
		{"name too long", bad(3, strings.Repeat("x", 65)), models.KindInvalid, "devices[3].deviceName"},
		{"slash", bad(1, "a/b"), models.KindInvalid, "devices[1].deviceName"},
		{"unicode", bad(4, "lämp"), models.KindInvalid, "devices[4].deviceName"},
		{"twice in the request", bad(2, "d00000"), models.KindConflict, "devices[2].deviceName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.CreateDevices(context.Background(), "p1", tc.names)
			wantRegErr(t, err, tc.kind, tc.field)
		})
	}
	_, err := r.CreateDevices(context.Background(), "nope", []string{"d1"})
	wantRegErr(t, err, models.KindNotFound, "")
	_, total, _ := r.ListDevices(context.Background(), models.DeviceFilter{}, models.Page{})
	if total != 0 {
		t.Fatalf("refused calls registered %d devices", total)
	}
}

func TestCreateDevicesAllOrNothing(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "taken")
	names := deviceNames(500, "d")
	names[250] = "bad name"
	_, err := r.CreateDevices(ctx, "p1", names)
	wantRegErr(t, err, models.KindInvalid, "devices[250].deviceName")

	names[250] = "d00250"
	names[400] = "taken" // passes validation, conflicts in the database
	_, err = r.CreateDevices(ctx, "p1", names)
	wantRegErr(t, err, models.KindConflict, "devices[400].deviceName")

	_, total, err := r.ListDevices(ctx, models.DeviceFilter{ProductKey: "p1"}, models.Page{})
	if err != nil || total != 1 {
		t.Fatalf("after two refused calls: %d devices, %v", total, err)
	}
}

func TestCreateDevicesBulk(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1")
	names := deviceNames(models.MaxDevicesPerCall, "lamp-")
	names[7] = "a.b:c@d_e-f"
	start := time.Now()
	ds, err := r.CreateDevices(ctx, "p1", names)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("registered %d devices in %v", len(ds), time.Since(start))
	if len(ds) != len(names) || ds[7].DeviceName != names[7] || ds[7].ID == 0 || ds[7].ProductKey != "p1" {
		t.Fatalf("created %d, [7] = %+v", len(ds), ds[7])
	}
	_, total, _ := r.ListDevices(ctx, models.DeviceFilter{ProductKey: "p1"}, models.Page{})
	if total != int64(len(names)) {
		t.Fatalf("listed %d devices", total)
	}
}

func TestGetDeviceOnline(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "fresh", "stale", "never")
	if _, err := db.Pool.Exec(ctx, `UPDATE devices SET last_seen = now() - CASE device_name
		WHEN 'fresh' THEN interval '1 minute' ELSE interval '10 minutes' END WHERE device_name <> 'never'`); err != nil {
		t.Fatal(err)
	}
	for name, online := range map[string]bool{"fresh": true, "stale": false, "never": false} {
		d, err := r.GetDevice(ctx, "p1", name)
		if err != nil || d.Online != online || (d.LastSeen == nil) != (name == "never") {
			t.Fatalf("%s: %+v %v", name, d, err)
		}
	}
	if d, _ := models.NewRegistry(db, models.WithOfflineAfter(15*time.Minute)).GetDevice(ctx, "p1", "stale"); !d.Online {
		t.Fatalf("stale with a 15-minute window: %+v", d)
	}
	_, err := r.GetDevice(ctx, "p1", "nope")
	wantRegErr(t, err, models.KindNotFound, "")
	_, err = r.GetDevice(ctx, "p1", "bad\x00name")
	wantRegErr(t, err, models.KindNotFound, "")
}

func TestListDevicesFilters(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "lamp-1", "lamp-2", "lampX", "fan-1")
	regProduct(t, r, "p2", "lamp-9", "lamp_9")
	cases := []struct {
		f    models.DeviceFilter
		want string
	}{
		// natural order (ICU, numbers by value): "_" sorts before "-"
		{models.DeviceFilter{}, "p1/fan-1 p1/lamp-1 p1/lamp-2 p1/lampX p2/lamp_9 p2/lamp-9"},
		{models.DeviceFilter{ProductKey: "p1"}, "p1/fan-1 p1/lamp-1 p1/lamp-2 p1/lampX"},
		{models.DeviceFilter{Q: "lamp-"}, "p1/lamp-1 p1/lamp-2 p2/lamp-9"},
		{models.DeviceFilter{Q: "lamp_"}, "p2/lamp_9"}, // _ is not a wildcard
		{models.DeviceFilter{Q: "lamp%"}, ""},
		{models.DeviceFilter{ProductKey: "p2", Q: "lamp"}, "p2/lamp_9 p2/lamp-9"},
		{models.DeviceFilter{ProductKey: "p3"}, ""},
	}
	for _, tc := range cases {
		ds, total, err := r.ListDevices(ctx, tc.f, models.Page{Number: 1, Size: 50})
		if err != nil {
			t.Fatalf("%+v: %v", tc.f, err)
		}
		if got := refsOf(ds); got != tc.want || total != int64(len(ds)) {
			t.Errorf("%+v: got %q (total %d), want %q", tc.f, got, total, tc.want)
		}
	}
	_, _, err := r.ListDevices(ctx, models.DeviceFilter{ProductKey: "bad key"}, models.Page{})
	wantRegErr(t, err, models.KindInvalid, "productKey")
	_, _, err = r.ListDevices(ctx, models.DeviceFilter{Q: strings.Repeat("q", 65)}, models.Page{})
	wantRegErr(t, err, models.KindInvalid, "q")
	_, _, err = r.ListDevices(ctx, models.DeviceFilter{GroupID: 999}, models.Page{})
	wantRegErr(t, err, models.KindNotFound, "groupId")
}

func refsOf(ds []models.Device) string {
	refs := make([]string, len(ds))
	for i, d := range ds {
		refs[i] = d.ProductKey + "/" + d.DeviceName
	}
	return strings.Join(refs, " ")
}

func TestGroupValidation(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		in    models.GroupInput
		field string
	}{
		{"no name", models.GroupInput{Kind: "static"}, "name"},
		{"blank name", models.GroupInput{Name: "  ", Kind: "static"}, "name"},
		{"name too long", models.GroupInput{Name: strings.Repeat("g", 129), Kind: "static"}, "name"},
		{"no kind", models.GroupInput{Name: "g"}, "kind"},
		{"bad kind", models.GroupInput{Name: "g", Kind: "smart"}, "kind"},
		{"static with a query", models.GroupInput{Name: "g", Kind: "static", Query: "productKey = 'p1'"}, "query"},
		{"dynamic without a query", models.GroupInput{Name: "g", Kind: "dynamic"}, "query"},
		{"dynamic with a bad query", models.GroupInput{Name: "g", Kind: "dynamic", Query: "productKey = 'p1' AND deviceName LIKE"}, "query"},
		{"query too long", models.GroupInput{Name: "g", Kind: "dynamic", Query: "deviceName IN ('" + strings.Repeat("x", 4000) + "')"}, "query"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.CreateGroup(ctx, tc.in)
			wantRegErr(t, err, models.KindInvalid, tc.field)
		})
	}
	_, err := r.CreateGroup(ctx, models.GroupInput{Name: "g", Kind: "dynamic", Query: "productKey = 'p1' AND deviceName LIKE"})
	if me, _ := models.AsError(err); !strings.Contains(me.Message, "at position 38: expected a string after LIKE") {
		t.Fatalf("parse error: %v", err)
	}
}

func TestStaticGroup(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "d1", "d2", "d3")
	regProduct(t, r, "p2", "d1")
	g, err := r.CreateGroup(ctx, models.GroupInput{Name: "floor 1", Kind: "static"})
	if err != nil || g.ID == 0 || g.Kind != "static" || g.DeviceCount != 0 {
		t.Fatalf("create: %+v %v", g, err)
	}
	_, err = r.CreateGroup(ctx, models.GroupInput{Name: "floor 1", Kind: "static"})
	wantRegErr(t, err, models.KindConflict, "name")

	refs := []models.DeviceRef{{ProductKey: "p1", DeviceName: "d1"}, {ProductKey: "p2", DeviceName: "d1"}, {ProductKey: "p1", DeviceName: "d1"}}
	if n, err := r.AddGroupDevices(ctx, g.ID, refs); err != nil || n != 2 {
		t.Fatalf("add: %d %v", n, err)
	}
	refs = append(refs, models.DeviceRef{ProductKey: "p1", DeviceName: "d3"})
	if n, err := r.AddGroupDevices(ctx, g.ID, refs); err != nil || n != 1 {
		t.Fatalf("add again (idempotent): %d %v", n, err)
	}
	missing := []models.DeviceRef{{ProductKey: "p1", DeviceName: "d2"}, {ProductKey: "p1", DeviceName: "d9"}}
	_, err = r.AddGroupDevices(ctx, g.ID, missing)
	wantRegErr(t, err, models.KindUnprocessable, "devices[1]")
	_, err = r.AddGroupDevices(ctx, g.ID, []models.DeviceRef{{ProductKey: "p1"}})
	wantRegErr(t, err, models.KindInvalid, "devices[0].deviceName")
	_, err = r.AddGroupDevices(ctx, g.ID, make([]models.DeviceRef, 10_001))
	wantRegErr(t, err, models.KindInvalid, "devices")
	_, err = r.AddGroupDevices(ctx, 999, missing[:1])
	wantRegErr(t, err, models.KindNotFound, "")

	got, err := r.GetGroup(ctx, g.ID)
	if err != nil || got.DeviceCount != 3 {
		t.Fatalf("get: %+v %v", got, err)
	}
	ds, total, err := r.ListDevices(ctx, models.DeviceFilter{GroupID: g.ID}, models.Page{})
	if err != nil || total != 3 || refsOf(ds) != "p1/d1 p1/d3 p2/d1" {
		t.Fatalf("members: %q %d %v", refsOf(ds), total, err)
	}
	ds, _, _ = r.ListDevices(ctx, models.DeviceFilter{GroupID: g.ID, ProductKey: "p1", Q: "d3"}, models.Page{})
	if refsOf(ds) != "p1/d3" {
		t.Fatalf("members filtered: %q", refsOf(ds))
	}
}

func TestDynamicGroup(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "lamp-1", "lamp-2", "fan-1", "fan-2")
	regProduct(t, r, "p2", "lamp-3")
	query := "productKey = 'p1' AND deviceName LIKE 'lamp-%'"
	g, err := r.CreateGroup(ctx, models.GroupInput{Name: "lamps", Kind: "dynamic", Query: query})
	if err != nil || g.Query != query || g.DeviceCount != 2 {
		t.Fatalf("create: %+v %v", g, err)
	}
	_, err = r.AddGroupDevices(ctx, g.ID, []models.DeviceRef{{ProductKey: "p1", DeviceName: "fan-1"}})
	me := wantRegErr(t, err, models.KindUnprocessable, "devices")
	if !strings.Contains(me.Message, "cannot be added to a dynamic group") {
		t.Fatalf("message: %s", me.Message)
	}
	ds, total, err := r.ListDevices(ctx, models.DeviceFilter{GroupID: g.ID}, models.Page{})
	if err != nil || total != 2 || refsOf(ds) != "p1/lamp-1 p1/lamp-2" {
		t.Fatalf("members: %q %d %v", refsOf(ds), total, err)
	}
	other, err := r.CreateGroup(ctx, models.GroupInput{Name: "odd", Kind: "dynamic",
		Query: "NOT (productKey = 'p1') OR deviceName IN ('fan-1', 'it''s')"})
	if err != nil {
		t.Fatal(err)
	}
	ds, _, _ = r.ListDevices(ctx, models.DeviceFilter{GroupID: other.ID, Q: "l"}, models.Page{})
	if refsOf(ds) != "p2/lamp-3" || other.DeviceCount != 2 {
		t.Fatalf("members of odd starting with l: %q of %d", refsOf(ds), other.DeviceCount)
	}
	static, _ := r.CreateGroup(ctx, models.GroupInput{Name: "empty", Kind: "static"})
	gs, total, err := r.ListGroups(ctx, models.Page{})
	if err != nil || total != 3 || len(gs) != 3 {
		t.Fatalf("list: %+v %d %v", gs, total, err)
	}
	counts := fmt.Sprint(gs[0].DeviceCount, gs[1].DeviceCount, gs[2].DeviceCount)
	if gs[0].ID != g.ID || gs[2].ID != static.ID || counts != "2 2 0" {
		t.Fatalf("list: %+v", gs)
	}
}

func TestListDeviceMessages(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	ds := regProduct(t, r, "p1", "d1", "d2")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	insert := `INSERT INTO device_messages (time, device_id, direction, topic, message_id, payload, code, subtask_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	rows := []struct {
		min     int
		dev     models.ID
		dir     string
		payload string
		code    any
		subtask any
	}{
		{0, ds[0].ID, "c2d", `{"a": 1}`, nil, 7},
		{1, ds[0].ID, "d2c", `not json`, 200, 7},
		{2, ds[0].ID, "c2d", `[1,2]`, nil, nil},
		{3, ds[0].ID, "d2c", ``, 404, 8},
		{4, ds[1].ID, "d2c", `{}`, nil, nil},
	}
	for _, m := range rows {
		if _, err := db.Pool.Exec(ctx, insert, base.Add(time.Duration(m.min)*time.Minute), m.dev, m.dir,
			"t/"+m.dir, fmt.Sprint("m", m.min), []byte(m.payload), m.code, m.subtask); err != nil {
			t.Fatal(err)
		}
	}
	at := func(min int) *time.Time { t := base.Add(time.Duration(min) * time.Minute); return &t }
	cases := []struct {
		f    models.MessageFilter
		want string
	}{
		{models.MessageFilter{}, "m3 m2 m1 m0"},
		{models.MessageFilter{Direction: "c2d"}, "m2 m0"},
		{models.MessageFilter{Direction: "d2c", Topic: "t/d2c"}, "m3 m1"},
		{models.MessageFilter{From: at(1), To: at(3)}, "m2 m1"},
		{models.MessageFilter{From: at(1), Direction: "d2c"}, "m3 m1"},
		{models.MessageFilter{SubtaskID: 7}, "m1 m0"},
		{models.MessageFilter{To: at(0)}, ""},
	}
	for _, tc := range cases {
		ms, total, err := r.ListDeviceMessages(ctx, "p1", "d1", tc.f, models.Page{Number: 1, Size: 10})
		if err != nil {
			t.Fatalf("%+v: %v", tc.f, err)
		}
		ids := make([]string, len(ms))
		for i, m := range ms {
			ids[i] = m.MessageID
		}
		if got := strings.Join(ids, " "); got != tc.want || total != int64(len(ms)) {
			t.Errorf("%+v: got %q (total %d), want %q", tc.f, got, total, tc.want)
		}
	}
	ms, total, _ := r.ListDeviceMessages(ctx, "p1", "d1", models.MessageFilter{}, models.Page{Number: 2, Size: 3})
	if total != 4 || len(ms) != 1 || ms[0].MessageID != "m0" {
		t.Fatalf("page 2: %+v %d", ms, total)
	}
	m := ms[0]
	if string(m.Payload) != `{"a": 1}` || m.Code != nil || m.SubtaskID == nil || *m.SubtaskID != 7 || !m.Time.Equal(base) || m.Topic != "t/c2d" {
		t.Fatalf("m0: %+v", m)
	}
	ms, _, _ = r.ListDeviceMessages(ctx, "p1", "d1", models.MessageFilter{Direction: "d2c"}, models.Page{})
	if string(ms[0].Payload) != `""` || *ms[0].Code != 404 || string(ms[1].Payload) != `"not json"` {
		t.Fatalf("payloads as strings: %s %s", ms[0].Payload, ms[1].Payload)
	}

	_, _, err := r.ListDeviceMessages(ctx, "p1", "d1", models.MessageFilter{Direction: "up"}, models.Page{})
	wantRegErr(t, err, models.KindInvalid, "direction")
	_, _, err = r.ListDeviceMessages(ctx, "p1", "d1", models.MessageFilter{From: at(2), To: at(1)}, models.Page{})
	wantRegErr(t, err, models.KindInvalid, "to")
	_, _, err = r.ListDeviceMessages(ctx, "p1", "d9", models.MessageFilter{}, models.Page{})
	wantRegErr(t, err, models.KindNotFound, "")
}

func TestListDeviceMessagesCountIsBounded(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	ds := regProduct(t, r, "p1", "d1")
	if _, err := db.Pool.Exec(ctx, `INSERT INTO device_messages (time, device_id, direction, topic, payload)
		SELECT now() - i * interval '1 second', $1, 'd2c', 't', '{}' FROM generate_series(1, 10050) i`, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	ms, total, err := r.ListDeviceMessages(ctx, "p1", "d1", models.MessageFilter{}, models.Page{Number: 1, Size: 200})
	if err != nil || total != models.MaxMessageCount+1 || len(ms) != 200 || !ms[0].Time.After(ms[199].Time) {
		t.Fatalf("%d items, total %d, %v", len(ms), total, err)
	}
}
