package workers

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"fleettasks/config"
	"fleettasks/models"
)

// Deps is what the workers need.
type Deps struct {
	Config *config.Config
	DB     *models.DB
	Tasks  *models.Tasks
	Files  *models.Files
	Redis  *redis.Client
	Asynq  *asynq.Client
	Log    *slog.Logger
}

// Run runs the asynq workers, the periodic scheduler, the MQTT bridge and
// the message log writer until ctx ends.
func Run(ctx context.Context, d Deps) error {
	redisOpt, err := asynq.ParseRedisURI(d.Config.RedisURL)
	if err != nil {
		return fmt.Errorf("workers: FLEETTASKS_REDIS_URL: %w", err)
	}
	logCtx, stopLog := context.WithCancel(context.Background())
	logw := NewLogWriter(d.DB, d.Log, WithDailyBudget(d.Config.LogDeviceDailyBytes))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); logw.Run(logCtx) }()
	defer func() { stopLog(); wg.Wait() }()

	pub, err := NewPublisher(ctx, d.Config.MQTTURL, d.Config.MQTTClientID+"-out", d.Redis, d.Files, logw, d.Log)
	if err != nil {
		return err
	}
	defer pub.Close()

	engine := &Engine{Tasks: d.Tasks, Notifier: pub, Client: d.Asynq, Log: d.Log, Now: time.Now}
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeRolloutScan, engine.Scan)
	mux.HandleFunc(TypeRolloutTick, engine.Tick)
	mux.HandleFunc(TypeTaskStart, engine.Start)
	mux.HandleFunc(TypeTaskStop, engine.Stop)
	mux.HandleFunc(TypeSweep, engine.Sweep)
	mux.Handle(TypeLogMaintain, &LogMaintainer{
		DB: d.DB, Log: d.Log, Now: time.Now,
		Retention: time.Duration(d.Config.LogRetentionDay) * 24 * time.Hour,
	})
	server := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency:              8,
		TaskCheckInterval:        100 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
		Logger:                   asynqLogger{d.Log},
		LogLevel:                 asynq.WarnLevel,
		ShutdownTimeout:          10 * time.Second,
	})
	scheduler := asynq.NewScheduler(redisOpt, &asynq.SchedulerOpts{Logger: asynqLogger{d.Log}, LogLevel: asynq.WarnLevel})
	for _, p := range []struct {
		spec string
		task *asynq.Task
	}{{"@every 1s", NewRolloutScanTask()}, {"@every 1s", NewSweepTask()}, {"@hourly", NewLogMaintainTask()}} {
		if _, err := scheduler.Register(p.spec, p.task); err != nil {
			return fmt.Errorf("workers: schedule %s: %w", p.task.Type(), err)
		}
	}
	if err := server.Start(mux); err != nil {
		return fmt.Errorf("workers: start: %w", err)
	}
	if err := scheduler.Start(); err != nil {
		server.Shutdown()
		return fmt.Errorf("workers: start scheduler: %w", err)
	}
	if err := enqueue(ctx, d.Asynq, NewLogMaintainTask()); err != nil {
		d.Log.Warn("first log maintenance", "err", err)
	}
	bridge := NewBridge(d.Config, d.DB, d.Tasks, d.Redis, pub, logw, d.Log)
	err = bridge.Run(ctx)
	scheduler.Shutdown()
	server.Shutdown()
	return err
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
