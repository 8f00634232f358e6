// Package workers holds the asynq task types and handlers (rollout,
// timeouts, expiry, maintenance) and the MQTT bridge.
package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"fleettasks/models"
)

// TypeLogMaintain is the hourly housekeeping: keeps the device message
// log's daily partitions (creates the coming days', drops those past
// retention), deletes the idempotency keys past their 24 hours and prunes
// the fleet overview's old minutes and hours.
const TypeLogMaintain = "log:maintain"

// LogMaintainer handles TypeLogMaintain.
type LogMaintainer struct {
	DB        *models.DB
	Retention time.Duration
	Log       *slog.Logger
	Now       func() time.Time
}

// ProcessTask creates a week of partitions ahead, drops old ones and
// purges old idempotency keys.
func (m *LogMaintainer) ProcessTask(ctx context.Context, _ *asynq.Task) error {
	now := m.Now()
	if err := m.DB.EnsureMessagePartitions(ctx, now, 7); err != nil {
		return err
	}
	dropped, err := m.DB.DropMessagePartitions(ctx, now.Add(-m.Retention))
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		m.Log.Info("message log partitions dropped", "partitions", dropped)
	}
	if _, err = m.DB.PurgeIdempotencyKeys(ctx); err != nil {
		return err
	}
	return m.DB.PruneActivity(ctx, now)
}
