package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"fleettasks/models"
)

// (a) create a 100,000-device task — target ≤ 1 s.
func (b *benchRun) create(ctx context.Context) error {
	const n = 100_000
	if err := b.seedProduct(ctx, "bench-a", n); err != nil {
		return err
	}
	refs := make([]models.DeviceRef, n)
	for i := range refs {
		refs[i] = models.DeviceRef{ProductKey: "bench-a", DeviceName: fmt.Sprintf("d%d", i+1)}
	}
	for _, target := range []models.TargetInput{
		{Type: models.TargetDeviceList, Devices: refs},
		{Type: models.TargetProduct, ProductKey: "bench-a"},
	} {
		var took []time.Duration
		for r := 0; r < b.runs; r++ {
			if err := b.resetTasks(ctx); err != nil {
				return err
			}
			start := time.Now()
			if _, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: "bench", Target: target, JobDocument: json.RawMessage(`{"k":"v"}`)}); err != nil {
				return err
			}
			took = append(took, time.Since(start))
		}
		fmt.Printf("(a) create a 100,000-device task, %-11s  median %s  (runs %v)  target ≤ 1 s\n", target.Type, ms(median(took)), took)
	}
	return b.resetTasks(ctx)
}

// (a′) create a task for a whole product of 1,000,000 devices through
// CreateTask, as the API does — target ≤ 5 s.
func (b *benchRun) createMillion(ctx context.Context) error {
	const n = 1_000_000
	if err := b.seedProduct(ctx, "bench-a2", n); err != nil {
		return err
	}
	if _, err := b.db.Pool.Exec(ctx, `VACUUM ANALYZE devices`); err != nil {
		return err
	}
	var took, all []time.Duration
	for r := 0; r < b.runs; r++ {
		if err := b.resetTasks(ctx); err != nil {
			return err
		}
		start := time.Now()
		task, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: "bench", Target: models.TargetInput{Type: models.TargetProduct, ProductKey: "bench-a2"},
			JobDocument: json.RawMessage(`{"k":"v"}`)})
		if err != nil {
			return err
		}
		took = append(took, time.Since(start))
		if task.Target.DeviceCount != n {
			return fmt.Errorf("the task has %d devices, want %d", task.Target.DeviceCount, n)
		}
		// the rest of the sub-tasks, as a worker makes them
		for more := true; more; {
			if more, err = b.tasks.MaterializeStep(ctx, task.ID); err != nil {
				return err
			}
		}
		all = append(all, time.Since(start))
	}
	fmt.Printf("(a′) create a 1,000,000-device task, PRODUCT  median %s  (runs %v)  target ≤ 5 s\n", ms(median(took)), took)
	fmt.Printf("(a′) ... until all 1,000,000 sub-tasks exist (the workers' chunks)  median %s  (runs %v)\n", ms(median(all)), all)
	return b.resetTasks(ctx)
}
