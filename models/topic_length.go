package models

import "fmt"

// The Alibaba Link SDK 4.x for C caps an MQTT topic at csdkMaxTopic bytes.
// A device's longest job topics, /sys/{pk}/{dn}/thing/job/update_reply and
// .../notify_reply, are jobTopicFrame bytes plus its product key and device
// name, so on that SDK the two together must fit in MaxCSDKNameBytes.
// The registry accepts longer names (other clients have no such cap) and
// gives a hint where a device is created or imported.
const (
	csdkMaxTopic     = 127
	jobTopicFrame    = len("/sys///thing/job/update_reply") // 29
	MaxCSDKNameBytes = csdkMaxTopic - jobTopicFrame         // 98
)

// TopicTooLongForCSDK reports whether device pk/dn's job topics are too
// long for the Alibaba C SDK: its product key and device name together
// are over MaxCSDKNameBytes bytes. It is the one rule behind every hint.
func TopicTooLongForCSDK(pk, dn string) bool {
	return len(pk)+len(dn) > MaxCSDKNameBytes
}

// CSDKTopicHint says why device pk/dn does not suit the Alibaba C SDK; it
// is a hint, not a refusal (see TopicTooLongForCSDK).
func CSDKTopicHint(pk, dn string) string {
	return fmt.Sprintf("product key and device name together are %d bytes; devices on the Alibaba C SDK need at most %d "+
		"(its topics are capped at %d bytes) — see docs/protocol.md", len(pk)+len(dn), MaxCSDKNameBytes, csdkMaxTopic)
}

// FieldWarning is advice on an accepted request, by field, in the shape
// of the API's errors.
type FieldWarning struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// CSDKNameWarnings are the warnings of a bulk registration of names in
// product pk, one per name too long for the Alibaba C SDK, by the
// request's field (devices[i].deviceName).
func CSDKNameWarnings(pk string, names []string) []FieldWarning {
	var out []FieldWarning
	for i, dn := range names {
		if TopicTooLongForCSDK(pk, dn) {
			out = append(out, FieldWarning{Field: fmt.Sprintf("devices[%d].deviceName", i), Message: pk + "/" + dn + ": " + CSDKTopicHint(pk, dn)})
		}
	}
	return out
}
