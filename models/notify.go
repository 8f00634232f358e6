package models

import (
	"context"
	"encoding/json"
)

// Notice is one notify to push to a device: its sub-task was SENT,
// CANCELLED or REMOVED.
type Notice struct {
	SubtaskID  ID
	DeviceID   ID
	ProductKey string
	DeviceName string
	Status     string
	QoS        byte
	Document   json.RawMessage // SENT only
	File       *NoticeFile     // SENT only, when the task has a file
}

// NoticeFile is the task file as a notify carries it.
type NoticeFile struct {
	FileID     ID
	SignMethod string // MD5 or SHA256
	Sign       string
}

// Notifier publishes notifies to devices (the MQTT bridge). For each notice
// it returns the message id used, or an error when the publish failed (the
// sub-task then stays where it was, to be tried again).
type Notifier interface {
	Notify(ctx context.Context, notices []Notice) (ids []int64, errs []error)
}
