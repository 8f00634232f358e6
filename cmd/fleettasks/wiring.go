package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"fleettasks/config"
	"fleettasks/handlers"
	"fleettasks/models"
	"fleettasks/workers"
)

// app is everything a process builds from its configuration.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	db       *models.DB
	redis    *redis.Client
	registry *models.Registry
	files    *models.Files
	tasks    *models.Tasks
}

// open connects to PostgreSQL and Redis, applies migrations when asked,
// and builds the services.
func open(ctx context.Context, cfg *config.Config, log *slog.Logger, autoMigrate bool) (*app, error) {
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if autoMigrate {
		if err := applyMigrations(ctx, db, log); err != nil {
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
	files := models.NewFiles(db, cfg.DataDir, cfg.Secret, cfg.PublicURL)
	return &app{
		cfg: cfg, log: log, db: db, redis: redis.NewClient(opt),
		registry: models.NewRegistry(db),
		files:    files,
		tasks:    models.NewTasks(db, files),
	}, nil
}

func (a *app) close() {
	a.redis.Close()
	a.db.Close()
}

func (a *app) handlerDeps() handlers.Deps {
	return handlers.Deps{
		Config: a.cfg, DB: a.db, Registry: a.registry, Files: a.files, Tasks: a.tasks, Log: a.log,
		Ready: []handlers.ReadyCheck{
			{Name: "postgres", Check: func(ctx context.Context) error { return a.db.Pool.Ping(ctx) }},
			{Name: "redis", Check: func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }},
			{Name: "mqtt", Check: func(ctx context.Context) error { return dialBroker(ctx, a.cfg.MQTTURL) }},
		},
	}
}

func (a *app) workerDeps() workers.Deps {
	return workers.Deps{Config: a.cfg, DB: a.db, Tasks: a.tasks, Log: a.log}
}

// dialBroker checks that the MQTT broker accepts connections.
func dialBroker(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	var conn net.Conn
	switch u.Scheme {
	case "ssl", "tls", "wss":
		conn, err = (&tls.Dialer{NetDialer: &d}).DialContext(ctx, "tcp", u.Host)
	default:
		conn, err = d.DialContext(ctx, "tcp", u.Host)
	}
	if err != nil {
		return err
	}
	return conn.Close()
}
