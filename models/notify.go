package models

import "encoding/json"

// Notice is one notify to push to a device: its sub-task was SENT,
// CANCELLED or REMOVED.
type Notice struct {
	MessageID  int64 // the notify's id, unique per device
	SubtaskID  ID
	DeviceID   ID
	ProductKey string
	DeviceName string
	Status     SubStatus
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
