package models

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"fleettasks/protocol"
)

// CutPayloadBytes is how much of a refused device request's payload the
// message log keeps.
const CutPayloadBytes = 256

// DefaultLogDailyBytes is how many bytes of message log one device may
// write a day unless configured otherwise: 10 MB.
const DefaultLogDailyBytes = 10 << 20

// LogEntry is one message of the device message log.
type LogEntry struct {
	Time      time.Time
	DeviceID  ID
	Direction string // c2d or d2c
	Topic     string
	MessageID string
	Payload   []byte
	Code      *int
	SubtaskID *ID
	// PayloadSize is how long Payload was before Cut shortened it; 0 when
	// Payload is whole.
	PayloadSize int
}

// refused says whether e is a device request that was answered 400
// (malformed) or 429 (too many): the device gets nothing from it, so the
// log needs no more than its first bytes to show what it was.
func (e LogEntry) refused() bool {
	return e.Direction == DirectionD2C && e.Code != nil &&
		(*e.Code == protocol.CodeBadRequest || *e.Code == protocol.CodeTooMany)
}

// Cut is e as the log stores it: a refused device request keeps the first
// CutPayloadBytes of its payload, copied so that the full payload can be
// freed at once, and PayloadSize records its length. Any other entry, or
// one already cut, is returned as it is.
func (e LogEntry) Cut() LogEntry {
	if e.PayloadSize > 0 || len(e.Payload) <= CutPayloadBytes || !e.refused() {
		return e
	}
	e.PayloadSize = len(e.Payload)
	e.Payload = bytes.Clone(e.Payload[:CutPayloadBytes])
	return e
}

// Size is what e counts against its device's daily budget: the payload as
// stored, the topic and the message id.
func (e LogEntry) Size() int64 { return int64(len(e.Payload) + len(e.Topic) + len(e.MessageID)) }

// sentSize is the size of e as it went over the wire, whether or not it
// was cut: what a dropped entry would have been.
func (e LogEntry) sentSize() int64 {
	if e.PayloadSize > 0 {
		return e.Size() - int64(len(e.Payload)) + int64(e.PayloadSize)
	}
	return e.Size()
}

// LogWritten is what one WriteLog stored and left out.
type LogWritten struct {
	Kept       int // entries stored
	Cut        int // of them, refused requests stored cut
	OverBudget int // entries not stored: their device's day was spent
}

// usageKey is one device's UTC day of message log.
type usageKey struct {
	device ID
	day    string // YYYY-MM-DD
}

// usageDelta is what a batch adds to one usage row.
type usageDelta struct {
	remaining                     int64 // budget left, as the batch is decided
	loggedBytes, loggedMessages   int64
	droppedMessages, droppedBytes int64
	cutMessages                   int64
}

// WriteLog appends entries to the message log, cut as Cut says, within
// each device's daily budget of dailyBytes (UTC days, by entry time): in
// their order, an entry is stored when its Size fits in what is left of
// its device's day, and counted as dropped otherwise. The day's figures
// are kept in device_log_usage, whose rows are locked in one order for
// the whole transaction so that writers in several processes neither
// exceed a budget nor deadlock.
func (db *DB) WriteLog(ctx context.Context, entries []LogEntry, dailyBytes int64) (LogWritten, error) {
	var out LogWritten
	if len(entries) == 0 {
		return out, nil
	}
	cut := make([]LogEntry, len(entries))
	deltas := map[usageKey]*usageDelta{}
	for i, e := range entries {
		cut[i] = e.Cut()
		deltas[usageKey{e.DeviceID, e.Time.UTC().Format(time.DateOnly)}] = &usageDelta{}
	}
	keys := make([]usageKey, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].device != keys[j].device {
			return keys[i].device < keys[j].device
		}
		return keys[i].day < keys[j].day
	})
	devs, days := make([]int64, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		devs[i], days[i] = int64(k.device), k.day
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// new rows are inserted, and all rows then locked, in key order:
		// two writers with devices in common wait for each other, never
		// in a circle
		if _, err := tx.Exec(ctx, `INSERT INTO device_log_usage (device_id, day)
			SELECT d, y FROM unnest($1::bigint[], $2::date[]) AS k(d, y) ORDER BY d, y
			ON CONFLICT (device_id, day) DO NOTHING`, devs, days); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT device_id, day, logged_bytes FROM device_log_usage
			WHERE (device_id, day) IN (SELECT d, y FROM unnest($1::bigint[], $2::date[]) AS k(d, y))
			ORDER BY device_id, day FOR UPDATE`, devs, days)
		if err != nil {
			return err
		}
		var k usageKey
		var day time.Time
		var logged int64
		_, err = pgx.ForEachRow(rows, []any{&k.device, &day, &logged}, func() error {
			k.day = day.Format(time.DateOnly)
			deltas[k].remaining = dailyBytes - logged
			return nil
		})
		if err != nil {
			return err
		}
		kept := out.decide(cut, deltas)
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"device_messages"},
			[]string{"time", "device_id", "direction", "topic", "message_id", "payload", "code", "subtask_id", "payload_size"},
			pgx.CopyFromSlice(len(kept), func(i int) ([]any, error) {
				e := kept[i]
				var size *int
				if e.PayloadSize > 0 {
					size = &e.PayloadSize
				}
				return []any{e.Time, int64(e.DeviceID), e.Direction, e.Topic, e.MessageID, e.Payload, e.Code, (*int64)(e.SubtaskID), size}, nil
			})); err != nil {
			return err
		}
		cols := make([][]int64, 5)
		for _, k := range keys {
			d := deltas[k]
			for i, v := range []int64{d.loggedBytes, d.loggedMessages, d.droppedMessages, d.droppedBytes, d.cutMessages} {
				cols[i] = append(cols[i], v)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE device_log_usage u SET logged_bytes = u.logged_bytes + v.lb,
			logged_messages = u.logged_messages + v.lm, dropped_messages = u.dropped_messages + v.dm,
			dropped_bytes = u.dropped_bytes + v.db, cut_messages = u.cut_messages + v.cm
			FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
				AS v(d, y, lb, lm, dm, db, cm)
			WHERE u.device_id = v.d AND u.day = v.y`, devs, days, cols[0], cols[1], cols[2], cols[3], cols[4])
		return err
	})
	if err != nil {
		return LogWritten{}, fmt.Errorf("models: write %d log entries: %w", len(entries), err)
	}
	return out, nil
}

// decide walks entries in order against what is left of each device's
// day, adds them up in deltas and w, and returns those that fit.
func (w *LogWritten) decide(entries []LogEntry, deltas map[usageKey]*usageDelta) []LogEntry {
	kept := make([]LogEntry, 0, len(entries))
	for _, e := range entries {
		d := deltas[usageKey{e.DeviceID, e.Time.UTC().Format(time.DateOnly)}]
		size := e.Size()
		if size > d.remaining {
			d.droppedMessages++
			d.droppedBytes += e.sentSize()
			w.OverBudget++
			continue
		}
		d.remaining -= size
		d.loggedBytes += size
		d.loggedMessages++
		w.Kept++
		if e.PayloadSize > 0 {
			d.cutMessages++
			w.Cut++
		}
		kept = append(kept, e)
	}
	return kept
}
