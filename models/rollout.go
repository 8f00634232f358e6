package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// maxTickBatch bounds the sub-tasks one rollout tick sends.
const maxTickBatch = 10_000

// RolloutDue computes how many sub-tasks a rollout may send at now. The
// n-th sub-task (from 0) since epoch is due at epoch + n*60s/rate, so small
// rates spread evenly and large ones go in per-second batches. A backlog of
// more than one second's worth (a worker was down) is forgiven rather than
// sent in a burst; the returned sent is the adjusted count.
func RolloutDue(epoch, now time.Time, rate int, sent int64) (due int64, newSent int64) {
	elapsed := now.Sub(epoch).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	total := int64(math.Floor(elapsed*float64(rate)/60)) + 1
	burst := int64(math.Ceil(float64(rate) / 60))
	if total-sent > burst {
		sent = total - burst
	}
	due = total - sent
	if due > maxTickBatch {
		due = maxTickBatch
	}
	return due, sent
}

// RolloutTick sends the sub-tasks of task id that are due under its rate.
// One transaction locks the task row (SKIP LOCKED: a concurrent tick of the
// same task does nothing), claims due QUEUED sub-tasks (FOR UPDATE SKIP
// LOCKED) and commits them SENT with notify_pending set; only then are the
// notifies published, so that a device answering at once finds its sub-task
// SENT. A failed publish returns the sub-task to QUEUED; a worker that dies
// before it knows leaves notify_pending set, and the scan publishes those
// again (RepublishPending). It reports how many were sent and when the next
// one is due (zero when there is nothing more to send or the tick did not
// run).
func (t *Tasks) RolloutTick(ctx context.Context, id ID, n Notifier) (sent int, next time.Time, err error) {
	now := t.now().UTC()
	var (
		notices []Notice
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
			return nil // not running, or another tick has it
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
		if notices, err = claimQueued(ctx, tx, id, due); err != nil || len(notices) == 0 {
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
		msgIDs, err := n.NotifyIDs(ctx, len(notices))
		if err != nil {
			return err
		}
		ids := make([]int64, len(notices))
		for i := range notices {
			notices[i].MessageID, notices[i].Status, notices[i].QoS = msgIDs[i], SubSent, qos
			notices[i].Document, notices[i].File = []byte(doc), file
			ids[i] = int64(notices[i].SubtaskID)
		}
		if _, err := tx.Exec(ctx, `UPDATE subtasks s SET status = 'SENT', sent_at = $2, updated_at = $2, notify_id = v.nid, notify_pending = true
			FROM unnest($3::bigint[], $4::bigint[]) AS v(id, nid)
			WHERE s.task_id = $1 AND s.id = v.id AND s.status = 'QUEUED'`, id, now, ids, msgIDs); err != nil {
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
	errs := n.Publish(ctx, notices)
	var ok, failed []int64
	for i, e := range errs {
		if e == nil {
			ok = append(ok, int64(notices[i].SubtaskID))
		} else {
			failed = append(failed, int64(notices[i].SubtaskID))
		}
	}
	if err := t.settlePublished(ctx, id, ok, failed); err != nil {
		return len(ok), time.Time{}, err
	}
	if len(failed) == 0 {
		next = nextDue(epoch, rate, count+int64(len(ok)))
	}
	return len(ok), next, nil
}

// settlePublished clears notify_pending of the sub-tasks whose notify the
// broker took and puts those it refused back in the queue.
func (t *Tasks) settlePublished(ctx context.Context, taskID ID, ok, failed []int64) error {
	return pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		if len(ok) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE subtasks SET notify_pending = false WHERE task_id = $1 AND id = ANY($2) AND notify_pending`,
				taskID, ok); err != nil {
				return fmt.Errorf("models: settle notifies of task %s: %w", taskID, err)
			}
		}
		if len(failed) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'QUEUED', sent_at = NULL, notify_id = NULL, notify_pending = false
			WHERE task_id = $1 AND id = ANY($2) AND status = 'SENT' AND notify_pending`, taskID, failed)
		if err != nil {
			return fmt.Errorf("models: requeue unpublished sub-tasks of task %s: %w", taskID, err)
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET rollout_sent = greatest(rollout_sent - $2, 0) WHERE id = $1`, taskID, tag.RowsAffected())
		return err
	})
}

// RepublishPending publishes again the notifies of SENT sub-tasks whose
// publish was never confirmed (a worker died between the commit and the
// broker's acknowledgement), with their original message ids.
func (t *Tasks) RepublishPending(ctx context.Context, n Notifier, olderThan time.Duration, limit int) (int, error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT s.task_id, s.id, s.device_id, s.product_key, s.device_name, s.notify_id, t.qos,
		t.job_document::text, t.job_file_id, t.sign_method, CASE t.sign_method WHEN 'MD5' THEN f.md5 ELSE f.sha256 END
		FROM subtasks s JOIN tasks t ON t.id = s.task_id LEFT JOIN files f ON f.id = t.job_file_id
		WHERE s.notify_pending AND s.sent_at < $1 ORDER BY s.sent_at LIMIT $2`, t.now().UTC().Add(-olderThan), limit)
	if err != nil {
		return 0, fmt.Errorf("models: pending notifies: %w", err)
	}
	var taskIDs []ID
	notices, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var x Notice
		var taskID ID
		var doc string
		var fileID *ID
		var method, sign *string
		err := r.Scan(&taskID, &x.SubtaskID, &x.DeviceID, &x.ProductKey, &x.DeviceName, &x.MessageID, &x.QoS, &doc, &fileID, &method, &sign)
		x.Status, x.Document = SubSent, []byte(doc)
		if fileID != nil && method != nil && sign != nil {
			x.File = &NoticeFile{FileID: *fileID, SignMethod: *method, Sign: *sign}
		}
		taskIDs = append(taskIDs, taskID)
		return x, err
	})
	if err != nil || len(notices) == 0 {
		return 0, err
	}
	errs := n.Publish(ctx, notices)
	byTask := map[ID][]int64{}
	for i, e := range errs {
		if e == nil {
			byTask[taskIDs[i]] = append(byTask[taskIDs[i]], int64(notices[i].SubtaskID))
		}
	}
	done := 0
	for task, ids := range byTask {
		if err := t.settlePublished(ctx, task, ids, nil); err != nil {
			return done, err
		}
		done += len(ids)
	}
	return done, nil
}

// nextDue is when the sub-task after the first sent ones is due.
func nextDue(epoch time.Time, rate int, sent int64) time.Time {
	return epoch.Add(time.Duration(float64(sent) * 60 / float64(rate) * float64(time.Second)))
}

// claimQueued locks up to limit QUEUED sub-tasks of a task, oldest first.
func claimQueued(ctx context.Context, tx pgx.Tx, taskID ID, limit int64) ([]Notice, error) {
	rows, err := tx.Query(ctx, `SELECT id, device_id, product_key, device_name FROM subtasks
		WHERE task_id = $1 AND status = 'QUEUED' ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, taskID, limit)
	if err != nil {
		return nil, fmt.Errorf("models: claim queued sub-tasks of task %s: %w", taskID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var n Notice
		err := r.Scan(&n.SubtaskID, &n.DeviceID, &n.ProductKey, &n.DeviceName)
		return n, err
	})
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
