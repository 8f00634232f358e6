package models

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotifyBatch is one row of the outbox (notify_batches): the notifies a
// committed change owes devices. Its lease belongs to whoever recorded or
// claimed it; once the lease runs out, another worker may claim it.
type NotifyBatch struct {
	ID      int64
	TaskID  ID
	Status  SubStatus // SENT, CANCELLED or REMOVED: what the devices are told
	Notices []Notice
}

// DefaultOutboxLease is how long a worker has to publish a batch it
// recorded before another may publish it again: the notifies of a worker
// that died are late by about this much. It exceeds the publisher's wait
// for the broker's acknowledgements (10 s) and the settling after it.
const DefaultOutboxLease = 20 * time.Second

// taskFileColumns and taskFileJoin read a task's file as a notify carries
// it (into a noticeFileRow): its id, sign method and the digest that
// method names. The task is t.
const (
	taskFileColumns = `t.job_file_id, t.sign_method, CASE t.sign_method WHEN 'MD5' THEN f.md5 ELSE f.sha256 END`
	taskFileJoin    = `LEFT JOIN files f ON f.id = t.job_file_id`
)

// noticeFileRow is a task's file as taskFileColumns read it.
type noticeFileRow struct {
	id           *ID
	method, sign *string
}

func (f noticeFileRow) notice() *NoticeFile {
	if f.id == nil || f.method == nil || f.sign == nil {
		return nil
	}
	return &NoticeFile{FileID: *f.id, SignMethod: *f.method, Sign: *f.sign}
}

// collectNotices reads (id, device_id, product_key, device_name, notify_id)
// rows as notices of one status.
func collectNotices(rows pgx.Rows, status SubStatus, qos byte, doc []byte, file *NoticeFile) ([]Notice, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		x := Notice{Status: status, QoS: qos}
		if status == SubSent {
			x.Document, x.File = doc, file
		}
		err := r.Scan(&x.SubtaskID, &x.DeviceID, &x.ProductKey, &x.DeviceName, &x.MessageID)
		return x, err
	})
}

// recordBatch records notices in the outbox, leased to the caller.
func (t *Tasks) recordBatch(ctx context.Context, tx pgx.Tx, task ID, status SubStatus, notices []Notice, now time.Time) (*NotifyBatch, error) {
	ids := make([]int64, len(notices))
	for i, n := range notices {
		ids[i] = int64(n.SubtaskID)
	}
	b := &NotifyBatch{TaskID: task, Status: status, Notices: notices}
	err := tx.QueryRow(ctx, `INSERT INTO notify_batches (task_id, subtask_ids, status, created_at, lease_until)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, task, ids, status, now, now.Add(DefaultOutboxLease)).Scan(&b.ID)
	return b, err
}

// SettleBatch records the outcome of publishing a batch: failed lists the
// sub-tasks whose notify the broker did not take. A SENT sub-task whose
// notify failed goes back to the queue (its rollout sends it again); a
// CANCELLED or REMOVED one keeps its place in the batch, which is tried
// again in a few seconds. The rest is forgotten.
func (t *Tasks) SettleBatch(ctx context.Context, b *NotifyBatch, failed []ID) error {
	now := t.now().UTC()
	ids := make([]int64, len(failed))
	for i, id := range failed {
		ids[i] = int64(id)
	}
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		// losing this commit in a database crash only means publishing
		// the batch again: no need to wait for the disk
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		if len(ids) > 0 && b.Status != SubSent {
			_, err := tx.Exec(ctx, `UPDATE notify_batches SET subtask_ids = $2, lease_until = $3 WHERE id = $1`,
				b.ID, ids, now.Add(outboxRetry))
			return err
		}
		if len(ids) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'QUEUED', sent_at = NULL, notify_id = NULL
				WHERE task_id = $1 AND id = ANY($2) AND status = 'SENT'`, b.TaskID, ids)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE tasks SET rollout_sent = greatest(rollout_sent - $2, 0),
				rollout_next_at = least(coalesce(rollout_next_at, $3), $3) WHERE id = $1`, b.TaskID, tag.RowsAffected(), now); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM notify_batches WHERE id = $1`, b.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("models: settle notify batch %d of task %s: %w", b.ID, b.TaskID, err)
	}
	return nil
}

// outboxRetry is how soon notifies the broker refused are tried again.
const outboxRetry = 3 * time.Second

// ClaimStaleBatches takes over up to limit outbox batches whose lease ran
// out (their worker died between the commit and the broker's
// acknowledgement, or the broker refused them): the caller now holds their
// lease and publishes them with their original notify ids. Sub-tasks that
// have moved on since (a SENT one the device already answered, say) are
// left out.
func (t *Tasks) ClaimStaleBatches(ctx context.Context, limit int) ([]*NotifyBatch, error) {
	now := t.now().UTC()
	rows, err := t.db.Pool.Query(ctx, `UPDATE notify_batches nb SET lease_until = $2
		FROM (SELECT id FROM notify_batches WHERE lease_until < $1 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) c
		WHERE nb.id = c.id RETURNING nb.id, nb.task_id, nb.status`, now, now.Add(DefaultOutboxLease), limit)
	if err != nil {
		return nil, fmt.Errorf("models: claim notify batches: %w", err)
	}
	batches, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*NotifyBatch, error) {
		b := &NotifyBatch{}
		return b, r.Scan(&b.ID, &b.TaskID, &b.Status)
	})
	if err != nil {
		return nil, fmt.Errorf("models: claim notify batches: %w", err)
	}
	for _, b := range batches {
		var (
			qos  byte
			doc  string
			file noticeFileRow
		)
		err := t.db.Pool.QueryRow(ctx, `SELECT t.qos, t.job_document::text, `+taskFileColumns+`
			FROM tasks t `+taskFileJoin+` WHERE t.id = $1`, b.TaskID).
			Scan(&qos, &doc, &file.id, &file.method, &file.sign)
		if err != nil && err != pgx.ErrNoRows {
			return nil, fmt.Errorf("models: notify batch %d: %w", b.ID, err)
		}
		rows, err := t.db.Pool.Query(ctx, `SELECT s.id, s.device_id, s.product_key, s.device_name, s.notify_id
			FROM notify_batches nb JOIN subtasks s ON s.task_id = nb.task_id AND s.id = ANY(nb.subtask_ids)
			WHERE nb.id = $1 AND s.status = nb.status AND s.notify_id IS NOT NULL ORDER BY s.id`, b.ID)
		if err != nil {
			return nil, fmt.Errorf("models: notify batch %d: %w", b.ID, err)
		}
		if b.Notices, err = collectNotices(rows, b.Status, qos, []byte(doc), file.notice()); err != nil {
			return nil, fmt.Errorf("models: notify batch %d: %w", b.ID, err)
		}
	}
	return batches, nil
}

// RaiseNotifyIDs makes the notify id counter continue after atLeast (the
// counter an older version kept elsewhere), so that no device is sent an id
// it was sent before.
func (db *DB) RaiseNotifyIDs(ctx context.Context, atLeast int64) error {
	_, err := db.Pool.Exec(ctx, `SELECT setval('notify_ids', greatest((SELECT last_value FROM notify_ids), $1 % 4294967296))`, atLeast)
	if err != nil {
		return fmt.Errorf("models: raise notify ids: %w", err)
	}
	return nil
}
