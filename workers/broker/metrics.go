package broker

import (
	"fleettasks/protocol/signin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	connections = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_broker_connections_total",
		Help: "Sign-ins to the embedded broker, by result (accepted, refused).",
	}, []string{"result"})
	signinFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_broker_signin_failures_total",
		Help: "Sign-ins the embedded broker refused, by reason (bad_signature, unknown_device, no_secret, malformed, mismatch, server_password, client_id_taken, unavailable).",
	}, []string{"reason"})
	aclRefusals = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_broker_acl_refusals_total",
		Help: "Publishes and subscriptions the embedded broker refused, by action (publish, subscribe).",
	}, []string{"action"})
	disconnections = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_broker_disconnections_total",
		Help: "Devices' connections to the embedded broker that ended, by reason (client disconnected, keep-alive timeout, connection lost, taken over by a new connection, server shutdown, not authorized, protocol error).",
	}, []string{"reason"})
	connected = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "fleettasks_broker_connected_clients",
		Help: "Clients connected to the embedded broker.",
	})
)

// failureLabels are the metric labels of the sign-in refusal reasons.
var failureLabels = map[signin.Reason]string{
	signin.ReasonBadSignature:   "bad_signature",
	signin.ReasonUnknownDevice:  "unknown_device",
	signin.ReasonNoSecret:       "no_secret",
	signin.ReasonMalformed:      "malformed",
	signin.ReasonMismatch:       "mismatch",
	signin.ReasonServerPassword: "server_password",
}
