package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/handlers"
	"fleettasks/models"
)

// withConnectionState rebuilds the server as with the embedded broker:
// its registry reads online from the connection state.
func (s *testServer) withConnectionState() {
	s.Deps.Registry = models.NewRegistry(s.Deps.DB, models.WithDeviceSecretKey(s.Deps.Config.Secret), models.WithConnectionState())
	s.App = handlers.New(s.Deps)
}

// connectionFixture registers p1/d1..d3: d1 heard from a minute ago, d2
// connected to the embedded broker, d3 connected then disconnected.
func connectionFixture(t *testing.T, s *testServer) time.Time {
	t.Helper()
	ctx := context.Background()
	if st, raw := s.do("POST", "/api/v1/products", map[string]string{"productKey": "p1"}, nil); st != http.StatusCreated {
		t.Fatalf("create product: %d %s", st, raw)
	}
	if st, raw := s.do("POST", "/api/v1/products/p1/devices", devicesBody("d1", "d2", "d3"), nil); st != http.StatusCreated {
		t.Fatalf("create devices: %d %s", st, raw)
	}
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE devices SET last_seen = now() - interval '1 minute' WHERE device_name = 'd1'`); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	later := at.Add(time.Minute)
	err := s.Deps.Registry.RecordConnections(ctx, []models.ConnectionChange{
		{Device: models.DeviceRef{ProductKey: "p1", DeviceName: "d2"}, ID: 1, ConnectedAt: &at, Address: "10.0.0.2:5000", SDK: "sdk-c-4.1"},
		{Device: models.DeviceRef{ProductKey: "p1", DeviceName: "d3"}, ID: 2, ConnectedAt: &at, Address: "10.0.0.3:5000",
			DisconnectedAt: &later, Reason: "keep-alive timeout"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// names lists the device names of an API device list.
func names(l models.List[models.Device]) string {
	var out []string
	for _, d := range l.Items {
		out = append(out, d.DeviceName)
	}
	return strings.Join(out, " ")
}

// TestDeviceConnectionAPI: GET of a device has its connection with the
// embedded broker only, and the list's online filter follows the rule in
// force.
func TestDeviceConnectionAPI(t *testing.T) {
	s := newTestServer(t)
	at := connectionFixture(t, s)

	// an external broker: the silence rule, no connection object
	st, raw := s.do("GET", "/api/v1/devices/p1/d2", nil, nil)
	if st != 200 || strings.Contains(string(raw), `"connection"`) || !strings.Contains(string(raw), `"online":false`) {
		t.Fatalf("GET d2, external broker: %d %s", st, raw)
	}
	for q, want := range map[string]string{"true": "d1", "false": "d2 d3"} {
		var l models.List[models.Device]
		if st, raw := s.do("GET", "/api/v1/devices?productKey=p1&online="+q, nil, &l); st != 200 || names(l) != want || l.Total != int64(len(l.Items)) {
			t.Fatalf("online=%s, external broker: %d %s", q, st, raw)
		}
	}
	st, raw = s.do("GET", "/api/v1/devices?online=yes", nil, nil)
	wantAPIErr(t, "online=yes", st, raw, 400, "online")

	s.withConnectionState()
	var d2 struct {
		Online     bool
		Connection *struct {
			Online               bool       `json:"online"`
			Since                *time.Time `json:"since"`
			LastDisconnectReason string     `json:"lastDisconnectReason"`
			ClientAddress        string     `json:"clientAddress"`
			SDK                  string     `json:"sdk"`
		}
	}
	st, raw = s.do("GET", "/api/v1/devices/p1/d2", nil, &d2)
	if c := d2.Connection; st != 200 || c == nil || !d2.Online || !c.Online || c.Since == nil || !c.Since.Equal(at) ||
		c.ClientAddress != "10.0.0.2:5000" || c.SDK != "sdk-c-4.1" {
		t.Fatalf("GET d2: %d %s", st, raw)
	}
	d2.Connection = nil
	st, raw = s.do("GET", "/api/v1/devices/p1/d3", nil, &d2)
	if c := d2.Connection; st != 200 || c == nil || d2.Online || c.Online || c.Since == nil || !c.Since.Equal(at.Add(time.Minute)) ||
		c.LastDisconnectReason != "keep-alive timeout" {
		t.Fatalf("GET d3: %d %s", st, raw)
	}
	for q, want := range map[string]string{"true": "d2", "false": "d1 d3", "": "d1 d2 d3"} {
		var l models.List[models.Device]
		if st, raw := s.do("GET", "/api/v1/devices?productKey=p1&online="+q, nil, &l); st != 200 || names(l) != want {
			t.Fatalf("online=%s: %d %s", q, st, raw)
		}
	}
}

// TestDeviceConnectionConsole: the device page shows the connection, the
// device list filters by state and keeps the filter in its links, and
// the help and the overview say which rule applies.
func TestDeviceConnectionConsole(t *testing.T) {
	s := newTestServer(t)
	connectionFixture(t, s)
	rows := func(doc *goquery.Document) string {
		var out []string
		testid(doc, "device-row").Each(func(_ int, r *goquery.Selection) { out = append(out, r.AttrOr("data-device", "")) })
		return strings.Join(out, " ")
	}

	// an external broker: the silence rule
	_, doc := s.page("GET", "/devices/p1/d2", nil, false)
	if testid(doc, "device-connection").Length() != 0 || !strings.Contains(doc.Find("#help-device-state").Text(), "sent a message") {
		t.Fatal("the device page shows a connection with an external broker, or not the silence rule")
	}
	_, doc = s.page("GET", "/devices?online=true", nil, false)
	if got := rows(doc); got != "d1" || doc.Find(`#device-online option[selected]`).AttrOr("value", "") != "true" {
		t.Fatalf("online devices, external broker: %q", got)
	}
	if resp, _ := s.page("GET", "/devices?online=maybe", nil, false); resp.StatusCode != 400 {
		t.Fatalf("online=maybe: %d", resp.StatusCode)
	}

	s.withConnectionState()
	for dn, want := range map[string][]string{
		"d1": {"never connected"},
		"d2": {"Online since ", " from 10.0.0.2:5000", ", SDK sdk-c-4.1"},
		"d3": {"Offline since ", ": keep-alive timeout"},
	} {
		_, doc := s.page("GET", "/devices/p1/"+dn, nil, false)
		c := testid(doc, "device-connection")
		text := strings.Join(strings.Fields(c.Text()), " ")
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Fatalf("%s's connection %q lacks %q", dn, text, w)
			}
		}
		if dn != "d1" && c.Find("time[datetime]").Length() != 1 {
			t.Fatalf("%s's connection has no time: %q", dn, text)
		}
		if !strings.Contains(doc.Find("#help-device-state").Text(), "connected to the embedded broker") {
			t.Fatalf("%s: the help does not name the embedded broker", dn)
		}
	}
	_, doc = s.page("GET", "/devices?online=false&pageSize=1", nil, false)
	if got := rows(doc); got != "d1" || !strings.Contains(doc.Find(`a[rel="next"]`).AttrOr("href", ""), "online=false") {
		t.Fatalf("offline devices, page 1 of 2: %q, next %q", got, doc.Find(`a[rel="next"]`).AttrOr("href", ""))
	}
	_, doc = s.page("GET", "/devices?online=true", nil, false)
	if got := rows(doc); got != "d2" || !strings.Contains(doc.Find("#help-state").Text(), "connected to the embedded broker") {
		t.Fatalf("online devices: %q", got)
	}
	// d3 heard from just now counts for nothing: it is not connected
	if _, err := s.Deps.DB.Pool.Exec(context.Background(), `UPDATE devices SET last_seen = now() WHERE device_name = 'd3'`); err != nil {
		t.Fatal(err)
	}
	_, doc = s.page("GET", "/", nil, false)
	if got := testid(doc, "online-count").Text(); got != "1" || !strings.Contains(testid(doc, "online").Text(), "connected to the embedded broker now") {
		t.Fatalf("overview: %q online, %q", got, testid(doc, "online").Text())
	}
}
