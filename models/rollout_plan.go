package models

import (
	"fmt"
	"math"
	"time"
)

// Rollout states of a task (the "rollout" object of a task).
const (
	RolloutRunning         = "RUNNING"
	RolloutPaused          = "PAUSED"
	RolloutWaitingGate     = "WAITING_GATE"
	RolloutWaitingApproval = "WAITING_APPROVAL"
	RolloutWaitingWindow   = "WAITING_WINDOW"
	RolloutDone            = "DONE"
)

// Tripped is the abort criterion that acted, with the figures it saw.
type Tripped struct {
	Index     int            `json:"index"` // in policy.abort, from 0
	Criterion AbortCriterion `json:"criterion"`
	// Scope is what the figures count: "task", or "wave n".
	Scope    string    `json:"scope"`
	Finished int64     `json:"finished"`
	Failures int64     `json:"failures"`
	Percent  float64   `json:"percent"`
	At       time.Time `json:"at"`
}

// Text is the tripped criterion in plain words.
func (t *Tripped) Text() string {
	what := "failed, were rejected or timed out"
	switch t.Criterion.FailureType {
	case string(SubFailed):
		what = "failed"
	case string(SubRejected):
		what = "were rejected"
	case string(SubTimedOut):
		what = "timed out"
	}
	act := "paused"
	if t.Criterion.Action == ActionCancel {
		act = "cancelled"
	}
	return fmt.Sprintf("%s: %d of %d finished sub-tasks (%s) %s, over the %g %% allowed; the task was %s at %s",
		t.Scope, t.Failures, t.Finished, formatPercent(t.Percent), what, t.Criterion.ThresholdPercent, act,
		t.At.UTC().Format(time.RFC3339))
}

func formatPercent(p float64) string { return fmt.Sprintf("%.1f %%", p) }

// waveCounts is a task's sub-tasks by wave (from 1) and status.
type waveCounts map[int]map[SubStatus]int64

func (c waveCounts) add(wave int, s SubStatus, n int64) {
	if c[wave] == nil {
		c[wave] = map[SubStatus]int64{}
	}
	c[wave][s] += n
}

// of sums statuses over the waves in [from, to].
func (c waveCounts) of(from, to int, statuses ...SubStatus) int64 {
	var n int64
	for w := from; w <= to; w++ {
		for _, s := range statuses {
			n += c[w][s]
		}
	}
	return n
}

var finishedByDevice = []SubStatus{SubSucceeded, SubFailed, SubRejected, SubTimedOut}

// rolloutView is what planning a rollout step reads.
type rolloutView struct {
	policy   *Policy
	maxRate  int
	sizes    []int64 // of each wave
	wave     int     // the last wave opened
	openedAt time.Time
	approved int // the last wave approved
	paused   bool
	disarmed map[string]bool // "index:scope" of PAUSE criteria an operator resumed past
	counts   waveCounts
	now      time.Time
}

// rolloutPlan is what the step does.
type rolloutPlan struct {
	state      string
	wave       int
	openedAt   time.Time
	trip       *Tripped // a criterion that trips now
	ended      bool     // the policy's endAt has passed: act on endBehavior
	release    bool     // QUEUED sub-tasks of waves up to wave may be sent
	rate       int
	limitedBy  string
	nextWindow time.Time
}

// plan decides a rollout step of a task with a policy: criteria first (a
// tripped one acts before anything is sent), then the window, the waves
// (a wave opens once the one before it is all sent, has passed its gate
// and its soak time, and, when it asks for approval, been approved), then
// the rate.
func (v rolloutView) plan() rolloutPlan {
	p := rolloutPlan{wave: v.wave, openedAt: v.openedAt, rate: v.maxRate, limitedBy: "task rate"}
	waves := len(v.sizes)
	if trip := v.tripped(v.paused); trip != nil {
		p.trip = trip
		p.state = RolloutPaused
		return p
	}
	if end := v.policy.EndAt; end != nil && !v.now.Before(*end) {
		p.state, p.limitedBy, p.ended = RolloutDone, "end time passed", true
		return p
	}
	if v.paused {
		p.state, p.limitedBy = RolloutPaused, "paused"
		return p
	}
	if open, next := v.policy.WindowAt(v.now); !open {
		p.state, p.limitedBy, p.nextWindow = RolloutWaitingWindow, "maintenance window", next
		return p
	}
	p.state = RolloutRunning
	for p.wave < waves {
		w := p.wave
		if v.counts.of(w, w, SubQueued) > 0 {
			break
		}
		spec := v.policy.Waves[w-1]
		if v.approved < w+1 { // an approval opens the next wave whatever its gate says
			if g := spec.SuccessGate; g != nil {
				finished := v.counts.of(w, w, finishedByDevice...)
				need := min(g.MinFinished, v.sizes[w-1])
				if finished < need || float64(v.counts.of(w, w, SubSucceeded))*100 < g.Percent*float64(finished) {
					p.state = RolloutWaitingGate
					break
				}
			}
			if v.now.Before(p.openedAt.Add(time.Duration(spec.SoakMinutes) * time.Minute)) {
				p.state = RolloutWaitingGate
				break
			}
			if v.policy.Waves[w].Approval == ApprovalManual {
				p.state = RolloutWaitingApproval
				break
			}
		}
		p.wave, p.openedAt = w+1, v.now
	}
	if p.state == RolloutRunning {
		p.release = true
		if p.wave == waves && v.counts.of(1, waves, SubQueued) == 0 {
			p.state = RolloutDone
		}
		if waves > 1 {
			p.limitedBy = fmt.Sprintf("wave %d of %d", p.wave, waves)
		}
	}
	if e := v.policy.ExponentialRate; e != nil {
		done, step := v.counts.of(1, waves, SubSucceeded), e.IncreaseAfter.Succeeded
		if e.IncreaseAfter.Notified > 0 {
			done = v.counts.of(1, waves, SubtaskStatuses...) - v.counts.of(1, waves, SubQueued)
			step = e.IncreaseAfter.Notified
		}
		k := done / step
		r := float64(e.BaseRatePerMinute) * math.Pow(e.IncrementFactor, float64(k))
		if r < float64(v.maxRate) {
			p.rate = int(r)
			if p.state == RolloutRunning {
				p.limitedBy = fmt.Sprintf("exponential rate, step %d", k+1)
			}
		}
	}
	return p
}

// tripped is the first abort criterion over its threshold, over the task
// or over one of the waves opened, that is not disarmed (nor, on a paused
// task, a PAUSE criterion).
func (v rolloutView) tripped(paused bool) *Tripped {
	for i, a := range v.policy.Abort {
		if paused && a.Action == ActionPause {
			continue
		}
		scopes := []struct {
			name     string
			from, to int
		}{{"task", 1, max(v.wave, len(v.sizes))}}
		if len(v.sizes) > 1 {
			for w := 1; w <= v.wave; w++ {
				scopes = append(scopes, struct {
					name     string
					from, to int
				}{fmt.Sprintf("wave %d", w), w, w})
			}
		}
		for _, s := range scopes {
			if v.disarmed[fmt.Sprintf("%d:%s", i, s.name)] {
				continue
			}
			finished := v.counts.of(s.from, s.to, finishedByDevice...)
			failures := v.counts.of(s.from, s.to, failureStatuses[a.FailureType]...)
			if finished >= a.MinFinished && float64(failures)*100 > a.ThresholdPercent*float64(finished) {
				return &Tripped{Index: i, Criterion: a, Scope: s.name, Finished: finished, Failures: failures,
					Percent: float64(failures) * 100 / float64(finished), At: v.now}
			}
		}
	}
	return nil
}
