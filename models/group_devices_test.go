package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"fleettasks/models"
)

func testGroup(t *testing.T, r *models.Registry, name string) models.ID {
	t.Helper()
	g, err := r.CreateGroup(context.Background(), models.GroupInput{Name: name, Kind: models.GroupStatic})
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
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
