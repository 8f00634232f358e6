package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"fleettasks/config"
	"fleettasks/models"
)

// broker is `fleettasks broker acl [--server-user U]`: it prints a
// Mosquitto ACL file for the registered devices (see README, "The broker").
func broker(ctx context.Context, cfg *config.Config, _ *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "acl" {
		return fmt.Errorf("usage: fleettasks broker acl [--server-user fleettasks]")
	}
	fs := flag.NewFlagSet("broker acl", flag.ContinueOnError)
	user := fs.String("server-user", "fleettasks", "the broker user of the fleettasks server")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	w := bufio.NewWriter(os.Stdout)
	if err := db.WriteBrokerACL(ctx, w, *user); err != nil {
		return err
	}
	return w.Flush()
}
