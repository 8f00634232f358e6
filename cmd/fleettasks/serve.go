package main

import (
	"context"
	"errors"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"fleettasks/config"
	"fleettasks/handlers"
	"fleettasks/internal/app"
	"fleettasks/workers"
)

// serve runs the console, the API and the workers in one process.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	return runParts(ctx, cfg, log, cfg.AutoMigrate, true, true)
}

// web runs the console and the API only.
func web(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	return runParts(ctx, cfg, log, false, true, false)
}

// worker runs the workers only.
func worker(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	return runParts(ctx, cfg, log, false, false, true)
}

func runParts(ctx context.Context, cfg *config.Config, log *slog.Logger, migrate, http, work bool) error {
	a, err := app.Open(ctx, cfg, log, migrate)
	if err != nil {
		return err
	}
	defer a.Close()
	if http && work {
		// Only serve runs the embedded broker; it stops after the rest.
		b, err := startEmbeddedBroker(cfg, a.Registry, log)
		if err != nil {
			return err
		}
		if b != nil {
			defer b.Close()
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	if http {
		server := handlers.New(a.HandlerDeps())
		g.Go(func() error {
			log.Info("listening", "addr", cfg.HTTPAddr, "console", "http://"+cfg.HTTPAddr+"/")
			return server.Listen(cfg.HTTPAddr)
		})
		g.Go(func() error {
			<-ctx.Done()
			return server.Shutdown()
		})
	}
	if work {
		g.Go(func() error { return workers.Run(ctx, a.WorkerDeps()) })
	}
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
