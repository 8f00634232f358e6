package workers

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"

	"fleettasks/config"
	"fleettasks/models"
)

// Deps is what the workers need.
type Deps struct {
	Config *config.Config
	DB     *models.DB
	Tasks  *models.Tasks
	Log    *slog.Logger
}

// Run runs the asynq workers and the periodic scheduler until ctx ends.
func Run(ctx context.Context, d Deps) error {
	redis, err := asynq.ParseRedisURI(d.Config.RedisURL)
	if err != nil {
		return fmt.Errorf("workers: FLEETTASKS_REDIS_URL: %w", err)
	}
	mux := asynq.NewServeMux()
	mux.Handle(TypeLogMaintain, &LogMaintainer{
		DB: d.DB, Log: d.Log, Now: time.Now,
		Retention: time.Duration(d.Config.LogRetentionDay) * 24 * time.Hour,
	})

	server := asynq.NewServer(redis, asynq.Config{
		Concurrency:     8,
		Logger:          asynqLogger{d.Log},
		ShutdownTimeout: 10 * time.Second,
	})
	scheduler := asynq.NewScheduler(redis, &asynq.SchedulerOpts{Logger: asynqLogger{d.Log}})
	if _, err := scheduler.Register("@hourly", NewLogMaintainTask()); err != nil {
		return fmt.Errorf("workers: schedule maintenance: %w", err)
	}
	if err := server.Start(mux); err != nil {
		return fmt.Errorf("workers: start: %w", err)
	}
	if err := scheduler.Start(); err != nil {
		server.Shutdown()
		return fmt.Errorf("workers: start scheduler: %w", err)
	}
	<-ctx.Done()
	scheduler.Shutdown()
	server.Shutdown()
	return nil
}

// asynqLogger sends asynq's log lines to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) {}
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq")
	os.Exit(1)
}
