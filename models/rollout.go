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

// RolloutTick sends the sub-tasks of task id that are due under its rate:
// QUEUED -> SENT with a notify each. The task row is locked for the tick
// (SKIP LOCKED: a concurrent tick of the same task does nothing), sub-tasks
// are claimed with FOR UPDATE SKIP LOCKED, notifies are published before the
// commit, and only those published become SENT. It reports how many were
// sent and when the next one is due (zero when there is nothing more to
// send or the tick could not run).
func (t *Tasks) RolloutTick(ctx context.Context, id ID, n Notifier) (sent int, next time.Time, err error) {
	now := t.now().UTC()
	err = pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		var (
			rate   int
			qos    byte
			epoch  *time.Time
			count  int64
			doc    string
			fileID *ID
			signM  *string
		)
		err := tx.QueryRow(ctx, `SELECT rollout_per_minute, qos, rollout_epoch, rollout_sent, job_document::text, job_file_id, sign_method
			FROM tasks WHERE id = $1 AND status = 'IN_PROGRESS' AND deleted_at IS NULL FOR UPDATE SKIP LOCKED`, id).
			Scan(&rate, &qos, &epoch, &count, &doc, &fileID, &signM)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not running, or another tick has it
		} else if err != nil {
			return fmt.Errorf("models: rollout of task %s: %w", id, err)
		}
		if epoch == nil {
			epoch, count = &now, 0
		}
		due, count := RolloutDue(*epoch, now, rate, count)
		if due <= 0 {
			next = nextDue(*epoch, rate, count)
			return nil
		}
		notices, err := claimQueued(ctx, tx, id, due)
		if err != nil || len(notices) == 0 {
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
		for i := range notices {
			notices[i].Status, notices[i].QoS, notices[i].Document, notices[i].File = SubSent, qos, []byte(doc), file
		}
		ids, errs := n.Notify(ctx, notices)
		var okIDs, notifyIDs []int64
		for i, e := range errs {
			if e == nil {
				okIDs = append(okIDs, int64(notices[i].SubtaskID))
				notifyIDs = append(notifyIDs, ids[i])
			}
		}
		if len(okIDs) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE subtasks s SET status = 'SENT', sent_at = $2, updated_at = $2, notify_id = v.nid
				FROM unnest($3::bigint[], $4::bigint[]) AS v(id, nid)
				WHERE s.task_id = $1 AND s.id = v.id AND s.status = 'QUEUED'`, id, now, okIDs, notifyIDs); err != nil {
				return fmt.Errorf("models: mark sent: %w", err)
			}
		}
		sent = len(okIDs)
		if sent == len(notices) {
			next = nextDue(*epoch, rate, count+int64(sent))
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET rollout_epoch = $2, rollout_sent = $3 WHERE id = $1`, id, *epoch, count+int64(sent))
		return err
	})
	return sent, next, err
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
