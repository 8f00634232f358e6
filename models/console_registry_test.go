package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"fleettasks/models"
)

// importErr fails unless err is an import report; it returns "line:reason" lines.
func importErr(t *testing.T, err error) []string {
	t.Helper()
	var ie *models.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("want an import report, got %v", err)
	}
	var out []string
	for _, p := range ie.Problems {
		out = append(out, fmt.Sprintf("%d:%s", p.Line, p.Reason))
	}
	return out
}

func TestImportDevicesReport(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "old")
	cases := []struct {
		name, csv string
		want      []string // line:reason prefixes
	}{
		{"bad header", "pk,dn\np1,a\n", []string{"1:the header must be"}},
		{"empty", "productKey,deviceName\n", []string{"1:the file has no devices"}},
		{"bad characters", "productKey,deviceName\np1,a b\np.1,c\n", []string{"2:deviceName \"a b\" has a character", "3:productKey \"p.1\" has a character"}},
		{"duplicates and taken", "productKey,deviceName\np1,a\np1,a\np1,old\n", []string{"3:is given twice in the file, also on line 2"}},
		{"unknown product and taken", "productKey,deviceName\np9,a\np1,old\np1,new\n", []string{"2:no product \"p9\"", "3:the device is already registered"}},
		{"fields", "productKey,deviceName\np1\n", []string{"2:has 1 fields"}},
		{"not utf-8", "productKey,deviceName\np1,ok\np1,caf\xe9\n", []string{"3:is not UTF-8 text"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.ImportDevices(ctx, strings.NewReader(tc.csv))
			got := importErr(t, err)
			if res.Created != 0 || len(got) != len(tc.want) {
				t.Fatalf("got %d, %q; want %q", res.Created, got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("problem %d: %q, want %q...", i, got[i], tc.want[i])
				}
			}
		})
	}
	_, total, _ := r.ListDevices(ctx, models.DeviceFilter{}, models.Page{})
	if total != 1 {
		t.Fatalf("%d devices after refused imports, want 1 (nothing half-written)", total)
	}
}

func TestImportDevicesBulk(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1")
	regProduct(t, r, "p2")
	var b strings.Builder
	b.WriteString("\xef\xbb\xbfproductKey,deviceName\r\n")
	for i := range models.MaxImportRows {
		fmt.Fprintf(&b, "p%d,dev-%06d\r\n", i%2+1, i)
	}
	res, err := r.ImportDevices(ctx, strings.NewReader(b.String()))
	if err != nil || res.Created != models.MaxImportRows || len(res.Hints) != 0 {
		t.Fatalf("import of %d: %d (%d hints), %v", models.MaxImportRows, res.Created, len(res.Hints), err)
	}
	b.WriteString("p1,one-too-many\n")
	_, err = r.ImportDevices(ctx, strings.NewReader(b.String()))
	got := importErr(t, err)
	if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], fmt.Sprintf("%d:too many rows", models.MaxImportRows+2)) {
		t.Fatalf("too many rows: %q...", got[len(got)-1])
	}
	// every line of the first import is now taken: the report stops at 1000
	_, err = r.ImportDevices(ctx, strings.NewReader(strings.TrimSuffix(b.String(), "p1,one-too-many\n")))
	var ie *models.ImportError
	errors.As(err, &ie)
	if len(ie.Problems) != 1000 || ie.More != models.MaxImportRows-1000 {
		t.Fatalf("the report is bounded: %d problems, %d more", len(ie.Problems), ie.More)
	}
}

