package device

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/protocol/signin"
)

// dial opens a paho connection with creds (a client id, and a user name
// and password when set) that reconnects by itself, and returns once
// it is subscribed to filters. After every (re)subscription, connected is
// called (first is true the first time). Messages are handled in order (a
// CANCELLED notify never overtakes its SENT), so route must not block;
// route also takes the messages a persistent session delivers before the
// subscriptions are renewed.
func dial(ctx context.Context, broker string, tlsConf *tls.Config, creds signin.Credentials, clean bool, filters map[string]byte,
	route mqtt.MessageHandler, timeout time.Duration, log *slog.Logger, connected func(first bool)) (mqtt.Client, error) {
	clientID := creds.ClientID
	ready := make(chan error, 1)
	var connects atomic.Int32
	onConnect := func(mc mqtt.Client) {
		err := subscribe(mc, filters, route, timeout)
		first := connects.Add(1) == 1
		switch {
		case first:
			ready <- err
		case err != nil:
			log.Error("resubscribe after reconnect failed", "client", clientID, "err", err)
		default:
			log.Info("reconnected and resubscribed", "client", clientID)
		}
		if err == nil {
			connected(first)
		}
	}
	o := mqtt.NewClientOptions().
		AddBroker(broker).
		SetTLSConfig(tlsConf).
		SetClientID(clientID).
		SetUsername(creds.Username).
		SetPassword(creds.Password).
		SetCleanSession(clean).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(5 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetResumeSubs(false).
		SetDefaultPublishHandler(route).
		SetOnConnectHandler(onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("connection lost; reconnecting", "client", clientID, "err", err)
		})
	mc := mqtt.NewClient(o)
	err := waitToken(ctx, mc.Connect())
	if err != nil {
		err = fmt.Errorf("connect %s to %s: %w", clientID, broker, err)
	} else {
		select {
		case err = <-ready:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			err = fmt.Errorf("subscribe %s: %w", clientID, err)
		}
	}
	if err != nil {
		mc.Disconnect(0)
		return nil, err
	}
	return mc, nil
}

// subscribe subscribes to filters (QoS per filter) and checks that the
// broker granted every one.
func subscribe(mc mqtt.Client, filters map[string]byte, route mqtt.MessageHandler, timeout time.Duration) error {
	if len(filters) == 0 {
		return nil // the broker subscribes the device (Config.NoSubscribe)
	}
	tok := mc.SubscribeMultiple(filters, route)
	if !tok.WaitTimeout(timeout) {
		return fmt.Errorf("no SUBACK within %s", timeout)
	}
	if err := tok.Error(); err != nil {
		return err
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		for topic, code := range st.Result() {
			if code == 0x80 {
				return fmt.Errorf("broker refused subscription %s", topic)
			}
		}
	}
	return nil
}

// waitToken waits for tok or ctx.
func waitToken(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
