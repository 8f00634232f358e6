package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// maxTickBatch bounds the sub-tasks one rollout step sends.
const maxTickBatch = 10_000

// RolloutDue computes how many sub-tasks a rollout may send at now. It
// sends in per-second batches: at the start of second s since epoch the
// first ceil((s+1)*rate/60) sub-tasks are due, so the n-th (from 0) goes at
// second floor(n*60/rate). A small rate is spread evenly (1 a minute is one
// at 0 s, 60 s, 120 s ...), a large one goes as one batch a second, and any
// 60 s window holds the rate (±1). A backlog of more than one second's
// worth (the rollout fell behind) is not sent in a burst, which would break
// the rate: the schedule moves on, the returned sent is the adjusted count,
// and the difference is what the rollout fell behind (see RolloutStep).
func RolloutDue(epoch, now time.Time, rate int, sent int64) (due int64, newSent int64) {
	sec := int64(0)
	if now.After(epoch) {
		sec = int64(now.Sub(epoch) / time.Second)
	}
	r := int64(rate)
	total := ((sec+1)*r + 59) / 60
	burst := (r + 59) / 60
	if total-sent > burst {
		sent = total - burst
	}
	due = total - sent
	if due > maxTickBatch {
		due = maxTickBatch
	}
	return due, sent
}

// nextDue is when the sub-task after the first sent ones is due: the start
// of its second.
func nextDue(epoch time.Time, rate int, sent int64) time.Time {
	return epoch.Add(time.Duration(sent*60/int64(rate)) * time.Second)
}

