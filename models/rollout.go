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
// worth (a worker was down) is forgiven rather than sent in a burst; the
// returned sent is the adjusted count.
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

// RolloutTick sends the sub-tasks of task id that are due under its rate.
// One transaction locks the task row (SKIP LOCKED: a concurrent step of the
// same task does nothing), moves the due QUEUED sub-tasks to SENT in one
// statement (claimed FOR UPDATE SKIP LOCKED) and records them as a notify
// batch; only after the commit are the notifies published, so that a device
// answering at once finds its sub-task SENT. A failed publish returns the
// sub-task to QUEUED; a batch left behind by a worker that died before it
// knew is published again by the scan (RepublishPending). It reports how
// many were sent and when the next one is due (zero when there is nothing
// more to send or the step did not run).
func (t *Tasks) RolloutTick(ctx context.Context, id ID, n Notifier) (sent int, next time.Time, err error) {
	now := t.now().UTC()
	var (
		notices []Notice
		batch   int64
		epoch   time.Time
		rate    int
		count   int64
	)
	err = pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		var (
			qos    byte
			ep     *time.Time
			doc    string
			fileID *ID
			signM  *string
		)
		err := tx.QueryRow(ctx, `SELECT rollout_per_minute, qos, rollout_epoch, rollout_sent, job_document::text, job_file_id, sign_method
			FROM tasks WHERE id = $1 AND status = 'IN_PROGRESS' AND deleted_at IS NULL FOR UPDATE SKIP LOCKED`, id).
			Scan(&rate, &qos, &ep, &count, &doc, &fileID, &signM)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not running, or another step has it
		} else if err != nil {
			return err
		}
		if epoch = now; ep != nil {
			epoch = *ep
		} else {
			count = 0
		}
		var due int64
		if due, count = RolloutDue(epoch, now, rate, count); due <= 0 {
			next = nextDue(epoch, rate, count)
			return nil
		}
		msgIDs, err := n.NotifyIDs(ctx, int(due))
		if err != nil {
			return err
		}
		if notices, err = sendQueued(ctx, tx, id, now, msgIDs); err != nil || len(notices) == 0 {
			return err
		}
		var file *NoticeFile
		if fileID != nil {
			f, err := t.files.Get(ctx, *fileID)
			if err != nil {
				return err
			}
			file = &NoticeFile{FileID: f.ID, SignMethod: *signM, Sign: f.Sign(*signM)}
		}
		ids := make([]int64, len(notices))
		for i := range notices {
			notices[i].Status, notices[i].QoS, notices[i].Document, notices[i].File = SubSent, qos, []byte(doc), file
			ids[i] = int64(notices[i].SubtaskID)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO notify_batches (task_id, subtask_ids, created_at) VALUES ($1, $2, $3) RETURNING id`,
			id, ids, now).Scan(&batch); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET rollout_epoch = $2, rollout_sent = $3 WHERE id = $1`, id, epoch, count+int64(len(notices)))
		return err
	})
	if err != nil || len(notices) == 0 {
		if err != nil {
			err = fmt.Errorf("models: rollout of task %s: %w", id, err)
		}
		return 0, next, err
	}
	ok, err := t.publishBatch(ctx, n, id, batch, notices)
	if err != nil {
		return ok, time.Time{}, err
	}
	if ok == len(notices) {
		next = nextDue(epoch, rate, count+int64(ok))
	}
	return ok, next, nil
}

// sendQueued moves up to len(msgIDs) QUEUED sub-tasks of a task, oldest
// first, to SENT with those notify ids, and returns them as notices.
func sendQueued(ctx context.Context, tx pgx.Tx, taskID ID, now time.Time, msgIDs []int64) ([]Notice, error) {
	rows, err := tx.Query(ctx, `UPDATE subtasks s SET status = 'SENT', sent_at = $2, updated_at = $2, notify_id = c.nid
		FROM (SELECT id, ($3::bigint[])[row_number() OVER (ORDER BY id)] AS nid FROM (SELECT id FROM subtasks
			WHERE task_id = $1 AND status = 'QUEUED' ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) claimed) c
		WHERE s.task_id = $1 AND s.id = c.id
		RETURNING s.id, s.device_id, s.product_key, s.device_name, s.notify_id`, taskID, now, msgIDs, len(msgIDs))
	if err != nil {
		return nil, fmt.Errorf("models: send queued sub-tasks of task %s: %w", taskID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var x Notice
		err := r.Scan(&x.SubtaskID, &x.DeviceID, &x.ProductKey, &x.DeviceName, &x.MessageID)
		return x, err
	})
}

