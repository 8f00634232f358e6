package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Message directions in a device's message log.
const (
	DirectionC2D = "c2d" // cloud to device
	DirectionD2C = "d2c" // device to cloud
)

// MaxMessageCount is the largest total a message list counts exactly; a
// total of MaxMessageCount+1 means "more than MaxMessageCount".
const MaxMessageCount = 10_000

// Message is one entry of a device's message log. Payload is the stored
// bytes as JSON when they are valid JSON, else as a JSON string (as a cut
// payload usually is). PayloadSize is the payload's size as sent;
// Truncated says that only its first CutPayloadBytes were kept.
type Message struct {
	Time        time.Time       `json:"time"`
	Direction   string          `json:"direction"`
	Topic       string          `json:"topic"`
	MessageID   string          `json:"messageId"`
	Payload     json.RawMessage `json:"payload"`
	PayloadSize int             `json:"payloadSize"`
	Truncated   bool            `json:"truncated"`
	Code        *int            `json:"code"`
	SubtaskID   *ID             `json:"subtaskId"`
}

// MessageFilter narrows a message list; zero fields do not filter. The
// time range is From <= time < To.
type MessageFilter struct {
	Direction string // DirectionC2D, DirectionD2C or ""
	Topic     string // exact topic
	From, To  *time.Time
	SubtaskID ID
}

// Validate checks the filter and names the first bad field.
func (f MessageFilter) Validate() error {
	switch f.Direction {
	case "", DirectionC2D, DirectionD2C:
	default:
		return Invalid("direction", "%q is not a direction; use c2d (cloud to device) or d2c (device to cloud)", f.Direction)
	}
	if err := checkStorable("topic", f.Topic); err != nil {
		return err
	}
	if f.From != nil && f.To != nil && f.To.Before(*f.From) {
		return Invalid("to", "is before from")
	}
	return nil
}

// ListDeviceMessages returns one page of the message log of device pk/dn,
// newest first, and how many entries match, counted up to
// MaxMessageCount+1.
func (r *Registry) ListDeviceMessages(ctx context.Context, pk, dn string, f MessageFilter, pg Page) ([]Message, int64, error) {
	pg = pageOf(pg)
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	dev, err := r.device(ctx, pk, dn)
	if err != nil {
		return nil, 0, err
	}
	args := []any{dev.ID}
	where := f.condition(&args)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	var total int64
	if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM device_messages WHERE `+where+
		` LIMIT `+strconv.Itoa(MaxMessageCount+1)+`) m`, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("models: count messages of %s/%s: %w", pk, dn, err)
	}
	rows, err := r.db.Pool.Query(ctx, `SELECT `+messageColumns+`
		FROM device_messages WHERE `+where+` ORDER BY time DESC LIMIT `+arg(pg.Size)+` OFFSET `+arg(pg.Offset()), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("models: list messages of %s/%s: %w", pk, dn, err)
	}
	defer rows.Close()
	items, err := scanMessages(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("models: list messages of %s/%s: %w", pk, dn, err)
	}
	return items, total, nil
}

// messageColumns are the columns of device_messages that scanMessages reads.
const messageColumns = `time, direction, topic, message_id, payload, code, subtask_id, payload_size`

// scanMessages reads rows of messageColumns.
func scanMessages(rows pgx.Rows) ([]Message, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		var payload []byte
		var subtask *ID
		var size *int
		err := r.Scan(&m.Time, &m.Direction, &m.Topic, &m.MessageID, &payload, &m.Code, &subtask, &size)
		m.Time, m.Payload, m.SubtaskID = m.Time.UTC(), payloadJSON(payload), subtask
		m.PayloadSize, m.Truncated = len(payload), size != nil
		if size != nil {
			m.PayloadSize = *size
		}
		return m, err
	})
}

// payloadJSON is b itself when it is JSON, else b as a JSON string.
func payloadJSON(b []byte) json.RawMessage {
	if len(b) > 0 && json.Valid(b) {
		return json.RawMessage(b)
	}
	s, _ := json.Marshal(string(b))
	return s
}

// condition is the WHERE condition of f on device_messages of the device
// $1 (the first of args); f's values are appended to args.
func (f MessageFilter) condition(args *[]any) string {
	arg := func(v any) string { *args = append(*args, v); return "$" + strconv.Itoa(len(*args)) }
	where := "device_id = $1"
	if f.Direction != "" {
		where += " AND direction = " + arg(f.Direction)
	}
	if f.Topic != "" {
		where += " AND topic = " + arg(f.Topic)
	}
	if f.From != nil {
		where += " AND time >= " + arg(*f.From)
	}
	if f.To != nil {
		where += " AND time < " + arg(*f.To)
	}
	if f.SubtaskID != 0 {
		where += " AND subtask_id = " + arg(f.SubtaskID)
	}
	return where
}
