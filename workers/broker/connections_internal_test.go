package broker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol/signin"
)

// TestMerge: what is pending for a device after a later change.
func TestMerge(t *testing.T) {
	t1, t2 := time.Unix(1, 0), time.Unix(2, 0)
	conn := func(id int64) models.ConnectionChange { return models.ConnectionChange{ID: id, ConnectedAt: &t1} }
	disc := func(id int64) models.ConnectionChange {
		return models.ConnectionChange{ID: id, DisconnectedAt: &t2, Reason: "r"}
	}
	both := func(id int64) models.ConnectionChange {
		return models.ConnectionChange{ID: id, ConnectedAt: &t1, DisconnectedAt: &t2, Reason: "r"}
	}
	for _, c := range []struct {
		name           string
		pending, later models.ConnectionChange
		want           models.ConnectionChange
	}{
		{"a connection ends", conn(1), disc(1), both(1)},
		{"an old connection ends after a new one began", conn(2), disc(1), conn(2)},
		{"an old connection ends after a new one ended", disc(2), disc(1), disc(2)},
		{"a newer connection ends", disc(1), disc(2), disc(2)},
		{"a new connection", disc(1), conn(2), conn(2)},
		{"a new connection after a short one", both(1), conn(2), conn(2)},
	} {
		p := c.pending
		merge(&p, &c.later)
		if p != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, p, c.want)
		}
	}
}

// TestWriterOrder: a device taken over by a new connection, whose old
// connection's end comes after the new one's start, is left online,
// whether the writer writes the three in one batch or apart.
func TestWriterOrder(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	reg := models.NewRegistry(db, models.WithDeviceSecretKey([]byte("broker-tests-server-secret")), models.WithConnectionState())
	ctx := context.Background()
	if _, err := reg.CreateProduct(ctx, models.ProductInput{ProductKey: "p1", Name: "p1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateDevices(ctx, "p1", []string{"d1", "d2"}); err != nil {
		t.Fatal(err)
	}
	w := newConnWriter(reg, slog.Default())
	// d1: all three at once
	d1 := signin.Device{ProductKey: "p1", DeviceName: "d1"}
	a := w.connect(d1, "a", "")
	w.connect(d1, "b", "")
	w.disconnect(d1, a, reasonTakenOver)
	// d2: each written before the next
	d2 := signin.Device{ProductKey: "p1", DeviceName: "d2"}
	a = w.connect(d2, "a", "")
	time.Sleep(3 * flushEvery)
	w.connect(d2, "b", "")
	time.Sleep(3 * flushEvery)
	w.disconnect(d2, a, reasonTakenOver)
	w.close()
	for _, dn := range []string{"d1", "d2"} {
		d, err := reg.GetDevice(ctx, "p1", dn)
		if err != nil {
			t.Fatal(err)
		}
		if c := d.Connection; !c.Online || c.ClientAddress != "b" {
			t.Errorf("%s: %+v, want online from b", dn, c)
		}
	}
}

// TestSDKVersion: the _v parameter, made storable.
func TestSDKVersion(t *testing.T) {
	for id, want := range map[string]string{
		"p1.d1|securemode=2,signmethod=hmacsha256,_v=sdk-c-4.1.2|": "sdk-c-4.1.2",
		"p1.d1|securemode=2,signmethod=hmacsha256|":                "",
		"p1.d1|signmethod=hmacsha256,_v=a\x00b\xffc|":              "abc",
		"p1.d1": "",
	} {
		if got := sdkVersion(id); got != want {
			t.Errorf("%q: %q, want %q", id, got, want)
		}
	}
}
