package models_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// Each change of a task records one event, in the transaction of the
// change: an action repeated (a double click, an asynq retry) that changes
// nothing records nothing, and a webhook gets a delivery of the events it
// takes only.
func TestTaskEventsRecordedOncePerChange(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	tasks := models.NewTasks(db, nil)
	hooks := models.NewWebhooks(db)
	ctx := models.WithActor(context.Background(), "ops@example.com")
	all, err := hooks.CreateWebhook(ctx, models.WebhookInput{URL: "https://hooks.example.com/all", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	ends, err := hooks.CreateWebhook(ctx, models.WebhookInput{URL: "https://hooks.example.com/ends", Enabled: true,
		Events: []models.EventType{models.EventCompleted, models.EventCancelled}})
	if err != nil {
		t.Fatal(err)
	}
	off, err := hooks.CreateWebhook(ctx, models.WebhookInput{URL: "https://hooks.example.com/off", Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	devices := testenv.SeedDevices(t, db, testenv.Prefix(t), 2)
	in := models.TaskInput{Name: "fw", Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`)}

	task, err := tasks.CreateTask(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the engine's step, run twice: one first sending
		if _, err := tasks.RolloutStep(context.Background(), task.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE tasks SET rollout_next_at = now() - interval '1 second' WHERE id = $1`, task.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tasks.PauseTask(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.PauseTask(ctx, task.ID); err == nil {
		t.Fatal("a second pause was accepted")
	}
	if _, err := tasks.ResumeTask(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.CancelTask(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.CancelTask(ctx, task.ID); err == nil {
		t.Fatal("a second cancel was accepted")
	}
	got := events(t, tasks, task.ID)
	want := []models.EventType{models.EventCreated, models.EventStarted, models.EventPaused, models.EventResumed, models.EventCancelled}
	if !slices.Equal(types(got), want) {
		t.Fatalf("events %v, want %v", types(got), want)
	}
	for _, e := range got {
		wantActor := "ops@example.com"
		if e.Event == models.EventStarted {
			wantActor = "" // the engine
		}
		if e.Actor != wantActor {
			t.Errorf("%s by %q, want %q", e.Event, e.Actor, wantActor)
		}
	}
	var snap models.EventTask
	if err := json.Unmarshal(got[4].Task, &snap); err != nil || snap.Status != models.TaskCancelled || snap.ID != task.ID || snap.Name != "fw" {
		t.Fatalf("the cancel's task snapshot %s: %v", got[4].Task, err)
	}

	// the engine completes a task once, however often its sweep runs
	done, err := tasks.CreateTask(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE subtasks SET status = 'SUCCEEDED' WHERE task_id = $1`, done.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := tasks.CompleteFinished(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got = events(t, tasks, done.ID)
	if !slices.Equal(types(got), []models.EventType{models.EventCreated, models.EventCompleted}) {
		t.Fatalf("events of the completed task: %v", types(got))
	}
	var data struct{ Counts map[string]int64 }
	if err := json.Unmarshal(got[1].Data, &data); err != nil || data.Counts["SUCCEEDED"] != 2 || len(data.Counts) != 1 {
		t.Fatalf("the completion's counts %s: %v", got[1].Data, err)
	}

	for _, c := range []struct {
		hook *models.Webhook
		want []models.EventType
	}{
		{all, []models.EventType{models.EventCompleted, models.EventCreated, models.EventCancelled, models.EventResumed,
			models.EventPaused, models.EventStarted, models.EventCreated}},
		{ends, []models.EventType{models.EventCompleted, models.EventCancelled}},
		{off, nil},
	} {
		l, err := hooks.Deliveries(ctx, c.hook.ID, models.Page{Number: 1, Size: 50})
		if err != nil {
			t.Fatal(err)
		}
		var got []models.EventType
		for _, d := range l.Items {
			got = append(got, d.Event)
			if d.Status != models.DeliveryPending || d.Attempts != 0 || d.TaskID == nil {
				t.Errorf("new delivery %+v", d)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("deliveries to %s: %v, want %v", c.hook.URL, got, c.want)
		}
	}
}

func events(t *testing.T, tasks *models.Tasks, id models.ID) []models.TaskEvent {
	t.Helper()
	l, err := tasks.TaskEvents(context.Background(), id, models.Page{Number: 1, Size: 100}, false)
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func types(es []models.TaskEvent) []models.EventType {
	var out []models.EventType
	for _, e := range es {
		out = append(out, e.Event)
	}
	return out
}
