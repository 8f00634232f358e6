package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Executable is a sub-task as a device asks for it (get): enough to build
// a $list item or a full detail with a fresh file URL.
type Executable struct {
	ID            ID
	Status        SubStatus
	Progress      int
	StatusDetails RawJSON
	Document      RawJSON
	File          *NoticeFile
}

// Visible sub-tasks: released by the rollout, of a task not deleted.
const visible = `s.status <> 'QUEUED' AND t.deleted_at IS NULL`

// executable: what a device may still work on, of a running task.
var executable = `s.status IN (` + sqlList(Active...) + `) AND t.status = 'IN_PROGRESS' AND t.deleted_at IS NULL`

// ListExecutable is a device's $list: its executable sub-tasks, oldest first.
func (t *Tasks) ListExecutable(ctx context.Context, deviceID ID, limit int) ([]Executable, error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT s.id, s.status FROM subtasks s JOIN tasks t ON t.id = s.task_id
		WHERE s.device_id = $1 AND `+executable+` ORDER BY s.id LIMIT $2`, deviceID, limit)
	if err != nil {
		return nil, fmt.Errorf("models: $list of device %s: %w", deviceID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Executable, error) {
		var e Executable
		err := r.Scan(&e.ID, &e.Status)
		return e, err
	})
}

// NextExecutable is a device's $next: its oldest executable sub-task, or nil.
func (t *Tasks) NextExecutable(ctx context.Context, deviceID ID) (*Executable, error) {
	return t.executableDetail(ctx, `s.device_id = $1 AND `+executable+` ORDER BY s.id LIMIT 1`, deviceID)
}

// DeviceSubtask is one sub-task of a device by its wire id, whatever its
// status; nil when the device has no such visible sub-task.
func (t *Tasks) DeviceSubtask(ctx context.Context, deviceID ID, taskID string) (*Executable, error) {
	id, err := strconv.ParseInt(taskID, 10, 64)
	if err != nil || id <= 0 {
		return nil, nil
	}
	return t.executableDetail(ctx, `s.device_id = $1 AND s.id = $2 AND `+visible, deviceID, id)
}

func (t *Tasks) executableDetail(ctx context.Context, where string, args ...any) (*Executable, error) {
	var e Executable
	var file noticeFileRow
	err := t.db.Pool.QueryRow(ctx, `SELECT s.id, s.status, s.progress, s.status_details::text, t.job_document::text, `+taskFileColumns+`
		FROM subtasks s JOIN tasks t ON t.id = s.task_id `+taskFileJoin+`
		WHERE `+where, args...).Scan(&e.ID, &e.Status, &e.Progress, &e.StatusDetails, &e.Document, &file.id, &file.method, &file.sign)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("models: device sub-task: %w", err)
	}
	e.File = file.notice()
	return &e, nil
}

// Delivery is a device's notify_reply: the notify with message id NotifyID
// reached it.
type Delivery struct {
	DeviceID ID
	NotifyID int64
}

// MarkDelivered records when notifies reached their devices (the first
// acknowledgement counts).
func (t *Tasks) MarkDelivered(ctx context.Context, ds []Delivery) error {
	devs, nids := make([]int64, len(ds)), make([]int64, len(ds))
	for i, d := range ds {
		devs[i], nids[i] = int64(d.DeviceID), d.NotifyID
	}
	// an acknowledgement lost in a database crash costs nothing: no need
	// to wait for the disk
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE subtasks s SET delivered_at = $1 FROM unnest($2::bigint[], $3::bigint[]) AS v(dev, nid)
			WHERE s.device_id = v.dev AND s.notify_id = v.nid AND s.delivered_at IS NULL`, t.now().UTC(), devs, nids)
		return err
	})
	if err != nil {
		return fmt.Errorf("models: mark %d notifies delivered: %w", len(ds), err)
	}
	return nil
}

// LookupDevices resolves device identities to ids; unregistered devices
// are absent from the map.
func (db *DB) LookupDevices(ctx context.Context, refs []DeviceRef) (map[DeviceRef]ID, error) {
	pks, dns := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		pks[i], dns[i] = r.ProductKey, r.DeviceName
	}
	rows, err := db.Pool.Query(ctx, `SELECT d.product_key, d.device_name, d.id FROM unnest($1::text[], $2::text[]) AS r(pk, dn)
		JOIN devices d ON d.product_key = r.pk AND d.device_name = r.dn`, pks, dns)
	if err != nil {
		return nil, fmt.Errorf("models: look up %d devices: %w", len(refs), err)
	}
	out := make(map[DeviceRef]ID, len(refs))
	var ref DeviceRef
	var id ID
	_, err = pgx.ForEachRow(rows, []any{&ref.ProductKey, &ref.DeviceName, &id}, func() error {
		out[ref] = id
		return nil
	})
	return out, err
}

// TouchDevices records that devices were heard from at now (at most every
// few seconds per device, to spare writes).
func (db *DB) TouchDevices(ctx context.Context, ids []int64, now time.Time) error {
	_, err := db.Pool.Exec(ctx, `UPDATE devices SET last_seen = $2 WHERE id = ANY($1)
		AND (last_seen IS NULL OR last_seen < $2::timestamptz - interval '5 seconds')`, ids, now)
	if err != nil {
		return fmt.Errorf("models: touch %d devices: %w", len(ids), err)
	}
	return nil
}
