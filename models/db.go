// Package models holds the data model, the stores that query it, the state
// machines and the service layer every console page, API route and worker
// calls.
package models

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is one connection pool seen two ways: GORM for ordinary reads and
// writes, pgx for the hot paths (COPY, batches) on the same connections.
type DB struct {
	Pool *pgxpool.Pool
	Gorm *gorm.DB
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("models: parse database url: %w", err)
	}
	if cfg.MaxConns < 10 {
		cfg.MaxConns = 10
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("models: connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("models: connect to %s: %w", cfg.ConnConfig.Host, err)
	}
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDBFromPool(pool)}), &gorm.Config{
		Logger:                 logger.Default.LogMode(logger.Silent),
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("models: gorm: %w", err)
	}
	return &DB{Pool: pool, Gorm: g}, nil
}

// Close releases every connection.
func (db *DB) Close() {
	if sqlDB, err := db.Gorm.DB(); err == nil {
		sqlDB.Close()
	}
	db.Pool.Close()
}
