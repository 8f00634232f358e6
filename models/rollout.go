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
func (t *Tasks) RolloutStep(ctx context.Context, id ID) (Step, error) {
	now := t.now().UTC()
	var step Step
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		var (
			rate  int
			qos   byte
			ep    *time.Time
			count int64
			lag   float64
			doc   string
			file  noticeFileRow
		)
		err := tx.QueryRow(ctx, `SELECT t.rollout_per_minute, t.qos, t.rollout_epoch, t.rollout_sent, t.rollout_lag_seconds,
			t.job_document::text, `+taskFileColumns+`
			FROM tasks t `+taskFileJoin+`
			WHERE t.id = $1 AND t.status = 'IN_PROGRESS' AND t.deleted_at IS NULL AND t.rollout_next_at <= $2
			FOR UPDATE OF t SKIP LOCKED`, id, now).
			Scan(&rate, &qos, &ep, &count, &lag, &doc, &file.id, &file.method, &file.sign)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not running, not due (a step elsewhere ran it), or a step elsewhere has it
		} else if err != nil {
			return err
		}
		epoch := now
		if ep != nil {
			epoch = *ep
		} else {
			count = 0
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
					WHERE task_id = $1 AND status = 'QUEUED' ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
				UPDATE subtasks s SET status = 'SENT', sent_at = $2, updated_at = $2, notify_id = nextval('notify_ids')
				FROM c WHERE s.task_id = $1 AND s.id = c.id
				RETURNING s.id, s.device_id, s.product_key, s.device_name, s.notify_id`, id, now, due)
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
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subtasks WHERE task_id = $1 AND status = 'QUEUED')`, id).Scan(&more); err != nil {
				return err
			}
			next = now.Add(time.Second)
			if !more {
				next = time.Time{}
			}
		}
		if len(notices) > 0 {
			if step.Batch, err = t.recordBatch(ctx, tx, id, SubSent, notices, now); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET rollout_epoch = $2, rollout_sent = $3, rollout_lag_seconds = $4, rollout_next_at = $5
			WHERE id = $1`, id, epoch, count+int64(len(notices)), lag, nullTime(next))
		return err
	})
	if err != nil {
		return Step{}, fmt.Errorf("models: rollout of task %s: %w", id, err)
	}
	return step, nil
}

// nullTime is t, or NULL when t is zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
