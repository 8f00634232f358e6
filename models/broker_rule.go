package models

import (
	"slices"

	"fleettasks/protocol"
)

// BrokerAction is what a client asks the broker to do with a topic.
type BrokerAction string

// Broker actions.
const (
	BrokerPublish   BrokerAction = "publish"
	BrokerSubscribe BrokerAction = "subscribe"
)

// Which job topics of its own a device reads (subscribes to) and writes
// (publishes to). The one rule behind both the Mosquitto ACL file and the
// HTTP authorizer of an EMQX broker.
var (
	deviceReads  = []string{protocol.KindNotify, protocol.KindGetReply, protocol.KindUpdateReply}
	deviceWrites = []string{protocol.KindGet, protocol.KindUpdate, protocol.KindNotifyReply}
)

// DeviceMay reports whether device pk/dn may do a on topic: only its own
// job topics, reading the downlink kinds and writing the uplink ones. A
// topic filter with wildcards is never a device's own topic.
func DeviceMay(pk, dn string, a BrokerAction, topic string) bool {
	tpk, tdn, kind, ok := protocol.ParseTopic(topic)
	if !ok || tpk != pk || tdn != dn {
		return false
	}
	switch a {
	case BrokerPublish:
		return slices.Contains(deviceWrites, kind)
	case BrokerSubscribe:
		return slices.Contains(deviceReads, kind)
	}
	return false
}
