package models_test

import (
	"context"
	"testing"
	"time"

	"fleettasks/models"
)

// TestRecordConnections: a device is online from its connect to its
// disconnect; the end of an old connection reported after a new one took
// over leaves it online; EndConnections ends every connection.
func TestRecordConnections(t *testing.T) {
	db, _ := newRegistry(t)
	r := models.NewRegistry(db, models.WithConnectionState(), models.WithDeviceSecretKey([]byte(testServerSecret)))
	ctx := context.Background()
	regProduct(t, r, "p1", "d1", "d2", "d3")
	d1 := models.DeviceRef{ProductKey: "p1", DeviceName: "d1"}
	at := func(s int) *time.Time { v := time.Date(2026, 5, 1, 10, 0, s, 0, time.UTC); return &v }
	record := func(cs ...models.ConnectionChange) {
		t.Helper()
		if err := r.RecordConnections(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	get := func(dn string) *models.Device {
		t.Helper()
		d, err := r.GetDevice(ctx, "p1", dn)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	if c := get("d1").Connection; c == nil || c.Online || c.Since != nil || c.LastConnect != nil {
		t.Fatalf("a device that never connected: %+v", c)
	}
	record(models.ConnectionChange{Device: d1, ID: 1, ConnectedAt: at(1), Address: "10.0.0.1:5000", SDK: "sdk-c-4.1"})
	d := get("d1")
	if c := d.Connection; !d.Online || !c.Online || !c.Since.Equal(*at(1)) || c.ClientAddress != "10.0.0.1:5000" || c.SDK != "sdk-c-4.1" {
		t.Fatalf("after connect: %+v %+v", d, c)
	}
	// connection 2 takes over; connection 1's end comes after
	record(models.ConnectionChange{Device: d1, ID: 2, ConnectedAt: at(2), Address: "10.0.0.1:5001"})
	record(models.ConnectionChange{Device: d1, ID: 1, DisconnectedAt: at(3), Reason: "taken over by a new connection"})
	if c := get("d1").Connection; !c.Online || !c.Since.Equal(*at(2)) || c.ClientAddress != "10.0.0.1:5001" || c.SDK != "" {
		t.Fatalf("the old connection's end took the new one down: %+v", c)
	}
	record(models.ConnectionChange{Device: d1, ID: 2, DisconnectedAt: at(4), Reason: "client disconnected"})
	d = get("d1")
	if c := d.Connection; d.Online || c.Online || !c.Since.Equal(*at(4)) || c.LastDisconnectReason != "client disconnected" ||
		!c.LastConnect.Equal(*at(2)) || c.ClientAddress != "10.0.0.1:5001" {
		t.Fatalf("after disconnect: %+v %+v", d, c)
	}

	// a connect and its end in one change, and one device left connected
	record(models.ConnectionChange{Device: models.DeviceRef{ProductKey: "p1", DeviceName: "d2"}, ID: 3, ConnectedAt: at(5), DisconnectedAt: at(6), Reason: "connection lost"},
		models.ConnectionChange{Device: models.DeviceRef{ProductKey: "p1", DeviceName: "d3"}, ID: 4, ConnectedAt: at(5)})
	if c := get("d2").Connection; c.Online || c.LastDisconnectReason != "connection lost" || !c.LastConnect.Equal(*at(5)) {
		t.Fatalf("connect and disconnect in one change: %+v", c)
	}
	if n, err := r.EndConnections(ctx, *at(7), "server restarted"); err != nil || n != 1 {
		t.Fatalf("EndConnections: %d %v", n, err)
	}
	if c := get("d3").Connection; c.Online || c.LastDisconnectReason != "server restarted" || !c.Since.Equal(*at(7)) {
		t.Fatalf("after EndConnections: %+v", c)
	}
	if c := get("d2").Connection; c.LastDisconnectReason != "connection lost" {
		t.Fatalf("EndConnections touched a device already offline: %+v", c)
	}
	// without connection state, the silence rule and no connection
	if d, _ := models.NewRegistry(db).GetDevice(ctx, "p1", "d1"); d.Connection != nil || d.Online {
		t.Fatalf("the silence rule: %+v", d)
	}
}

// TestListDevicesOnline: the online filter follows the connection state
// with WithConnectionState and the silence rule without, as does the
// count of devices online.
func TestListDevicesOnline(t *testing.T) {
	db, silence := newRegistry(t)
	conns := models.NewRegistry(db, models.WithConnectionState())
	ctx := context.Background()
	regProduct(t, silence, "p1", "d1", "d2", "d3", "d10")
	now := time.Now()
	// d2, d3 and d10 connected; d1 and d10 heard from lately, d3 long ago
	err := conns.RecordConnections(ctx, []models.ConnectionChange{
		{Device: models.DeviceRef{ProductKey: "p1", DeviceName: "d2"}, ID: 1, ConnectedAt: &now},
		{Device: models.DeviceRef{ProductKey: "p1", DeviceName: "d3"}, ID: 3, ConnectedAt: &now},
		{Device: models.DeviceRef{ProductKey: "p1", DeviceName: "d10"}, ID: 2, ConnectedAt: &now},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE devices SET last_seen = now() - CASE device_name
		WHEN 'd3' THEN interval '1 hour' ELSE interval '1 minute' END WHERE device_name IN ('d1', 'd3', 'd10')`); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for _, c := range []struct {
		name   string
		r      *models.Registry
		online *bool
		want   string
	}{
		{"connected", conns, &yes, "d2 d3 d10"},
		{"not connected", conns, &no, "d1"},
		{"all", conns, nil, "d1 d2 d3 d10"},
		{"heard from", silence, &yes, "d1 d10"},
		{"silent", silence, &no, "d2 d3"},
	} {
		ds, total, err := c.r.ListDevices(ctx, models.DeviceFilter{ProductKey: "p1", Online: c.online}, models.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for i, d := range ds {
			if i > 0 {
				got += " "
			}
			got += d.DeviceName
			if c.online != nil && d.Online != *c.online {
				t.Fatalf("%s: %s is listed with online %v", c.name, d.DeviceName, d.Online)
			}
		}
		if got != c.want || total != int64(len(ds)) {
			t.Fatalf("%s: %q (total %d), want %q", c.name, got, total, c.want)
		}
	}
	// a page of the connected ones, in natural order
	ds, total, err := conns.ListDevices(ctx, models.DeviceFilter{Online: &yes}, models.Page{Size: 1, Number: 3})
	if err != nil || total != 3 || len(ds) != 1 || ds[0].DeviceName != "d10" {
		t.Fatalf("page 3 of the connected ones: %+v %d %v", ds, total, err)
	}
	for _, c := range []struct {
		r    *models.Registry
		want int64
	}{{conns, 3}, {silence, 2}} {
		if n, _, err := c.r.Online(ctx); err != nil || n != c.want {
			t.Fatalf("online count %d %v, want %d", n, err, c.want)
		}
	}
}
