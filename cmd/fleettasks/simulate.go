package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"fleettasks/config"
	"fleettasks/device/sim"
)

// simulateFlags are the parsed flags of "fleettasks simulate".
type simulateFlags struct {
	product   string
	devices   int
	register  bool
	behaviour sim.Behaviour
	work      time.Duration
	prefix    string
	conns     int
	secrets   string // CSV file of device secrets
	shared    bool   // every device on the shared connections, none signed in
	rotate    bool   // with register: new secrets for devices whose secret is not in the file
}

func parseSimulateFlags(args []string, out io.Writer) (*simulateFlags, error) {
	fs := flag.NewFlagSet("fleettasks simulate", flag.ContinueOnError)
	fs.SetOutput(out)
	var f simulateFlags
	var behaviour string
	fs.StringVar(&f.product, "product", "", "product key of the simulated devices (required)")
	fs.IntVar(&f.devices, "devices", 0, "number of devices, named <prefix>1..<prefix>N (required)")
	fs.BoolVar(&f.register, "register", false, "create the product and the devices that are missing")
	fs.StringVar(&behaviour, "behaviour", "succeed", "succeed, fail, reject, hang or mixed (70/10/10/10 by device name)")
	fs.DurationVar(&f.work, "work", 2*time.Second, "how long a device works on a sub-task")
	fs.StringVar(&f.prefix, "prefix", "d", "device name prefix")
	fs.IntVar(&f.conns, "conns", 0, "MQTT connections of the devices without a secret (default one per 1,000 devices)")
	fs.StringVar(&f.secrets, "secrets", "", "CSV file productKey,deviceName,deviceSecret (the console's download): the devices listed sign in with their secret,\n"+
		"each on its own connection; with --register, the new devices' secrets are added to it")
	fs.BoolVar(&f.rotate, "rotate-unknown", false, "with --register: give the devices that exist but whose secret is not in --secrets a new secret,\n"+
		"added to the file (their old one stops working: for demo fleets, as make run's)")
	fs.BoolVar(&f.shared, "shared", false, "put every device on the shared connections, signing in as none (for fleets too large for a connection each)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case f.product == "":
		err = errors.New("--product is required")
	case f.devices < 1 || f.devices > 1_000_000:
		err = fmt.Errorf("--devices %d: give a number in 1..1000000", f.devices)
	case f.work < 0:
		err = fmt.Errorf("--work %s must not be negative", f.work)
	case f.prefix == "":
		err = errors.New("--prefix must not be empty")
	case f.conns < 0:
		err = fmt.Errorf("--conns %d must not be negative", f.conns)
	case f.rotate && (!f.register || f.secrets == ""):
		err = errors.New("--rotate-unknown needs --register and --secrets FILE")
	}
	if err == nil {
		f.behaviour, err = sim.ParseBehaviour(behaviour)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (see fleettasks simulate -h)", err)
	}
	return &f, nil
}

// simulate runs --devices simulated devices of --product against the
// broker until interrupted, printing a summary every 5 s.
func simulate(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	f, err := parseSimulateFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	secrets, err := readSecrets(f.secrets, f.product, f.register)
	if err != nil {
		return err
	}
	if f.register {
		created, err := registerSimulated(ctx, cfg, log, f, secrets)
		if err != nil {
			return err
		}
		for _, d := range created {
			secrets[d.DeviceName] = d.Secret
		}
		if err := keepSecrets(f.secrets, created, log); err != nil {
			return err
		}
	}
	if f.shared {
		secrets = nil
	}
	stats, err := sim.Run(ctx, sim.Config{
		BrokerURL: cfg.MQTTURL, TLS: cfg.MQTTTLS, ProductKey: f.product, Devices: f.devices, Prefix: f.prefix,
		Behaviour: f.behaviour, Work: f.work, Conns: f.conns, Secrets: secrets, Logger: log,
	}, 5*time.Second, func(s sim.Stats) { log.Info("simulate: " + s.String()) })
	if err != nil && ctx.Err() != nil {
		return nil // interrupted while starting
	}
	if err != nil {
		return err
	}
	log.Info("simulate: stopped: " + stats.String())
	return nil
}
