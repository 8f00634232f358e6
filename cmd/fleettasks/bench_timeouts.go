package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"fleettasks/models"
)

// (e) 100,000 IN_PROGRESS sub-tasks reaching their timeout together: all
// TIMED_OUT within 10 s of the deadline, by the server's sweeper.
func (b *benchRun) timeouts(ctx context.Context) error {
	const n = 100_000
	if err := b.seedProduct(ctx, "bench-e", n); err != nil {
		return err
	}
	server, err := b.startServer(ctx)
	if err != nil {
		return err
	}
	defer stopServer(server)
	var took []time.Duration
	for r := 0; r < b.runs; r++ {
		timeout := 60
		task, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: "timeouts", Target: models.TargetInput{Type: "PRODUCT", ProductKey: "bench-e"},
			JobDocument: json.RawMessage(`{}`), InProgressTimeoutMinutes: &timeout, RolloutPerMinute: ptrInt(1)})
		if err != nil {
			return err
		}
		// as if every device had started at once: one deadline for all
		deadline := time.Now().Add(3 * time.Second)
		if _, err := b.db.Pool.Exec(ctx, `UPDATE subtasks SET status = 'IN_PROGRESS', sent_at = now(), started_at = now(), timeout_at = $2
			WHERE task_id = $1`, task.ID, deadline); err != nil {
			return err
		}
		for {
			st, err := b.tasks.Statistics(ctx, task.ID)
			if err != nil {
				return err
			}
			if st.TimedOut == n {
				break
			}
			if time.Since(deadline) > time.Minute {
				return fmt.Errorf("only %d of %d timed out a minute after the deadline", st.TimedOut, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took = append(took, time.Since(deadline))
	}
	fmt.Printf("(e) 100,000 sub-tasks timing out together: all TIMED_OUT %s after the deadline (median; runs %v)  target ≤ 10 s\n", ms(median(took)), took)
	return b.resetTasks(ctx)
}

func ptrInt(v int) *int { return &v }