// publishBatch publishes a committed notify batch, puts the sub-tasks whose
// notify the broker refused back in the queue, and forgets the batch.
func (t *Tasks) publishBatch(ctx context.Context, n Notifier, taskID ID, batch int64, notices []Notice) (int, error) {
	errs := n.Publish(ctx, notices)
	var failed []int64
	for i, e := range errs {
		if e != nil {
			failed = append(failed, int64(notices[i].SubtaskID))
		}
	}
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		// losing this commit in a database crash only means publishing
		// the batch again: no need to wait for the disk
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		if len(failed) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'QUEUED', sent_at = NULL, notify_id = NULL
				WHERE task_id = $1 AND id = ANY($2) AND status = 'SENT'`, taskID, failed)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE tasks SET rollout_sent = greatest(rollout_sent - $2, 0) WHERE id = $1`, taskID, tag.RowsAffected()); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM notify_batches WHERE id = $1`, batch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("models: settle notify batch of task %s: %w", taskID, err)
	}
	return len(notices) - len(failed), nil
}

// RepublishPending publishes again the notify batches that a worker left
// behind (it died between the commit and the broker's acknowledgement):
// the sub-tasks still SENT get their notify again, with its original id.
func (t *Tasks) RepublishPending(ctx context.Context, n Notifier, olderThan time.Duration) (int, error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT id, task_id FROM notify_batches WHERE created_at < $1 ORDER BY id LIMIT 100`,
		t.now().UTC().Add(-olderThan))
	if err != nil {
		return 0, fmt.Errorf("models: pending notify batches: %w", err)
	}
	type pending struct{ batch, task int64 }
	batches, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pending, error) {
		var p pending
		return p, r.Scan(&p.batch, &p.task)
	})
	if err != nil {
		return 0, err
	}
	done := 0
	for _, b := range batches {
		rows, err := t.db.Pool.Query(ctx, `SELECT s.id, s.device_id, s.product_key, s.device_name, s.notify_id, t.qos,
			t.job_document::text, t.job_file_id, t.sign_method, CASE t.sign_method WHEN 'MD5' THEN f.md5 ELSE f.sha256 END
			FROM notify_batches nb JOIN subtasks s ON s.task_id = nb.task_id AND s.id = ANY(nb.subtask_ids)
			JOIN tasks t ON t.id = s.task_id LEFT JOIN files f ON f.id = t.job_file_id
			WHERE nb.id = $1 AND s.status = 'SENT'`, b.batch)
		if err != nil {
			return done, err
		}
		notices, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
			var x Notice
			var doc string
			var fileID *ID
			var method, sign *string
			err := r.Scan(&x.SubtaskID, &x.DeviceID, &x.ProductKey, &x.DeviceName, &x.MessageID, &x.QoS, &doc, &fileID, &method, &sign)
			x.Status, x.Document = SubSent, []byte(doc)
			if fileID != nil && method != nil && sign != nil {
				x.File = &NoticeFile{FileID: *fileID, SignMethod: *method, Sign: *sign}
			}
			return x, err
		})
		if err != nil {
			return done, err
		}
		ok, err := t.publishBatch(ctx, n, ID(b.task), b.batch, notices)
		if err != nil {
			return done, err
		}
		done += ok
	}
	return done, nil
}

// RolloutCandidates lists the running tasks that still have QUEUED
// sub-tasks, for the per-second rollout scan.
func (t *Tasks) RolloutCandidates(ctx context.Context) ([]ID, error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT t.id FROM tasks t WHERE t.status = 'IN_PROGRESS' AND t.deleted_at IS NULL
		AND (SELECT coalesce(sum(n), 0) FROM task_counters c WHERE c.task_id = t.id AND c.status = 'QUEUED') > 0 ORDER BY t.id`)
	if err != nil {
		return nil, fmt.Errorf("models: rollout candidates: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[ID])
}

// rolloutLockSpace keeps rollout leases apart from other advisory locks.
const rolloutLockSpace = int64(0x7469) << 48

// RolloutLease takes the rollout of task id for the caller: a session
// advisory lock on its own connection, so that one worker at a time paces a
// task, and one that dies lets go at once (its connection closes). ok is
// false when another holds it; release must be called when ok.
func (t *Tasks) RolloutLease(ctx context.Context, id ID) (release func(), ok bool, err error) {
	conn, err := t.db.Pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("models: rollout lease of task %s: %w", id, err)
	}
	key := rolloutLockSpace | int64(id)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Release()
		return nil, false, err
	}
	return func() {
		conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, key)
		conn.Release()
	}, true, nil
}
