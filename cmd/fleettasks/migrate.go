package main

import (
	"context"
	"log/slog"

	"fleettasks/config"
	"fleettasks/models"
)

func migrate(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	return applyMigrations(ctx, db, log)
}

func applyMigrations(ctx context.Context, db *models.DB, log *slog.Logger) error {
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
