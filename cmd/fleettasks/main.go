// Command fleettasks runs the fleettasks server, its workers and tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"fleettasks/config"
)

const usage = `usage: fleettasks <command> [flags]

commands:
  serve     console, API, workers and MQTT bridge in one process
  web       console and API only
  worker    asynq workers (and, from the engine on, the MQTT bridge) only
  migrate   apply pending database migrations and exit
  broker    broker acl: print a Mosquitto ACL file for the registered devices;
            broker passwd --out F [--acl-out F] [--watch [--pid-file F]]: write (and keep current) Mosquitto's password file
  bench     run the benchmark of BENCHMARKS.md (own database and Redis db)
  simulate  run simulated devices: --product PK --devices N [--register] [--behaviour succeed|fail|reject|hang|mixed]
  users     users create --email E --role admin|operator|support [--password P]; users password --email E
  tokens    tokens create --email E [--name N]: print a new API token of that user (shown once)

configuration comes from FLEETTASKS_* environment variables (see README).`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run is main without the exit, so that tests can call it.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	commands := map[string]func(context.Context, *config.Config, *slog.Logger, []string) error{
		"serve":         serve,
		"web":           web,
		"worker":        worker,
		"migrate":       migrate,
		"bench":         bench,
		"bench-connect": benchConnect, // hidden: the load generator of bench (k)
		"broker":        broker,
		"simulate":      simulate,
		"users":         users,
		"tokens":        tokens,
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "fleettasks: unknown command %q\n\n%s\n", args[0], usage)
		return 2
	}
	cfg, err := config.Load(getenv)
	if err == nil {
		err = cfg.EnsureSecret()
	}
	var cerr *config.Error
	if errors.As(err, &cerr) {
		fmt.Fprintf(stderr, "fleettasks: configuration: %v\n", cerr)
		return 2
	} else if err != nil {
		fmt.Fprintf(stderr, "fleettasks: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd(ctx, cfg, log, args[1:]); err != nil {
		fmt.Fprintf(stderr, "fleettasks %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
