// Package app builds a fleettasks process from its configuration: the
// wiring shared by the command and the integration tests.
package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"fleettasks/config"
	"fleettasks/handlers"
	"fleettasks/models"
	"fleettasks/workers"
)

// App is everything a process builds from its configuration.
type App struct {
	Config   *config.Config
	Log      *slog.Logger
	DB       *models.DB
	Redis    *redis.Client
	Asynq    *asynq.Client
	Registry *models.Registry
	Files    *models.Files
	Tasks    *models.Tasks
	Accounts *models.Accounts
	Audit    *models.Audit
	Webhooks *models.Webhooks
}

// Option adjusts the services Open builds; tests use them.
type Option func(*options)

type options struct {
	tasks    []models.TasksOption
	accounts []models.AccountsOption
}

// WithClock replaces time.Now as the clock of the task and account
// services, so that a test can move their time.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		o.tasks = append(o.tasks, models.WithTaskClock(now))
		o.accounts = append(o.accounts, models.WithAccountClock(now))
	}
}

// WithTimeoutUnit is what one minute of a task's in-progress timeout
// lasts (models.WithTimeoutUnit).
func WithTimeoutUnit(d time.Duration) Option {
	return func(o *options) { o.tasks = append(o.tasks, models.WithTimeoutUnit(d)) }
}

// Open connects to PostgreSQL and Redis, applies migrations when asked,
// and builds the services.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, autoMigrate bool, opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if autoMigrate {
		if err := Migrate(ctx, db, log); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := db.EnsureMessagePartitions(ctx, time.Now(), 7); err != nil {
		db.Close()
		return nil, err
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("FLEETTASKS_REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	files := models.NewFiles(db, cfg.DataDir, cfg.Secret, cfg.PublicURL)
	tasks := models.NewTasks(db, files, o.tasks...)
	aq := asynq.NewClientFromRedisClient(rdb)
	regOpts := []models.RegistryOption{models.WithLogDailyBytes(cfg.LogDeviceDailyBytes), models.WithOfflineAfter(cfg.OfflineAfter),
		models.WithDeviceSecretKey(cfg.Secret)}
	if cfg.Broker == config.BrokerEmbedded {
		// the embedded broker records who is connected: online is that
		regOpts = append(regOpts, models.WithConnectionState())
	}
	registry := models.NewRegistry(db, regOpts...)
	acc := models.NewAccounts(db, append(o.accounts, models.WithSessionLifetimes(cfg.SessionIdle, cfg.SessionMax))...)
	return &App{Config: cfg, Log: log, DB: db, Redis: rdb, Asynq: aq, Registry: registry, Files: files, Tasks: tasks,
		Accounts: acc, Audit: models.NewAudit(db), Webhooks: models.NewWebhooks(db)}, nil
}

// Close releases the connections.
func (a *App) Close() {
	a.Asynq.Close()
	a.Redis.Close()
	a.DB.Close()
}

// HandlerDeps is what the console and the API need.
func (a *App) HandlerDeps() handlers.Deps {
	return handlers.Deps{
		Config: a.Config, DB: a.DB, Registry: a.Registry, Files: a.Files, Tasks: a.Tasks, Log: a.Log,
		Accounts: a.Accounts, Audit: a.Audit, Webhooks: a.Webhooks,
		Ready: []handlers.ReadyCheck{
			{Name: "postgres", Check: func(ctx context.Context) error { return a.DB.Pool.Ping(ctx) }},
			{Name: "redis", Check: func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }},
			{Name: "mqtt", Check: func(ctx context.Context) error { return dialBroker(ctx, a.Config.MQTTURL, a.Config.MQTTTLS) }},
		},
	}
}

// WorkerDeps is what the workers need.
func (a *App) WorkerDeps() workers.Deps {
	return workers.Deps{Config: a.Config, DB: a.DB, Tasks: a.Tasks, Webhooks: a.Webhooks, Files: a.Files, Redis: a.Redis,
		Asynq: a.Asynq, Log: a.Log}
}

// dialBroker checks that the MQTT broker accepts connections.
// An ssl:// broker is checked with the server's client TLS configuration.
func dialBroker(ctx context.Context, raw string, tlsConf *tls.Config) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	var conn net.Conn
	switch u.Scheme {
	case "ssl", "tls", "wss":
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsConf}).DialContext(ctx, "tcp", u.Host)
	default:
		conn, err = d.DialContext(ctx, "tcp", u.Host)
	}
	if err != nil {
		return err
	}
	return conn.Close()
}

// Migrate applies pending migrations and logs the schema version.
func Migrate(ctx context.Context, db *models.DB, log *slog.Logger) error {
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	log.Info("database schema is current", "version", v, "applied", applied)
	return nil
}
