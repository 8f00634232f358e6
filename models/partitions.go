package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The device message log is partitioned by UTC day: device_messages_YYYYMMDD.
const partitionPrefix = "device_messages_"

// EnsureMessagePartitions creates the daily partitions of the message log
// from today to days ahead. It is cheap and idempotent.
func (db *DB) EnsureMessagePartitions(ctx context.Context, now time.Time, days int) error {
	day := now.UTC().Truncate(24 * time.Hour)
	// processes starting together would race on CREATE TABLE IF NOT
	// EXISTS ("already exists"): one at a time
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, partitionLock); err != nil {
			return fmt.Errorf("models: partitions lock: %w", err)
		}
		for i := 0; i <= days; i++ {
			from := day.AddDate(0, 0, i)
			name := partitionPrefix + from.Format("20060102")
			sql := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF device_messages FOR VALUES FROM ('%s') TO ('%s')`,
				pgx.Identifier{name}.Sanitize(), from.Format(time.RFC3339), from.AddDate(0, 0, 1).Format(time.RFC3339))
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("models: create partition %s: %w", name, err)
			}
		}
		return nil
	})
}

// partitionLock is the advisory lock of partition maintenance.
const partitionLock = int64(0x7061) << 48

// DropMessagePartitions drops the daily partitions that end at or before
// cutoff (retention) and returns their names. Old rows in the default
// partition are deleted, and so are the daily budget figures of those days.
func (db *DB) DropMessagePartitions(ctx context.Context, cutoff time.Time) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = 'device_messages' AND c.relname LIKE 'device\_messages\_2%'`)
	if err != nil {
		return nil, fmt.Errorf("models: list partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, name := range names {
		day, err := time.Parse("20060102", strings.TrimPrefix(name, partitionPrefix))
		if err != nil || day.AddDate(0, 0, 1).After(cutoff) {
			continue
		}
		if _, err := db.Pool.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
			return dropped, fmt.Errorf("models: drop partition %s: %w", name, err)
		}
		dropped = append(dropped, name)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM device_messages_default WHERE time < $1`, cutoff); err != nil {
		return dropped, fmt.Errorf("models: trim default partition: %w", err)
	}
	return dropped, db.deleteLogUsage(ctx, cutoff)
}
