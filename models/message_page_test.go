package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fleettasks/models"
)

func TestDeviceMessagePageKeyset(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	ds := regProduct(t, r, "p1", "d1")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	// 7 entries, three of them at the same instant, across a page boundary
	for i, min := range []int{0, 1, 2, 2, 2, 3, 4} {
		dir := "c2d"
		if i%2 == 1 {
			dir = "d2c"
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO device_messages (time, device_id, direction, topic, message_id, payload)
			VALUES ($1, $2, $3, 't', $4, '{}')`, base.Add(time.Duration(min)*time.Minute), ds[0].ID, dir, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	var cur *models.MessageCursor
	for range 10 {
		ms, next, err := r.DeviceMessagePage(ctx, ds[0].ID, models.MessageFilter{}, cur, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			seen = append(seen, m.MessageID)
		}
		if next == nil {
			break
		}
		parsed, err := models.ParseMessageCursor("before", next.String())
		if err != nil || *parsed != *next {
			t.Fatalf("cursor round trip %v: %v %v", next, parsed, err)
		}
		cur = parsed
	}
	if got := strings.Join(seen, " "); got != "m6 m5 m4 m3 m2 m1 m0" {
		t.Fatalf("pages: %q", got)
	}
	ms, _, _ := r.DeviceMessagePage(ctx, ds[0].ID, models.MessageFilter{Direction: models.DirectionC2D}, nil, 50)
	if len(ms) != 4 {
		t.Fatalf("c2d: %d entries", len(ms))
	}
	if _, err := models.ParseMessageCursor("before", "x-1"); err == nil {
		t.Fatal("a bad cursor parsed")
	}
}
