package broker

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	connections = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_broker_connections_total",
		Help: "Sign-ins to the embedded broker, by result (accepted, refused).",
	}, []string{"result"})
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
