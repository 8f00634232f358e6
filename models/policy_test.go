package models

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func policyOf(t *testing.T, s string) *Policy {
	t.Helper()
	var p Policy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestPolicyValidation: a policy that cannot work is refused naming the
// field at fault; the contract's example is accepted.
func TestPolicyValidation(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	example := `{"waves":[{"percent":1,"successGate":{"percent":95,"minFinished":10},"soakMinutes":30,"approval":"auto"},
		{"percent":10,"successGate":{"percent":95,"minFinished":50},"approval":"manual"},{"percent":89}],
		"exponentialRate":{"baseRatePerMinute":10,"incrementFactor":2.0,"increaseAfter":{"notified":100}},
		"abort":[{"failureType":"ANY","thresholdPercent":5,"minFinished":20,"action":"PAUSE"}],
		"retry":[{"failureType":"TIMED_OUT","maxAttempts":2,"backoffMinutes":5,"backoffDoubling":true}],
		"endAt":"2026-12-24T00:00:00Z","endBehavior":"STOP_ROLLOUT",
		"maintenanceWindows":[{"cron":"0 2 * * *","durationMinutes":120,"timeZone":"Europe/Berlin"}],"continuous":true}`
	if err := policyOf(t, example).validate(now, 1000); err != nil {
		t.Fatalf("the example policy: %v", err)
	}
	cases := []struct{ policy, field, msg string }{
		{`{"waves":[{"percent":60},{"percent":50},{}]}`, "policy.waves[1].percent", "at most 100"},
		{`{"waves":[{"percent":0},{}]}`, "policy.waves[0].percent", "over 0"},
		{`{"waves":[{"percent":10,"count":5},{}]}`, "policy.waves[0]", "not both"},
		{`{"waves":[{},{}]}`, "policy.waves[0]", "percent or a count"},
		{`{"waves":[{"count":0},{}]}`, "policy.waves[0].count", "at least 1"},
		{`{"waves":[{"percent":10},{"successGate":{"percent":90,"minFinished":1}}]}`, "policy.waves[1].successGate", "last wave"},
		{`{"waves":[{"percent":10,"successGate":{"percent":101,"minFinished":1}},{}]}`, "policy.waves[0].successGate.percent", "0 to 100"},
		{`{"waves":[{"percent":10,"approval":"manual"},{}]}`, "policy.waves[0].approval", "first wave"},
		{`{"waves":[{"percent":10},{"approval":"maybe"}]}`, "policy.waves[1].approval", "auto or manual"},
		{`{"exponentialRate":{"baseRatePerMinute":10,"incrementFactor":6,"increaseAfter":{"notified":5}}}`, "policy.exponentialRate.incrementFactor", "1.1 to 5.0"},
		{`{"exponentialRate":{"baseRatePerMinute":10,"incrementFactor":1.05,"increaseAfter":{"notified":5}}}`, "policy.exponentialRate.incrementFactor", "1.1 to 5.0"},
		{`{"exponentialRate":{"baseRatePerMinute":2000,"incrementFactor":2,"increaseAfter":{"notified":5}}}`, "policy.exponentialRate.baseRatePerMinute", "1000"},
		{`{"exponentialRate":{"baseRatePerMinute":10,"incrementFactor":2,"increaseAfter":{}}}`, "policy.exponentialRate.increaseAfter", "one of"},
		{`{"exponentialRate":{"baseRatePerMinute":10,"incrementFactor":2,"increaseAfter":{"notified":5,"succeeded":5}}}`, "policy.exponentialRate.increaseAfter", "one of"},
		{`{"abort":[{"failureType":"LOST","thresholdPercent":5,"minFinished":1,"action":"PAUSE"}]}`, "policy.abort[0].failureType", "FAILED, REJECTED"},
		{`{"abort":[{"failureType":"ANY","thresholdPercent":100,"minFinished":1,"action":"PAUSE"}]}`, "policy.abort[0].thresholdPercent", "under 100"},
		{`{"abort":[{"failureType":"ANY","thresholdPercent":5,"minFinished":0,"action":"PAUSE"}]}`, "policy.abort[0].minFinished", "at least 1"},
		{`{"abort":[{"failureType":"ANY","thresholdPercent":5,"minFinished":1,"action":"STOP"}]}`, "policy.abort[0].action", "CANCEL or PAUSE"},
		{`{"retry":[{"failureType":"REJECTED","maxAttempts":2}]}`, "policy.retry[0].failureType", "FAILED or TIMED_OUT"},
		{`{"retry":[{"failureType":"FAILED","maxAttempts":11}]}`, "policy.retry[0].maxAttempts", "0 to 10"},
		{`{"retry":[{"failureType":"FAILED","maxAttempts":1},{"failureType":"failed","maxAttempts":2}]}`, "policy.retry[1].failureType", "already"},
		{`{"endAt":"2026-11-30T00:00:00Z"}`, "policy.endAt", "future"},
		{`{"endBehavior":"CANCEL"}`, "policy.endBehavior", "endAt"},
		{`{"endAt":"2026-12-24T00:00:00Z","endBehavior":"EXPLODE"}`, "policy.endBehavior", "STOP_ROLLOUT or CANCEL"},
		{`{"maintenanceWindows":[{"cron":"0 2 30 2 *","durationMinutes":60}]}`, "policy.maintenanceWindows[0].cron", "never fires"},
		{`{"maintenanceWindows":[{"cron":"every night","durationMinutes":60}]}`, "policy.maintenanceWindows[0].cron", "five fields"},
		{`{"maintenanceWindows":[{"cron":"0 2 * * *","durationMinutes":60,"timeZone":"Mars/Olympus"}]}`, "policy.maintenanceWindows[0].timeZone", "IANA"},
		{`{"maintenanceWindows":[{"cron":"0 2 * * *","durationMinutes":0}]}`, "policy.maintenanceWindows[0].durationMinutes", "1 to"},
	}
	for _, c := range cases {
		err := policyOf(t, c.policy).validate(now, 1000)
		me, ok := AsError(err)
		if !ok || me.Kind != KindInvalid || me.Field != c.field || !strings.Contains(me.Message, c.msg) {
			t.Errorf("%s: %v (field %q), want field %q with %q", c.policy, err, fieldOf(err), c.field, c.msg)
		}
	}
}

func fieldOf(err error) string {
	if me, ok := AsError(err); ok {
		return me.Field
	}
	return ""
}

// TestWaveSizes: a percent rounds up, a count is taken as given, the last
// wave takes the rest, and every device is in exactly one wave.
func TestWaveSizes(t *testing.T) {
	cases := []struct {
		policy string
		n      int64
		sizes  []int64
		bounds []int64
	}{
		{`{"waves":[{"percent":1},{"percent":10},{"percent":89}]}`, 1000, []int64{10, 100, 890}, []int64{11, 111}},
		{`{"waves":[{"percent":1},{"percent":10},{}]}`, 50, []int64{1, 5, 44}, []int64{2, 7}},
		{`{"waves":[{"count":3},{"count":100},{}]}`, 20, []int64{3, 17, 0}, []int64{4, 21}},
		{`{}`, 7, []int64{7}, []int64{}},
	}
	for _, c := range cases {
		p := policyOf(t, c.policy)
		sizes, bounds := p.WaveSizes(c.n), p.waveBounds(c.n)
		if !slices.Equal(sizes, c.sizes) || !slices.Equal(bounds, c.bounds) {
			t.Errorf("%s of %d: sizes %v bounds %v, want %v %v", c.policy, c.n, sizes, bounds, c.sizes, c.bounds)
		}
		if got := sizesOf(bounds, c.n); !slices.Equal(got, c.sizes) {
			t.Errorf("%s of %d: sizesOf(bounds) %v", c.policy, c.n, got)
		}
	}
}

// view is a rollout of the three-wave policy of 100 devices (10, 20, 70)
// with counts given per wave.
func view(t *testing.T, policy string, wave int, counts map[int]map[SubStatus]int64) rolloutView {
	p := policyOf(t, policy)
	if err := p.validate(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 600); err != nil {
		t.Fatal(err)
	}
	c := waveCounts{}
	for w, m := range counts {
		for s, n := range m {
			c.add(w, s, n)
		}
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	return rolloutView{policy: p, maxRate: 600, sizes: p.WaveSizes(100), wave: wave, openedAt: now.Add(-time.Hour),
		counts: c, now: now, disarmed: map[string]bool{}}
}

// TestPlanWaves: the next wave opens once its predecessor is all sent,
// has passed its gate and soak time, and is approved when it asks to be.
func TestPlanWaves(t *testing.T) {
	const gated = `{"waves":[{"count":10,"successGate":{"percent":90,"minFinished":10}},{"count":20,"successGate":{"percent":90,"minFinished":5},"soakMinutes":120},{"approval":"manual"}]}`
	cases := []struct {
		name   string
		wave   int
		counts map[int]map[SubStatus]int64
		state  string
		open   int
	}{
		{"wave 1 still sending", 1, map[int]map[SubStatus]int64{1: {SubQueued: 4, SubSent: 6}, 2: {SubQueued: 20}, 3: {SubQueued: 70}}, RolloutRunning, 1},
		{"wave 1 sent, too few finished", 1, map[int]map[SubStatus]int64{1: {SubSent: 1, SubSucceeded: 9}, 2: {SubQueued: 20}, 3: {SubQueued: 70}}, RolloutWaitingGate, 1},
		{"wave 1 under its gate", 1, map[int]map[SubStatus]int64{1: {SubSucceeded: 8, SubFailed: 2}, 2: {SubQueued: 20}, 3: {SubQueued: 70}}, RolloutWaitingGate, 1},
		{"wave 1 passes: wave 2 opens", 1, map[int]map[SubStatus]int64{1: {SubSucceeded: 9, SubFailed: 1}, 2: {SubQueued: 20}, 3: {SubQueued: 70}}, RolloutRunning, 2},
		{"wave 2 passes its gate but soaks", 2, map[int]map[SubStatus]int64{1: {SubSucceeded: 10}, 2: {SubSucceeded: 20}, 3: {SubQueued: 70}}, RolloutWaitingGate, 2},
	}
	for _, c := range cases {
		v := view(t, gated, c.wave, c.counts)
		v.openedAt = v.now.Add(-time.Minute)
		p := v.plan()
		if p.state != c.state || p.wave != c.open || p.release != (c.state == RolloutRunning) {
			t.Errorf("%s: state %s wave %d release %v, want %s wave %d", c.name, p.state, p.wave, p.release, c.state, c.open)
		}
	}
	// the soak time over, wave 3 waits for its approval; approved, it opens
	v := view(t, gated, 2, map[int]map[SubStatus]int64{1: {SubSucceeded: 10}, 2: {SubSucceeded: 20}, 3: {SubQueued: 70}})
	v.openedAt = v.now.Add(-121 * time.Minute)
	if p := v.plan(); p.state != RolloutWaitingApproval || p.wave != 2 {
		t.Errorf("after the soak: %s wave %d", p.state, p.wave)
	}
	v.approved = 3
	if p := v.plan(); p.state != RolloutRunning || p.wave != 3 || !p.openedAt.Equal(v.now) {
		t.Errorf("approved: %s wave %d opened %v", p.state, p.wave, p.openedAt)
	}
	// an approval opens the next wave whatever its gate says
	v = view(t, gated, 1, map[int]map[SubStatus]int64{1: {SubSucceeded: 2, SubFailed: 8}, 2: {SubQueued: 20}, 3: {SubQueued: 70}})
	v.approved = 2
	if p := v.plan(); p.wave != 2 || p.state != RolloutRunning {
		t.Errorf("wave 2 approved over a failed gate: %s wave %d", p.state, p.wave)
	}
	// all sent and every wave open: done
	v = view(t, gated, 3, map[int]map[SubStatus]int64{1: {SubSucceeded: 10}, 2: {SubSucceeded: 20}, 3: {SubSent: 70}})
	if p := v.plan(); p.state != RolloutDone {
		t.Errorf("all sent: %s", p.state)
	}
}

// TestPlanAbort: a criterion trips on the first count over its threshold
// (not before its minimum), over the task or over one wave; a paused task
// still cancels on a CANCEL criterion; a disarmed criterion is not judged.
func TestPlanAbort(t *testing.T) {
	const policy = `{"waves":[{"count":10},{}],"abort":[
		{"failureType":"FAILED","thresholdPercent":20,"minFinished":5,"action":"PAUSE"},
		{"failureType":"ANY","thresholdPercent":50,"minFinished":10,"action":"CANCEL"}]}`
	at := func(wave int, counts map[int]map[SubStatus]int64) *Tripped {
		return view(t, policy, wave, counts).plan().trip
	}
	if tr := at(1, map[int]map[SubStatus]int64{1: {SubSucceeded: 3, SubFailed: 1}}); tr != nil {
		t.Errorf("4 finished (under the minimum 5): tripped %+v", tr)
	}
	if tr := at(1, map[int]map[SubStatus]int64{1: {SubSucceeded: 4, SubFailed: 1}}); tr != nil {
		t.Errorf("1 of 5 failed (20 %%, not over): tripped %+v", tr)
	}
	tr := at(1, map[int]map[SubStatus]int64{1: {SubSucceeded: 4, SubFailed: 2}})
	if tr == nil || tr.Index != 0 || tr.Scope != "task" || tr.Finished != 6 || tr.Failures != 2 || tr.Criterion.Action != ActionPause {
		t.Fatalf("2 of 6 failed: %+v", tr)
	}
	if !strings.Contains(tr.Text(), "2 of 6 finished sub-tasks (33.3 %) failed") {
		t.Errorf("text: %s", tr.Text())
	}
	// over one wave only: wave 2 is 3 of 5 failed while the task is 3 of 15
	tr = at(2, map[int]map[SubStatus]int64{1: {SubSucceeded: 10}, 2: {SubSucceeded: 2, SubFailed: 3}})
	if tr == nil || tr.Scope != "wave 2" || tr.Failures != 3 || tr.Finished != 5 {
		t.Errorf("wave 2 over its threshold: %+v", tr)
	}
	// paused: the PAUSE criterion is not judged again, the CANCEL one is
	v := view(t, policy, 1, map[int]map[SubStatus]int64{1: {SubSucceeded: 4, SubFailed: 2}})
	v.paused = true
	if p := v.plan(); p.trip != nil || p.state != RolloutPaused || p.release {
		t.Errorf("paused, PAUSE criterion over: %+v", p)
	}
	v = view(t, policy, 1, map[int]map[SubStatus]int64{1: {SubSucceeded: 4, SubRejected: 7}})
	v.paused = true
	if p := v.plan(); p.trip == nil || p.trip.Criterion.Action != ActionCancel {
		t.Errorf("paused, CANCEL criterion over: %+v", p.trip)
	}
	// resumed past it: disarmed for its scope
	v = view(t, policy, 1, map[int]map[SubStatus]int64{1: {SubSucceeded: 4, SubFailed: 2}})
	v.disarmed["0:task"], v.disarmed["0:wave 1"] = true, true
	if p := v.plan(); p.trip != nil || !p.release {
		t.Errorf("disarmed: %+v", p.trip)
	}
}

// TestPlanExponentialRate: the rate is the base times the factor to the
// number of steps reached, capped at the task's rate.
func TestPlanExponentialRate(t *testing.T) {
	const policy = `{"exponentialRate":{"baseRatePerMinute":10,"incrementFactor":2,"increaseAfter":{"notified":5}}}`
	for _, c := range []struct {
		sent int64
		rate int
	}{{0, 10}, {4, 10}, {5, 20}, {14, 40}, {15, 80}, {29, 320}, {30, 600}, {90, 600}} {
		v := view(t, policy, 1, map[int]map[SubStatus]int64{1: {SubQueued: 100 - c.sent, SubSent: c.sent}})
		if p := v.plan(); p.rate != c.rate {
			t.Errorf("%d notified: rate %d, want %d (%s)", c.sent, p.rate, c.rate, p.limitedBy)
		}
	}
}

// TestPlanWindow: outside every maintenance window nothing is sent and the
// next opening is named; inside one the rollout runs.
func TestPlanWindow(t *testing.T) {
	const policy = `{"maintenanceWindows":[{"cron":"0 2 * * *","durationMinutes":120,"timeZone":"Europe/Berlin"}]}`
	v := view(t, policy, 1, map[int]map[SubStatus]int64{1: {SubQueued: 100}})
	v.now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) // 13:00 in Berlin
	p := v.plan()
	if want := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC); p.state != RolloutWaitingWindow || p.release || !p.nextWindow.Equal(want) {
		t.Errorf("at 13:00 Berlin: %s release %v next %v, want %v", p.state, p.release, p.nextWindow, want)
	}
	for _, at := range []time.Time{time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 2, 59, 0, 0, time.UTC)} {
		v.now = at
		if p := v.plan(); p.state != RolloutRunning || !p.release {
			t.Errorf("at %v (in the window): %s", at, p.state)
		}
	}
	v.now = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	if p := v.plan(); p.state != RolloutWaitingWindow {
		t.Errorf("at 04:00 Berlin (closed): %s", p.state)
	}
}