func TestDeleteDeviceRemovesItsSubtasks(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	ds := regProduct(t, r, "p1", "d1", "d2")
	files := models.NewFiles(db, t.TempDir(), []byte("secret"), "http://x")
	tasks := models.NewTasks(db, files)
	task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "t", JobDocument: []byte(`{}`), Target: models.TargetInput{
		Type: models.TargetDeviceList, Devices: []models.DeviceRef{{ProductKey: "p1", DeviceName: "d1"}, {ProductKey: "p1", DeviceName: "d2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := r.DeviceSubtaskCounts(ctx, ds[0].ID)
	if err != nil || counts.Total != 1 || counts.Queued != 1 {
		t.Fatalf("counts %+v, %v", counts, err)
	}
	sid := testGroup(t, r, "g1")
	if _, err := r.AddGroupDevices(ctx, sid, []models.DeviceRef{{ProductKey: "p1", DeviceName: "d1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateGroup(ctx, models.GroupInput{Name: "dyn", Kind: models.GroupDynamic, Query: "deviceName = 'd1'"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateGroup(ctx, models.GroupInput{Name: "other", Kind: models.GroupDynamic, Query: "deviceName = 'd2'"}); err != nil {
		t.Fatal(err)
	}
	gs, err := r.DeviceGroups(ctx, &ds[0])
	if err != nil || len(gs) != 2 || gs[0].Name != "dyn" || gs[1].Name != "g1" {
		t.Fatalf("groups of d1: %+v %v", gs, err)
	}

	if err := r.DeleteDevice(ctx, "p1", "d1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM subtasks WHERE device_id = $1`, ds[0].ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d sub-tasks of the deleted device left, %v", n, err)
	}
	stats, _ := tasks.Statistics(ctx, task.ID)
	if stats.Total != 1 {
		t.Fatalf("task statistics after the delete: %+v", stats)
	}
	if err := r.DeleteDevice(ctx, "p1", "d1"); !models.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func testGroup(t *testing.T, r *models.Registry, name string) models.ID {
	t.Helper()
	g, err := r.CreateGroup(context.Background(), models.GroupInput{Name: name, Kind: models.GroupStatic})
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

func TestDeviceMessagePageKeyset(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	ds := regProduct(t, r, "p1", "d1")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	// 7 entries, three of them at the same instant, across a page boundary
	for i, min := range []int{0, 1, 2, 2, 2, 3, 4} {
		dir := "c2d"
		if i%2 == 1 {
			dir = "d2c"
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO device_messages (time, device_id, direction, topic, message_id, payload)
			VALUES ($1, $2, $3, 't', $4, '{}')`, base.Add(time.Duration(min)*time.Minute), ds[0].ID, dir, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	var cur *models.MessageCursor
	for range 10 {
		ms, next, err := r.DeviceMessagePage(ctx, ds[0].ID, models.MessageFilter{}, cur, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			seen = append(seen, m.MessageID)
		}
		if next == nil {
			break
		}
		parsed, err := models.ParseMessageCursor("before", next.String())
		if err != nil || *parsed != *next {
			t.Fatalf("cursor round trip %v: %v %v", next, parsed, err)
		}
		cur = parsed
	}
	if got := strings.Join(seen, " "); got != "m6 m5 m4 m3 m2 m1 m0" {
		t.Fatalf("pages: %q", got)
	}
	ms, _, _ := r.DeviceMessagePage(ctx, ds[0].ID, models.MessageFilter{Direction: models.DirectionC2D}, nil, 50)
	if len(ms) != 4 {
		t.Fatalf("c2d: %d entries", len(ms))
	}
	if _, err := models.ParseMessageCursor("before", "x-1"); err == nil {
		t.Fatal("a bad cursor parsed")
	}
}

func TestGroupPreviewAndRemove(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "lamp-1", "lamp-2", "fan-1")
	ds, total, err := r.PreviewGroupQuery(ctx, "productKey = 'p1' AND deviceName LIKE 'lamp-%'", 1)
	if err != nil || total != 2 || len(ds) != 1 || ds[0].DeviceName != "lamp-1" {
		t.Fatalf("preview: %v %d %v", ds, total, err)
	}
	_, _, err = r.PreviewGroupQuery(ctx, "productKey = 'p1' AND deviceName LIKE", 10)
	var qe *models.QueryError
	if !errors.As(err, &qe) || qe.Pos != 38 {
		t.Fatalf("parse error: %v", err)
	}
	id := testGroup(t, r, "g")
	refs := []models.DeviceRef{{ProductKey: "p1", DeviceName: "lamp-1"}, {ProductKey: "p1", DeviceName: "fan-1"}}
	if _, err := r.AddGroupDevices(ctx, id, refs); err != nil {
		t.Fatal(err)
	}
	n, err := r.RemoveGroupDevices(ctx, id, append(refs[:1], models.DeviceRef{ProductKey: "p1", DeviceName: "lamp-2"}))
	if err != nil || n != 1 {
		t.Fatalf("remove: %d %v", n, err)
	}
	g, _ := r.GetGroup(ctx, id)
	if g.DeviceCount != 1 {
		t.Fatalf("%d members left", g.DeviceCount)
	}
	dyn, _ := r.CreateGroup(ctx, models.GroupInput{Name: "d", Kind: models.GroupDynamic, Query: "productKey = 'p1'"})
	_, err = r.RemoveGroupDevices(ctx, dyn.ID, refs)
	wantRegErr(t, err, models.KindUnprocessable, "devices")
}

func TestRenameGroup(t *testing.T) {
	_, reg := newRegistry(t)
	ctx := context.Background()
	a, err := reg.CreateGroup(ctx, models.GroupInput{Name: "north", Kind: models.GroupStatic})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateGroup(ctx, models.GroupInput{Name: "south", Kind: models.GroupStatic}); err != nil {
		t.Fatal(err)
	}
	if g, err := reg.RenameGroup(ctx, a.ID, "  north-east "); err != nil || g.Name != "north-east" {
		t.Fatalf("rename: %+v %v", g, err)
	}
	for _, tc := range []struct {
		name string
		kind models.Kind
	}{{"south", models.KindConflict}, {"", models.KindInvalid}, {strings.Repeat("n", 129), models.KindInvalid}} {
		if _, err := reg.RenameGroup(ctx, a.ID, tc.name); func() bool { e, ok := models.AsError(err); return !ok || e.Kind != tc.kind || e.Field != "name" }() {
			t.Errorf("rename to %q: %v", tc.name, err)
		}
	}
	if _, err := reg.RenameGroup(ctx, 999999, "x"); !models.IsNotFound(err) {
		t.Fatalf("unknown group: %v", err)
	}
}
