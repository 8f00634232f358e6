package models_test

import (
	"context"
	"testing"

	"fleettasks/models"
)

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
