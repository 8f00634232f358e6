package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"fleettasks/models"
)

// (d) statistics of a 1,000,000-sub-task task — target ≤ 20 ms; baseline:
// counting the rows.
func (b *benchRun) statistics(ctx context.Context) error {
	id, err := b.millionTask(ctx)
	if err != nil {
		return err
	}
	var took, counted []time.Duration
	for r := 0; r < 10*b.runs; r++ {
		start := time.Now()
		if _, err := b.tasks.Statistics(ctx, id); err != nil {
			return err
		}
		took = append(took, time.Since(start))
	}
	for r := 0; r < b.runs; r++ {
		start := time.Now()
		rows, err := b.db.Pool.Query(ctx, `SELECT status, count(*) FROM subtasks WHERE task_id = $1 GROUP BY status`, id)
		if err != nil {
			return err
		}
		rows.Close()
		counted = append(counted, time.Since(start))
	}
	fmt.Printf("(d) statistics of a 1,000,000-sub-task task  median %s  (raw count(*) GROUP BY status: %s, %.0fx slower)  target ≤ 20 ms\n",
		ms(median(took)), ms(median(counted)), float64(median(counted))/float64(median(took)))
	return nil
}

// millionTask makes (once) a task of 1,000,000 sub-tasks in a mix of
// statuses, with 10,000 other tasks beside it.
func (b *benchRun) millionTask(ctx context.Context) (models.ID, error) {
	var id models.ID
	if err := b.db.Pool.QueryRow(ctx, `SELECT id FROM tasks WHERE name = 'million'`).Scan(&id); err == nil {
		return id, nil
	}
	fmt.Println("    (setting up 1,000,000 devices, a task of them and 10,000 small tasks: about a minute)")
	if err := b.seedProduct(ctx, "bench-m", 1_000_000); err != nil {
		return 0, err
	}
	task, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: "million", Target: models.TargetInput{Type: "PRODUCT", ProductKey: "bench-m"},
		JobDocument: json.RawMessage(`{"k":"v"}`)})
	if err != nil {
		return 0, err
	}
	// a product's task gets its first chunk of sub-tasks at once and the
	// rest from the workers, which the bench does not run: made here
	for more := true; more; {
		if more, err = b.tasks.MaterializeStep(ctx, task.ID); err != nil {
			return 0, err
		}
	}
	subMix := []models.SubStatus{models.SubSent, models.SubInProgress, models.SubSucceeded, models.SubFailed, models.SubTimedOut, models.SubRejected}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE subtasks SET status = ($2::text[])[1 + id % cardinality($2::text[])],
		sent_at = now() WHERE task_id = $1 AND id % 3 <> 0`, task.ID, subMix); err != nil {
		return 0, err
	}
	if err := b.seedProduct(ctx, "bench-s", 10); err != nil {
		return 0, err
	}
	// started a minute apart, in an order of their own (the list sorts by it)
	if _, err := b.db.Pool.Exec(ctx, `INSERT INTO tasks (name, status, target_type, target_product_key, device_count, job_document, rollout_per_minute, qos, started_at)
		SELECT 'small-' || g, ($1::text[])[1 + g % cardinality($1::text[])], 'PRODUCT', 'bench-s', 10, '{}', 1000, 1,
			now() - ((g * 7919) % 10000) * interval '1 minute'
		FROM generate_series(1, 10000) g`, []models.TaskStatus{models.TaskInProgress, models.TaskCompleted, models.TaskCancelled}); err != nil {
		return 0, err
	}
	_, err = b.db.Pool.Exec(ctx, `VACUUM ANALYZE`)
	return task.ID, err
}
