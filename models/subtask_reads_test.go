package models_test

import (
	"context"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func TestSubtaskReads(t *testing.T) {
	db, tasks := newTasks(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, db, pk, 3)
	ctx := context.Background()
	a, err := tasks.CreateTask(ctx, models.TaskInput{Name: "a", Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tasks.CreateTask(ctx, models.TaskInput{Name: "b", Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices[:1]}, JobDocument: []byte(`{"k":"v"}`)})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := tasks.StatisticsOf(ctx, []models.ID{a.ID, b.ID, 999999})
	if err != nil {
		t.Fatal(err)
	}
	if stats[a.ID].Total != 3 || stats[a.ID].Queued != 3 || stats[b.ID].Total != 1 || stats[999999].Total != 0 {
		t.Fatalf("StatisticsOf = %+v %+v %+v", stats[a.ID], stats[b.ID], stats[999999])
	}

	subs, err := tasks.ListSubtasks(ctx, a.ID, models.SubtaskFilter{}, models.Page{Number: 1, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tasks.GetSubtask(ctx, a.ID, subs.Items[1].ID)
	if err != nil || s.DeviceName != subs.Items[1].DeviceName {
		t.Fatalf("GetSubtask = %+v, %v", s, err)
	}
	if _, err := tasks.GetSubtask(ctx, b.ID, subs.Items[1].ID); !models.IsNotFound(err) {
		t.Fatalf("GetSubtask of another task: %v, want not found", err)
	}

	if err := (models.TaskInput{Name: "", Target: models.TargetInput{Type: "PRODUCT", ProductKey: pk}}).Validate(time.Now()); err == nil {
		t.Fatal("Validate accepted an empty name")
	} else if e, _ := models.AsError(err); e.Field != "name" {
		t.Fatalf("Validate: field %q, want name", e.Field)
	}
}
