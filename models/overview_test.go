package models_test

import (
	"context"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func TestEstimateSend(t *testing.T) {
	paused := time.Now()
	cases := []struct {
		name  string
		task  models.Task
		stats models.Statistics
		rate  int
		want  models.ETA
	}{
		{"queue at the rate", models.Task{Status: models.TaskInProgress}, models.Statistics{Total: 10, Queued: 5}, 2, models.ETA{Known: true, Left: 3 * time.Minute}},
		{"scheduled", models.Task{Status: models.TaskScheduled}, models.Statistics{Total: 10, Queued: 10}, 2, models.ETA{Reason: "not started yet"}},
		{"paused", models.Task{Status: models.TaskInProgress, PausedAt: &paused}, models.Statistics{Total: 10, Queued: 5}, 2, models.ETA{Reason: "paused"}},
		{"all sent, devices at work", models.Task{Status: models.TaskInProgress}, models.Statistics{Total: 10, Sent: 1, InProgress: 2, Succeeded: 7}, 2,
			models.ETA{Reason: "all sent; 3 devices still at work"}},
		{"waves", models.Task{Status: models.TaskInProgress, Policy: &models.Policy{Waves: []models.Wave{{}, {}}}}, models.Statistics{Total: 10, Queued: 5}, 2,
			models.ETA{Reason: "its waves open on their gates"}},
		{"exponential rate", models.Task{Status: models.TaskInProgress, Policy: &models.Policy{ExponentialRate: &models.ExponentialRate{}}},
			models.Statistics{Total: 100, Queued: 100}, 30, models.ETA{Known: true, Left: 4 * time.Minute, Reason: "at the current rate, which rises"}},
	}
	for _, c := range cases {
		if got := c.task.EstimateSend(&c.stats, c.rate); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestPruneActivity(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO fleet_activity (width, bucket, kind, shard, n) VALUES
		(1, $1, 'SENT', 0, 1), (1, $2, 'SENT', 0, 1), (60, $2, 'SENT', 0, 1), (60, $3, 'SENT', 0, 1)`,
		now.Add(-time.Hour), now.Add(-3*24*time.Hour), now.Add(-9*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.PruneActivity(ctx, now); err != nil {
		t.Fatal(err)
	}
	var left string
	if err := db.Pool.QueryRow(ctx, `SELECT string_agg(width || '@' || (extract(epoch FROM $1 - bucket) / 3600)::int, ' ' ORDER BY width, bucket)
		FROM fleet_activity`, now).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != "1@1 60@72" {
		t.Fatalf("left after pruning: %s", left)
	}
}
