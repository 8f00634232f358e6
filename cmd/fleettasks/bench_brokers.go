package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"fleettasks/protocol/signin"
	embedded "fleettasks/workers/broker"
)

// Brokers (b) and (c) run against (-brokers).
const (
	brokerMosquitto = "mosquitto"
	brokerEmbedded  = "embedded"
)

// tag marks the output lines of a run on the embedded broker: "(b
// embedded)"; those on Mosquitto stay "(b)".
func (b *benchRun) tag() string {
	if b.embedded {
		return " " + brokerEmbedded
	}
	return ""
}

// record keeps figure name of the broker of this run, for the side by
// side table.
func (b *benchRun) record(name string, v float64) {
	broker := brokerMosquitto
	if b.embedded {
		broker = brokerEmbedded
	}
	if b.figures == nil {
		b.figures = map[string]map[string]float64{}
	}
	if _, ok := b.figures[name]; !ok {
		b.figures[name] = map[string]float64{}
		b.figureOrder = append(b.figureOrder, name)
	}
	b.figures[name][broker] = v
}

// onEmbedded runs (b) and (c), as wanted, with serve running the
// embedded broker: its bridge, the fleet and the raw publisher sign in as
// the server user (the fleet's shared connections each speak for 1,000
// devices, which no device sign-in allows; (k) measures devices signing
// in). Then it prints the figures of both brokers side by side.
func (b *benchRun) onEmbedded(ctx context.Context, rollout, updates bool) error {
	b.stopRollout()
	env, mqttURL, err := b.embeddedEnv()
	if err != nil {
		return err
	}
	oldEnv, oldURL := b.env, b.cfg.MQTTURL
	b.env, b.cfg.MQTTURL, b.embedded = env, mqttURL, true
	defer func() {
		b.stopRollout()
		b.env, b.cfg.MQTTURL, b.embedded = oldEnv, oldURL, false
	}()
	if err := b.resetTasks(ctx); err != nil {
		return err
	}
	if rollout {
		if err := b.rollout(ctx); err != nil {
			return fmt.Errorf("b embedded: %w", err)
		}
	}
	if updates {
		if err := b.updates(ctx); err != nil {
			return fmt.Errorf("c embedded: %w", err)
		}
	}
	b.printSideBySide()
	return nil
}

// printSideBySide prints each figure recorded on both brokers with the
// ratio embedded / Mosquitto (for RSS and latency, lower is better).
func (b *benchRun) printSideBySide() {
	fmt.Printf("(b, c) side by side: figure | Mosquitto | embedded | embedded/Mosquitto  target ≥ 0.8 on (b) and (c) rates\n")
	for _, name := range b.figureOrder {
		m, okM := b.figures[name][brokerMosquitto]
		e, okE := b.figures[name][brokerEmbedded]
		if !okM || !okE {
			continue
		}
		fmt.Printf("    %s | %.0f | %.0f | %.2f\n", name, m, e, e/m)
	}
}

// echoBroker starts the broker of (c)'s echo responder, of the kind of
// this run: a Mosquitto with the bench's settings, or an embedded broker
// in this process that admits only its own user (the echo's and its
// fleet's). It returns the broker's URL and how to stop it.
func (b *benchRun) echoBroker() (string, func(), error) {
	if !b.embedded {
		m, err := startBroker()
		if err != nil {
			return "", nil, err
		}
		return m.URL, m.Stop, nil
	}
	addr, err := listenAddr()
	if err != nil {
		return "", nil, err
	}
	password := "bench-echo-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	e, err := embedded.Start(embedded.Config{Addr: addr, Secrets: noDevices{}, User: "bench-echo", Password: password,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return "", nil, err
	}
	u := url.URL{Scheme: "tcp", Host: addr, User: url.UserPassword("bench-echo", password)}
	return u.String(), func() { e.Close() }, nil
}

// noDevices is the secret source of the echo's embedded broker: no device
// signs in there.
type noDevices struct{}

func (noDevices) DeviceSecret(context.Context, string, string) (string, error) {
	return "", signin.ErrUnknownDevice
}
