package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MessageCursor is where a keyset page of a device's message log starts:
// at Time and older, skipping the Skip entries at exactly Time that the
// pages before showed.
type MessageCursor struct {
	Time time.Time
	Skip int
}

// String is the cursor as a URL parameter: unix microseconds, "-", skip.
func (c MessageCursor) String() string {
	return strconv.FormatInt(c.Time.UnixMicro(), 10) + "-" + strconv.Itoa(c.Skip)
}

// ParseMessageCursor reads a cursor written by String; field names the input.
func ParseMessageCursor(field, s string) (*MessageCursor, error) {
	if s == "" {
		return nil, nil
	}
	t, skip, ok := strings.Cut(s, "-")
	us, err1 := strconv.ParseInt(t, 10, 64)
	n, err2 := strconv.Atoi(skip)
	if !ok || err1 != nil || err2 != nil || n < 0 {
		return nil, Invalid(field, "%q is not a page cursor; start from the first page", s)
	}
	return &MessageCursor{Time: time.UnixMicro(us).UTC(), Skip: n}, nil
}

// DeviceMessagePage returns up to size entries of device id's message log,
// newest first, from cursor (nil: the newest), and the cursor of the next
// page (nil on the last). Each page reads about size rows of the
// (device_id, time) index, however long the log.
func (r *Registry) DeviceMessagePage(ctx context.Context, id ID, f MessageFilter, cursor *MessageCursor, size int) ([]Message, *MessageCursor, error) {
	if err := f.Validate(); err != nil {
		return nil, nil, err
	}
	if size < 1 || size > 200 {
		size = 50
	}
	args := []any{id}
	where := f.condition(&args)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	skip := 0
	if cursor != nil {
		where += " AND time <= " + arg(cursor.Time)
		skip = cursor.Skip
	}
	rows, err := r.db.Pool.Query(ctx, `SELECT `+messageColumns+`
		FROM device_messages WHERE `+where+` ORDER BY time DESC, message_id DESC, direction, topic
		OFFSET `+arg(skip)+` LIMIT `+arg(size+1), args...)
	if err != nil {
		return nil, nil, fmt.Errorf("models: message page of device %s: %w", id, err)
	}
	items, err := scanMessages(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("models: message page of device %s: %w", id, err)
	}
	if len(items) <= size {
		return items, nil, nil
	}
	items = items[:size]
	last := items[size-1].Time
	next := &MessageCursor{Time: last}
	for i := size - 1; i >= 0 && items[i].Time.Equal(last); i-- {
		next.Skip++
	}
	if cursor != nil && cursor.Time.Equal(last) {
		next.Skip += cursor.Skip
	}
	return items, next, nil
}
