package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LogUsage is one device's message log on one UTC day against its daily
// budget. Bytes are counted as LogEntry.Size; DroppedBytes counts what the
// dropped entries were when sent, before any cut.
type LogUsage struct {
	Day             string `json:"day"` // YYYY-MM-DD, UTC
	KeptBytes       int64  `json:"keptBytes"`
	KeptMessages    int64  `json:"keptMessages"`
	DroppedMessages int64  `json:"droppedMessages"`
	DroppedBytes    int64  `json:"droppedBytes"`
	CutMessages     int64  `json:"cutMessages"`
	BudgetBytes     int64  `json:"budgetBytes"`
}

// Limited says whether the log of that day is not the whole story: some
// entries were left out past the budget, or some payloads cut.
func (u *LogUsage) Limited() bool {
	return u != nil && (u.DroppedMessages > 0 || u.CutMessages > 0)
}

// DeviceLogUsage is device id's message log figures of today (UTC); all
// zero when it logged nothing today.
func (r *Registry) DeviceLogUsage(ctx context.Context, id ID) (*LogUsage, error) {
	day := r.now().UTC().Format(time.DateOnly)
	u := LogUsage{Day: day, BudgetBytes: r.logDailyBytes}
	err := r.db.Pool.QueryRow(ctx, `SELECT logged_bytes, logged_messages, dropped_messages, dropped_bytes, cut_messages
		FROM device_log_usage WHERE device_id = $1 AND day = $2::date`, id, day).
		Scan(&u.KeptBytes, &u.KeptMessages, &u.DroppedMessages, &u.DroppedBytes, &u.CutMessages)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("models: message log usage of device %s: %w", id, err)
	}
	return &u, nil
}

// deleteLogUsage deletes the usage rows of the days that end at or before
// cutoff, as their partitions are dropped.
func (db *DB) deleteLogUsage(ctx context.Context, cutoff time.Time) error {
	day := cutoff.UTC().Format(time.DateOnly)
	if _, err := db.Pool.Exec(ctx, `DELETE FROM device_log_usage WHERE day < $1::date`, day); err != nil {
		return fmt.Errorf("models: delete message log usage before %s: %w", day, err)
	}
	return nil
}
