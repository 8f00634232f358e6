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

const brokerUsage = "usage: fleettasks broker acl [--server-user fleettasks]\n" +
	"       fleettasks broker passwd --out FILE [--acl-out FILE] [--watch [--pid-file FILE | --signal-pid N]]"

// broker is `fleettasks broker acl|passwd`: the files a Mosquitto needs to
// admit the registered devices (see docs/brokers.md).
func broker(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", brokerUsage)
	}
	switch args[0] {
	case "acl":
		return brokerACL(ctx, cfg, args[1:])
	case "passwd":
		return brokerPasswd(ctx, cfg, log, args[1:])
	}
	return fmt.Errorf("%s", brokerUsage)
}

// brokerACL prints a Mosquitto ACL file for the registered devices.
func brokerACL(ctx context.Context, cfg *config.Config, args []string) error {
	fs := flag.NewFlagSet("broker acl", flag.ContinueOnError)
	def := "fleettasks"
	if u, _ := cfg.MQTTCredentials(); u != "" {
		def = u
	}
	user := fs.String("server-user", def, "the broker user of the fleettasks server")
	if err := fs.Parse(args); err != nil {
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
