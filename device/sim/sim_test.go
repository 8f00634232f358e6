package sim_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fleettasks/device/internal/peer"
	"fleettasks/device/sim"
	"fleettasks/protocol"
)

func start(t *testing.T, p *peer.Peer, b sim.Behaviour, devices int, work time.Duration) *sim.Sim {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := sim.Start(ctx, sim.Config{BrokerURL: peer.BrokerURL(), ProductKey: p.PK, Devices: devices,
		Behaviour: b, Work: work, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// trace renders updates as "STATUS/progress/details" for comparison.
func trace(us []protocol.UpdateParams) string {
	var parts []string
	for _, u := range us {
		s := u.Status
		if u.Progress != nil {
			s += fmt.Sprintf("/%d", *u.Progress)
		}
		if u.StatusDetails != nil {
			s += string(u.StatusDetails)
		}
		parts = append(parts, u.TaskID+":"+s)
	}
	return strings.Join(parts, " ")
}

func waitTrace(t *testing.T, p *peer.Peer, dn, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for got := trace(p.Updates(dn)); got != want; got = trace(p.Updates(dn)) {
		if time.Now().After(deadline) {
			t.Fatalf("updates of %s:\n got %s\nwant %s", dn, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitStats waits for the stats to read want (they count a final status
// once its reply is in, a moment after the peer saw the update).
func waitStats(t *testing.T, s *sim.Sim, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for got := s.Stats().String(); got != want; got = s.Stats().String() {
		if time.Now().After(deadline) {
			t.Fatalf("stats:\n got %s\nwant %s", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSimBehaviours(t *testing.T) {
	t.Parallel()
	firmware := []byte(strings.Repeat("simulated firmware\n", 1000))
	sum := md5.Sum(firmware)
	var downloads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downloads.Add(1)
		w.Write(firmware)
	}))
	t.Cleanup(srv.Close) // after the parallel subtests
	file := &protocol.JobFile{SignMethod: "Md5", Sign: hex.EncodeToString(sum[:]), FileURL: srv.URL + "/fw"}

	cases := []struct {
		behaviour sim.Behaviour
		want      string
	}{
		{sim.Succeed, `1:IN_PROGRESS/0 1:IN_PROGRESS/50 1:SUCCEEDED/100{"result":"ok"}`},
		{sim.Fail, `1:IN_PROGRESS/0 1:FAILED{"reason":"simulated failure"}`},
		{sim.Reject, `1:REJECTED`},
		{sim.Hang, `1:IN_PROGRESS/0`},
	}
	for _, tc := range cases {
		t.Run(string(tc.behaviour), func(t *testing.T) {
			t.Parallel()
			p := peer.New(t, peer.Prefix(t))
			s := start(t, p, tc.behaviour, 2, 50*time.Millisecond)
			p.Add("d1", peer.Task{ID: "1", Document: json.RawMessage(`{"v":2}`), File: file})
			p.Notify("d1", "1", "SENT")
			waitTrace(t, p, "d1", tc.want)
			time.Sleep(200 * time.Millisecond) // nothing more comes
			waitTrace(t, p, "d1", tc.want)
			if got := trace(p.Updates("d2")); got != "" {
				t.Fatalf("d2 did something: %s", got)
			}
			if st := s.Stats(); st.Received != 1 || st.Errors != 0 {
				t.Fatalf("stats %s", st)
			}
			if tc.behaviour == sim.Succeed && downloads.Load() != 1 {
				t.Fatalf("%d downloads, want 1", downloads.Load())
			}
		})
	}
}

func TestSimTakesListedTasksOneAtATimeOldestFirst(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	p.Add("d1", peer.Task{ID: "a"})
	p.Add("d1", peer.Task{ID: "b", Status: "IN_PROGRESS"})
	s := start(t, p, sim.Succeed, 1, 30*time.Millisecond)
	waitTrace(t, p, "d1", `a:IN_PROGRESS/0 a:IN_PROGRESS/50 a:SUCCEEDED/100{"result":"ok"} `+
		`b:IN_PROGRESS/0 b:IN_PROGRESS/50 b:SUCCEEDED/100{"result":"ok"}`)
	waitStats(t, s, "received=2 succeeded=2 failed=0 rejected=0 hanging=0 cancelled=0 conflicts=0 errors=0")
}

func TestSimCancelStopsWorkAndMovesOn(t *testing.T) {
	t.Parallel()
	p := peer.New(t, peer.Prefix(t))
	s := start(t, p, sim.Succeed, 1, 700*time.Millisecond)
	p.Add("d1", peer.Task{ID: "a"})
	p.Add("d1", peer.Task{ID: "b"})
	p.Add("d1", peer.Task{ID: "c"})
	p.Notify("d1", "a", "SENT")
	p.Notify("d1", "b", "SENT")
	p.Notify("d1", "c", "SENT")
	waitTrace(t, p, "d1", `a:IN_PROGRESS/0 a:IN_PROGRESS/50`)
	p.Notify("d1", "b", "REMOVED")   // queued: dropped
	p.Notify("d1", "a", "CANCELLED") // running: stopped
	waitTrace(t, p, "d1", `a:IN_PROGRESS/0 a:IN_PROGRESS/50 c:IN_PROGRESS/0 c:IN_PROGRESS/50 c:SUCCEEDED/100{"result":"ok"}`)
	waitStats(t, s, "received=3 succeeded=1 failed=0 rejected=0 hanging=0 cancelled=2 conflicts=0 errors=0")
}

func TestSimMixedIsDeterministic(t *testing.T) {
	counts := map[sim.Behaviour]int{}
	for i := 1; i <= 10000; i++ {
		dn := sim.DeviceName("d", i)
		b := sim.Mixed.For(dn)
		if b != sim.Mixed.For(dn) {
			t.Fatalf("%s: not deterministic", dn)
		}
		counts[b]++
	}
	want := map[sim.Behaviour]int{sim.Succeed: 7000, sim.Fail: 1000, sim.Reject: 1000, sim.Hang: 1000}
	for b, n := range want {
		if d := counts[b] - n; d < -300 || d > 300 {
			t.Errorf("%s: %d of 10000, want about %d", b, counts[b], n)
		}
	}
	if sim.Fail.For("d1") != sim.Fail {
		t.Error("a fixed behaviour is not kept")
	}
	if _, err := sim.ParseBehaviour("explode"); err == nil {
		t.Error("unknown behaviour accepted")
	}
}
