package workers

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// mqttOptions are the options every server connection to the broker shares:
// a persistent session under a stable client id, automatic reconnects, and
// tlsConf (config.Config.MQTTTLS) for an ssl:// broker when it is set.
func mqttOptions(broker, clientID string, tlsConf *tls.Config, log *slog.Logger) *mqtt.ClientOptions {
	return mqtt.NewClientOptions().
		SetTLSConfig(tlsConf).
		AddBroker(broker).
		SetClientID(clientID).
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("mqtt connection lost; reconnecting", "client", clientID, "err", err)
		})
}

// connect connects c, waiting at most until ctx ends. With ConnectRetry
// the client keeps trying in the background; this only reports the first
// attempt's outcome.
func connect(ctx context.Context, c mqtt.Client) error {
	tok := c.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("workers: mqtt connect: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return fmt.Errorf("workers: mqtt connect: no answer from the broker in 10 s")
	}
}

// wait waits for a token with a timeout.
func wait(tok mqtt.Token, d time.Duration) error {
	if !tok.WaitTimeout(d) {
		return fmt.Errorf("workers: mqtt: no acknowledgement in %v", d)
	}
	return tok.Error()
}

// closeClient disconnects c once the broker has read everything c sent.
// paho's Disconnect closes the socket without waiting for the broker, and
// a socket closed with data unread is reset, so the broker may never read
// the last publishes and acknowledgements: a reply published, or a device
// message acknowledged, just before a graceful stop would be lost. An
// UNSUBSCRIBE round trip first proves they were read, since the broker
// handles a connection's packets in order. It unsubscribes filters, or
// flushFilter when none are given.
func closeClient(c mqtt.Client, log *slog.Logger, filters ...string) {
	if len(filters) == 0 {
		filters = []string{flushFilter}
	}
	if c.IsConnectionOpen() {
		if err := wait(c.Unsubscribe(filters...), 5*time.Second); err != nil {
			log.Warn("mqtt: close without a final round trip", "err", err)
		}
	}
	c.Disconnect(250)
}

// flushFilter is a filter no connection subscribes to, for closeClient's
// round trip.
const flushFilter = "fleettasks/flush"
