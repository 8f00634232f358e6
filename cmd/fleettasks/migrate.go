package main

import (
	"context"
	"log/slog"

	"fleettasks/config"
	"fleettasks/internal/app"
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
	return app.Migrate(ctx, db, log)
}
