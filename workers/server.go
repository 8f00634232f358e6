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
	Config   *config.Config
	DB       *models.DB
	Tasks    *models.Tasks
	Webhooks *models.Webhooks
	Files    *models.Files
	Redis    *redis.Client
	Asynq    *asynq.Client
	Log      *slog.Logger
}

// Run runs the asynq workers (scans, stops, sweeps), the periodic
// enqueuer, the rollout pacer, the outbox, the MQTT bridge and the message
// log writer until ctx ends.
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

	pub, err := NewPublisher(ctx, d.Config.MQTTURL, d.Config.MQTTTLS, d.Config.MQTTClientID, d.Files, logw, d.Log)
	if err != nil {
		return err
	}
	defer pub.Close()
	adoptNotifyCounter(ctx, d)

	out := NewOutbox(d.Tasks, pub, d.Log)
	defer out.Close()
	hooks := d.Webhooks
	if hooks == nil {
		hooks = models.NewWebhooks(d.DB)
	}
	engine := &Engine{Tasks: d.Tasks, Webhooks: hooks, Outbox: out, Client: d.Asynq, Log: d.Log}
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeRolloutScan, engine.Scan)
	mux.HandleFunc(TypeTaskStop, engine.Stop)
	mux.HandleFunc(TypeSweep, engine.Sweep)
	mux.HandleFunc(TypeMaterialize, engine.Materialize)
	mux.Handle(TypeWebhookDeliver, NewDeliverer(hooks, d.Log, WithPrivateAddresses(d.Config.WebhookAllowPrivate)))
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
		RetryDelayFunc:           RetryDelay,
	})
	if err := server.Start(mux); err != nil {
		return fmt.Errorf("workers: start: %w", err)
	}
	defer server.Shutdown()
	// the pacer and the periodic enqueuer stop before the outbox closes:
	// a step under way hands its batch to the outbox first
	loops, stopLoops := context.WithCancel(ctx)
	var looping sync.WaitGroup
	defer func() { stopLoops(); looping.Wait() }()
	for _, run := range []func(context.Context){
		NewPacer(d.Tasks, out, d.Log).Run,
		func(ctx context.Context) { runPeriodic(ctx, d.Asynq, d.Log) },
	} {
		looping.Add(1)
		go func() { defer looping.Done(); run(loops) }()
	}
	bridge := NewBridge(d.Config, d.DB, d.Tasks, d.Redis, pub, logw, d.Log)
	return bridge.Run(ctx)
}

// adoptNotifyCounter carries on the notify id counter that earlier
// versions kept in Redis, so that no device is sent an id twice.
func adoptNotifyCounter(ctx context.Context, d Deps) {
	v, err := d.Redis.Get(ctx, legacyNotifySeqKey).Int64()
	if err != nil {
		return // none (or Redis away: the next start tries again)
	}
	if err := d.DB.RaiseNotifyIDs(ctx, v+1); err != nil {
		d.Log.Warn("carry on the notify id counter", "err", err)
		return
	}
	d.Redis.Del(ctx, legacyNotifySeqKey)
}

// legacyNotifySeqKey held the notify id counter before it moved to the
// database (sequence notify_ids).
const legacyNotifySeqKey = "fleettasks:notify-seq"

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
