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
	connected = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "fleettasks_broker_connected_clients",
		Help: "Clients connected to the embedded broker.",
	})
)
