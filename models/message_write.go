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
	offered                       int64 // Size of all the batch's entries
	offeredMessages, offeredCut   int64
	remaining                     int64 // budget left, as the batch is decided
	loggedBytes, loggedMessages   int64
	droppedMessages, droppedBytes int64
	cutMessages                   int64
}

// WriteLog appends entries to the message log, cut as Cut says, within
// each device's daily budget of dailyBytes (UTC days, by entry time): in
// their order, an entry is stored when its Size fits in what is left of
// its device's day, and counted as dropped otherwise. The day's figures
// are kept in device_log_usage. One upsert adds the whole batch to each
// device's day and returns the totals, which locks those rows, in one
// order, until the commit: writers in several processes neither exceed a
// budget nor deadlock. Where the batch does not fit, a second statement
// takes back what was not kept; in the common case, nothing else runs.
func (db *DB) WriteLog(ctx context.Context, entries []LogEntry, dailyBytes int64) (LogWritten, error) {
	var out LogWritten
	if len(entries) == 0 {
		return out, nil
	}
	cut := make([]LogEntry, len(entries))
	deltas := map[usageKey]*usageDelta{}
	for i, e := range entries {
		cut[i] = e.Cut()
		k := usageKey{e.DeviceID, e.Time.UTC().Format(time.DateOnly)}
		d := deltas[k]
		if d == nil {
			d = &usageDelta{}
			deltas[k] = d
		}
		d.offered += cut[i].Size()
		d.offeredMessages++
		if cut[i].PayloadSize > 0 {
			d.offeredCut++
		}
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
	n := len(keys)
	devs, days, offered, msgs, cuts := make([]int64, n), make([]string, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, k := range keys {
		d := deltas[k]
		devs[i], days[i], offered[i], msgs[i], cuts[i] = int64(k.device), k.day, d.offered, d.offeredMessages, d.offeredCut
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO device_log_usage AS u (device_id, day, logged_bytes, logged_messages, cut_messages)
			SELECT d, y, b, m, c FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[]) AS k(d, y, b, m, c) ORDER BY d, y
			ON CONFLICT (device_id, day) DO UPDATE SET logged_bytes = u.logged_bytes + excluded.logged_bytes,
				logged_messages = u.logged_messages + excluded.logged_messages, cut_messages = u.cut_messages + excluded.cut_messages
			RETURNING device_id, day, logged_bytes`, devs, days, offered, msgs, cuts)
		if err != nil {
			return err
		}
		var k usageKey
		var day time.Time
		var total int64
		_, err = pgx.ForEachRow(rows, []any{&k.device, &day, &total}, func() error {
			k.day = day.Format(time.DateOnly)
			d := deltas[k]
			d.remaining = dailyBytes - (total - d.offered)
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
		if out.OverBudget == 0 {
			return nil
		}
		var over [7][]int64
		var overDays []string
		for _, k := range keys {
			d := deltas[k]
			if d.droppedMessages == 0 {
				continue
			}
			overDays = append(overDays, k.day)
			for i, v := range []int64{int64(k.device), d.offered - d.loggedBytes, d.offeredMessages - d.loggedMessages,
				d.offeredCut - d.cutMessages, d.droppedMessages, d.droppedBytes} {
				over[i] = append(over[i], v)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE device_log_usage u SET logged_bytes = u.logged_bytes - v.lb,
			logged_messages = u.logged_messages - v.lm, cut_messages = u.cut_messages - v.cm,
			dropped_messages = u.dropped_messages + v.dm, dropped_bytes = u.dropped_bytes + v.db
			FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
				AS v(d, y, lb, lm, cm, dm, db)
			WHERE u.device_id = v.d AND u.day = v.y`, over[0], overDays, over[1], over[2], over[3], over[4], over[5])
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