// DueRollouts lists up to limit running tasks whose next rollout batch is
// due, the longest waiting first.
func (t *Tasks) DueRollouts(ctx context.Context, limit int) ([]ID, error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT id FROM tasks WHERE rollout_next_at <= $1
		AND status = 'IN_PROGRESS' AND deleted_at IS NULL ORDER BY rollout_next_at LIMIT $2`, t.now().UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("models: due rollouts: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[ID])
}

// Step is what one rollout step of a task did.
type Step struct {
	// Batch is the notifies to publish (nil when nothing was sent).
	Batch *NotifyBatch
	// Behind is how many seconds the rollout fell behind its schedule in
	// this step (it came more than a second late).
	Behind float64
}

// RolloutStep sends the sub-tasks of task id that are due under its rate.
// One transaction locks the task row (SKIP LOCKED: a step of the same task
// running elsewhere wins, and this one does nothing), moves the due QUEUED
// sub-tasks to SENT in one statement (claimed FOR UPDATE SKIP LOCKED) with
// their notify ids, records them in the outbox (notify_batches) under a
// lease held by the caller, and sets when the next batch is due. Nothing
// leaves the database: the caller publishes the batch after the commit (so
// that a device answering at once finds its sub-task SENT) and settles it
// (SettleBatch); a batch whose publisher died is claimed again by another
// worker (ClaimStaleBatches).
//
// A task with a rollout policy is judged first (rolloutView.plan, from the
// maintained counters): a tripped abort criterion pauses or cancels it
// before anything is sent, and only the waves opened are sent, at the
// policy's rate. Such a task is stepped every second while it runs, so
// its criteria and gates are judged within a second of any change.
func (t *Tasks) RolloutStep(ctx context.Context, id ID) (Step, error) {
	now := t.now().UTC()
	var step Step
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		var (
			maxRate int
			qos     byte
			ep      *time.Time
			count   int64
			lag     float64
			doc     string
			file    noticeFileRow
			pol     *Policy
			v       = rolloutView{now: now}
			bounds  []int64
			devices int64
			current *int
			dis     []string
		)
		err := tx.QueryRow(ctx, `SELECT t.rollout_per_minute, t.qos, t.rollout_epoch, t.rollout_sent, t.rollout_lag_seconds,
			t.job_document::text, `+taskFileColumns+`, t.policy, t.rollout_wave, coalesce(t.wave_opened_at, t.started_at, $2),
			t.approved_wave, t.paused_at IS NOT NULL, t.disarmed, t.wave_bounds, t.device_count, t.rollout_rate
			FROM tasks t `+taskFileJoin+`
			WHERE t.id = $1 AND t.status = 'IN_PROGRESS' AND t.deleted_at IS NULL AND t.rollout_next_at <= $2
			FOR UPDATE OF t SKIP LOCKED`, id, now).
			Scan(&maxRate, &qos, &ep, &count, &lag, &doc, &file.id, &file.method, &file.sign, &pol, &v.wave, &v.openedAt,
				&v.approved, &v.paused, &dis, &bounds, &devices, &current)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not running, not due (a step elsewhere ran it), or a step elsewhere has it
		} else if err != nil {
			return err
		}
		plan := rolloutPlan{release: !v.paused, rate: maxRate, wave: v.wave, openedAt: v.openedAt}
		if pol != nil {
			if v.counts, err = collectWaveCounts(tx.Query(ctx, waveCountsSQL, id)); err != nil {
				return err
			}
			v.policy, v.maxRate, v.sizes = pol, maxRate, sizesOf(bounds, devices)
			v.disarmed = make(map[string]bool, len(dis))
			for _, d := range dis {
				v.disarmed[d] = true
			}
			plan = v.plan()
		}
		if plan.trip != nil {
			return t.trip(ctx, tx, id, plan.trip)
		}
		if plan.ended {
			return t.end(ctx, tx, id, pol.EndBehavior, now)
		}
		if pol != nil {
			// failed sub-tasks whose backoff is over go back in the queue
			if _, err := requeueRetries(ctx, tx, id, pol.Retry, now, maxTickBatch); err != nil {
				return err
			}
		}
		rate := maxRate
		if current != nil {
			rate = *current
		}
		epoch := now
		if ep != nil && rate == plan.rate && plan.release {
			epoch = *ep
		} else {
			count = 0 // a new schedule: the rate changed, or nothing is sent now
		}
		rate = plan.rate
		// nothing sent yet under this schedule: perhaps the run's first sending
		fresh := count == 0
		if !plan.release {
			next := time.Time{} // paused without a policy: resume wakes it
			if pol != nil {
				next = now.Add(time.Second)
			}
			_, err = tx.Exec(ctx, `UPDATE tasks SET rollout_epoch = NULL, rollout_sent = 0, rollout_rate = $2, rollout_next_at = $3,
				rollout_wave = $4, wave_opened_at = $5 WHERE id = $1`, id, rate, nullTime(next), plan.wave, plan.openedAt)
			return err
		}
		due, adjusted := RolloutDue(epoch, now, rate, count)
		if adjusted > count {
			step.Behind = float64(adjusted-count) * 60 / float64(rate)
			lag += step.Behind
		}
		count = adjusted
		var notices []Notice
		if due > 0 {
			rows, err := tx.Query(ctx, `WITH c AS MATERIALIZED (SELECT id FROM subtasks
					WHERE task_id = $1 AND status = 'QUEUED' AND wave <= $4 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
				UPDATE subtasks s SET status = 'SENT', sent_at = $2, updated_at = $2, notify_id = nextval('notify_ids')
				FROM c WHERE s.task_id = $1 AND s.id = c.id
				RETURNING s.id, s.device_id, s.product_key, s.device_name, s.notify_id`, id, now, due, plan.wave)
			if err != nil {
				return err
			}
			if notices, err = collectNotices(rows, SubSent, qos, []byte(doc), file.notice()); err != nil {
				return err
			}
		}
		next := nextDue(epoch, rate, count+int64(len(notices)))
		if int64(len(notices)) < due {
			// fewer than due were QUEUED: done, unless some were locked
			var more bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subtasks WHERE task_id = $1 AND status = 'QUEUED' AND wave <= $2)`,
				id, plan.wave).Scan(&more); err != nil {
				return err
			}
			next = now.Add(time.Second)
			if !more && pol == nil {
				next = time.Time{}
			}
		}
		if pol != nil && next.After(now.Add(time.Second)) {
			next = now.Add(time.Second) // judged every second
		}
		if len(notices) > 0 {
			if step.Batch, err = t.recordBatch(ctx, tx, id, SubSent, notices, now); err != nil {
				return err
			}
			if fresh {
				if err := t.recordStarted(ctx, tx, id, now); err != nil {
					return err
				}
			}
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET rollout_epoch = $2, rollout_sent = $3, rollout_lag_seconds = $4, rollout_next_at = $5,
			rollout_rate = $6, rollout_wave = $7, wave_opened_at = $8
			WHERE id = $1`, id, epoch, count+int64(len(notices)), lag, nullTime(next), rate, plan.wave, plan.openedAt)
		return err
	})
	if err != nil {
		return Step{}, fmt.Errorf("models: rollout of task %s: %w", id, err)
	}
	return step, nil
}

// waveCountsSQL reads a task's sub-tasks by wave and status from the
// maintained counters (collectWaveCounts).
const waveCountsSQL = `SELECT wave, status, sum(n)::bigint FROM task_counters WHERE task_id = $1 GROUP BY wave, status`

func collectWaveCounts(rows pgx.Rows, err error) (waveCounts, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c := waveCounts{}
	for rows.Next() {
		var wave int
		var s SubStatus
		var n int64
		if err := rows.Scan(&wave, &s, &n); err != nil {
			return nil, err
		}
		c.add(wave, s, n)
	}
	return c, rows.Err()
}

// sizesOf is the size of each wave of a target of n devices.
func sizesOf(bounds []int64, n int64) []int64 {
	sizes := make([]int64, 0, len(bounds)+1)
	start := int64(1)
	for _, b := range bounds {
		sizes = append(sizes, b-start)
		start = b
	}
	return append(sizes, n-start+1)
}

// end acts on a policy's end time: STOP_ROLLOUT cancels the sub-tasks
// never sent (their devices never knew of them; those sent go on, and the
// task completes when they finish), CANCEL cancels the task.
func (t *Tasks) end(ctx context.Context, tx pgx.Tx, id ID, behavior string, now time.Time) error {
	if behavior == EndCancel {
		_, err := tx.Exec(ctx, `UPDATE tasks SET status = 'CANCELLED', finished_at = $2, updated_at = $2, rollout_next_at = NULL
			WHERE id = $1`, id, now)
		if err != nil {
			return err
		}
		return recordEvent(ctx, tx, id, EventCancelled, "", map[string]any{"reason": "end time"}, now)
	}
	_, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'CANCELLED', finished_at = $2, updated_at = $2,
		message = 'not sent: the task''s end time passed first' WHERE task_id = $1 AND status = 'QUEUED'`, id, now)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE tasks SET rollout_next_at = NULL, updated_at = $2 WHERE id = $1`, id, now)
	return err
}

// trip records the abort criterion that tripped and acts on it: a PAUSE
// pauses the task, a CANCEL cancels it (its sub-tasks are then stopped
// like any cancelled task's).
func (t *Tasks) trip(ctx context.Context, tx pgx.Tx, id ID, tr *Tripped) error {
	var err error
	then := EventPaused
	if tr.Criterion.Action == ActionCancel {
		then = EventCancelled
		_, err = tx.Exec(ctx, `UPDATE tasks SET status = 'CANCELLED', finished_at = $2, updated_at = $2, tripped = $3,
			rollout_next_at = NULL WHERE id = $1`, id, tr.At, tr)
	} else {
		_, err = tx.Exec(ctx, `UPDATE tasks SET paused_at = $2, updated_at = $2, tripped = $3, rollout_next_at = $4,
			rollout_epoch = NULL, rollout_sent = 0 WHERE id = $1`, id, tr.At, tr, tr.At.Add(time.Second))
	}
	if err != nil {
		return err
	}
	if err := recordEvent(ctx, tx, id, EventTripped, "", map[string]any{"tripped": tr, "text": tr.Text()}, tr.At); err != nil {
		return err
	}
	return recordEvent(ctx, tx, id, then, "", map[string]any{"reason": "abort criterion", "text": tr.Text()}, tr.At)
}

// recordStarted records task.started at the first sending of a run of
// task id (its first since its creation or its latest rerun). The caller
// holds the task's row lock, and asks only when its schedule has sent
// nothing yet (a step that has sent before has recorded it).
func (t *Tasks) recordStarted(ctx context.Context, tx pgx.Tx, id ID, now time.Time) error {
	var first bool
	err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM task_events WHERE task_id = $1 AND type = $2
		AND id > coalesce((SELECT max(id) FROM task_events WHERE task_id = $1 AND type = $3), 0))`,
		id, EventStarted, EventRerun).Scan(&first)
	if err != nil || !first {
		return err
	}
	return recordEvent(ctx, tx, id, EventStarted, "", nil, now)
}

// nullTime is t, or NULL when t is zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
