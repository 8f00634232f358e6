package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// credentialsChannel is notified (migration 0020) at the commit of every
// statement that registers or deletes devices or changes a secret.
const credentialsChannel = "fleettasks_device_credentials"

// CredentialsListener hears of changes to the devices' credentials.
type CredentialsListener struct{ conn *pgxpool.Conn }

// ListenDeviceCredentials starts listening; the caller reads the state
// after this returns, so no change is missed between the two.
func (db *DB) ListenDeviceCredentials(ctx context.Context) (*CredentialsListener, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("models: listen for device changes: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+credentialsChannel); err != nil {
		conn.Release()
		return nil, fmt.Errorf("models: listen for device changes: %w", err)
	}
	return &CredentialsListener{conn: conn}, nil
}

// Wait waits at most d for a change: true when one came (all changes
// already arrived are taken at once), false after d.
func (l *CredentialsListener) Wait(ctx context.Context, d time.Duration) (bool, error) {
	changed := false
	for {
		wctx, cancel := context.WithTimeout(ctx, d)
		_, err := l.conn.Conn().WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			changed, d = true, time.Millisecond // drain what is queued
		case ctx.Err() != nil:
			return changed, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			return changed, nil
		default:
			return changed, fmt.Errorf("models: wait for device changes: %w", err)
		}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// Close stops listening and gives the connection back (closed, since it
// was listening).
func (l *CredentialsListener) Close() {
	l.conn.Conn().Close(context.Background())
	l.conn.Release()
}
