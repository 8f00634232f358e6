// Package protocol is the device wire format of docs/protocol.md: topics,
// envelopes, reply codes and request validation. The server and the Go
// device client both import it, so they cannot drift apart.
package protocol

import (
	"strings"
)

// Reply codes.
const (
	CodeOK          = 200
	CodeBadRequest  = 400
	CodeNotFound    = 404
	CodeConflict    = 409
	CodeTooMany     = 429
	CodeServerError = 500
)

// Limits.
const (
	MaxPayload       = 64 << 10 // a device message
	MaxStatusDetails = 4 << 10  // statusDetails, serialized
	MaxListed        = 10       // sub-tasks in a $list reply
)

// Message kinds: the last segment of a job topic.
const (
	KindNotify      = "notify"
	KindNotifyReply = "notify_reply"
	KindGet         = "get"
	KindGetReply    = "get_reply"
	KindUpdate      = "update"
	KindUpdateReply = "update_reply"
)

// Special taskId values of a get request.
const (
	List = "$list"
	Next = "$next"
)

// Topic is /sys/{pk}/{dn}/thing/job/{kind}.
func Topic(pk, dn, kind string) string {
	return "/sys/" + pk + "/" + dn + "/thing/job/" + kind
}

// Filter is the wildcard subscription of one kind for all devices.
func Filter(kind string) string { return "/sys/+/+/thing/job/" + kind }

// SharedFilter is Filter as a shared subscription of group. The topics
// start with '/', hence the double slash.
func SharedFilter(group, kind string) string { return "$share/" + group + "/" + Filter(kind) }

// ParseTopic splits a job topic into its device identity and kind.
func ParseTopic(topic string) (pk, dn, kind string, ok bool) {
	parts := strings.Split(topic, "/")
	// "", "sys", pk, dn, "thing", "job", kind
	if len(parts) != 7 || parts[0] != "" || parts[1] != "sys" || parts[4] != "thing" || parts[5] != "job" ||
		parts[2] == "" || parts[3] == "" || parts[6] == "" {
		return "", "", "", false
	}
	return parts[2], parts[3], parts[6], true
}
