package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Policy is a task's rollout policy (docs/api.md, "Rollout policy"): who
// goes first, how fast the rate grows, when the rollout stops by itself,
// what is retried, and when it may run. A task without one goes to its
// whole target at its rate, as it always has.
type Policy struct {
	Waves              []Wave              `json:"waves,omitempty"`
	ExponentialRate    *ExponentialRate    `json:"exponentialRate,omitempty"`
	Abort              []AbortCriterion    `json:"abort,omitempty"`
	Retry              []RetryRule         `json:"retry,omitempty"`
	EndAt              *time.Time          `json:"endAt,omitempty"`
	EndBehavior        string              `json:"endBehavior,omitempty"`
	MaintenanceWindows []MaintenanceWindow `json:"maintenanceWindows,omitempty"`
	Continuous         bool                `json:"continuous,omitempty"`
}

// Wave is a share of the target (Percent or Count; the last wave takes
// the rest) that opens once the previous wave passed its gate.
type Wave struct {
	Percent     *float64     `json:"percent,omitempty"`
	Count       *int64       `json:"count,omitempty"`
	SuccessGate *SuccessGate `json:"successGate,omitempty"`
	SoakMinutes int          `json:"soakMinutes,omitempty"`
	Approval    string       `json:"approval,omitempty"` // ApprovalAuto (default) or ApprovalManual
}

// SuccessGate is what a wave must reach before the next one opens:
// succeeded ÷ finished of the wave at least Percent, with at least
// MinFinished finished.
type SuccessGate struct {
	Percent     float64 `json:"percent"`
	MinFinished int64   `json:"minFinished"`
}

// ExponentialRate starts the rollout at BaseRatePerMinute and multiplies
// the rate by IncrementFactor each time IncreaseAfter more devices have
// been notified (or have succeeded), up to the task's rolloutPerMinute.
type ExponentialRate struct {
	BaseRatePerMinute int           `json:"baseRatePerMinute"`
	IncrementFactor   float64       `json:"incrementFactor"`
	IncreaseAfter     IncreaseAfter `json:"increaseAfter"`
}

// IncreaseAfter is the step of an exponential rate: one of the two.
type IncreaseAfter struct {
	Notified  int64 `json:"notified,omitempty"`
	Succeeded int64 `json:"succeeded,omitempty"`
}

// AbortCriterion stops the rollout when the share of finished sub-tasks
// (of the task, and of each wave) that ended in FailureType is over
// ThresholdPercent, once at least MinFinished have finished.
type AbortCriterion struct {
	FailureType      string  `json:"failureType"` // FAILED, REJECTED, TIMED_OUT or ANY
	ThresholdPercent float64 `json:"thresholdPercent"`
	MinFinished      int64   `json:"minFinished"`
	Action           string  `json:"action"` // CANCEL or PAUSE
}

// RetryRule queues a sub-task that ended in FailureType again, up to
// MaxAttempts attempts in all, after BackoffMinutes (doubled at each
// attempt when BackoffDoubling).
type RetryRule struct {
	FailureType     string `json:"failureType"` // FAILED or TIMED_OUT
	MaxAttempts     int    `json:"maxAttempts"`
	BackoffMinutes  int    `json:"backoffMinutes"`
	BackoffDoubling bool   `json:"backoffDoubling,omitempty"`
}

// MaintenanceWindow is when sub-tasks may be released: from each time
// Cron fires (in TimeZone) for DurationMinutes.
type MaintenanceWindow struct {
	Cron            string `json:"cron"`
	DurationMinutes int    `json:"durationMinutes"`
	TimeZone        string `json:"timeZone"`
}

// Policy values.
const (
	ApprovalAuto   = "auto"
	ApprovalManual = "manual"

	FailureAny = "ANY"

	ActionCancel = "CANCEL"
	ActionPause  = "PAUSE"

	EndStopRollout = "STOP_ROLLOUT"
	EndCancel      = "CANCEL"

	MaxWaves          = 20
	MaxAbortCriteria  = 10
	MaxRetryAttempts  = 10
	MaxBackoffMinutes = 7 * 24 * 60
	MaxSoakMinutes    = 7 * 24 * 60
	MaxWindows        = 10
)

// failureStatuses are the statuses each failureType counts.
var failureStatuses = map[string][]SubStatus{
	string(SubFailed):   {SubFailed},
	string(SubRejected): {SubRejected},
	string(SubTimedOut): {SubTimedOut},
	FailureAny:          {SubFailed, SubRejected, SubTimedOut},
}

// validate checks the policy of a task of maxRate sub-tasks a minute,
// created at now, and fills its defaults. Errors name the field
// ("policy.waves[1].percent").
func (p *Policy) validate(now time.Time, maxRate int) error {
	if len(p.Waves) > MaxWaves {
		return Invalid("policy.waves", "has %d waves; at most %d", len(p.Waves), MaxWaves)
	}
	var percent float64
	for i := range p.Waves {
		w, f := &p.Waves[i], fmt.Sprintf("policy.waves[%d]", i)
		last := i == len(p.Waves)-1
		switch {
		case w.Percent != nil && w.Count != nil:
			return Invalid(f, "give percent or count, not both")
		case w.Percent == nil && w.Count == nil && !last:
			return Invalid(f, "needs a percent or a count (only the last wave may leave both out: it takes the rest)")
		case w.Percent != nil && (math.IsNaN(*w.Percent) || *w.Percent <= 0 || *w.Percent > 100):
			return Invalid(f+".percent", "must be over 0 and at most 100")
		case w.Count != nil && *w.Count < 1:
			return Invalid(f+".count", "must be at least 1")
		}
		if w.Percent != nil {
			if percent += *w.Percent; percent > 100+1e-9 {
				return Invalid(f+".percent", "brings the waves to %g %% of the target; they may add up to at most 100", percent)
			}
		}
		if g := w.SuccessGate; g != nil {
			if last {
				return Invalid(f+".successGate", "the last wave has no wave after it to gate")
			}
			if math.IsNaN(g.Percent) || g.Percent < 0 || g.Percent > 100 {
				return Invalid(f+".successGate.percent", "must be 0 to 100")
			}
			if g.MinFinished < 0 {
				return Invalid(f+".successGate.minFinished", "must be 0 or more")
			}
		}
		if w.SoakMinutes < 0 || w.SoakMinutes > MaxSoakMinutes {
			return Invalid(f+".soakMinutes", "must be 0 to %d", MaxSoakMinutes)
		}
		switch strings.ToLower(w.Approval) {
		case "", ApprovalAuto:
			w.Approval = ApprovalAuto
		case ApprovalManual:
			w.Approval = ApprovalManual
		default:
			return Invalid(f+".approval", "must be auto or manual, not %q", w.Approval)
		}
		if i == 0 && w.Approval == ApprovalManual {
			return Invalid(f+".approval", "the first wave opens when the task starts; approval is for the waves after it")
		}
	}
	if e := p.ExponentialRate; e != nil {
		switch {
		case e.BaseRatePerMinute < 1 || e.BaseRatePerMinute > maxRate:
			return Invalid("policy.exponentialRate.baseRatePerMinute", "must be 1 to the task's rolloutPerMinute (%d)", maxRate)
		case math.IsNaN(e.IncrementFactor) || e.IncrementFactor < 1.1 || e.IncrementFactor > 5:
			return Invalid("policy.exponentialRate.incrementFactor", "must be 1.1 to 5.0")
		case (e.IncreaseAfter.Notified > 0) == (e.IncreaseAfter.Succeeded > 0):
			return Invalid("policy.exponentialRate.increaseAfter", "give one of notified or succeeded, a number of devices of 1 or more")
		case e.IncreaseAfter.Notified < 0 || e.IncreaseAfter.Succeeded < 0:
			return Invalid("policy.exponentialRate.increaseAfter", "must be 1 or more devices")
		}
	}
	if len(p.Abort) > MaxAbortCriteria {
		return Invalid("policy.abort", "has %d criteria; at most %d", len(p.Abort), MaxAbortCriteria)
	}
	for i := range p.Abort {
		a, f := &p.Abort[i], fmt.Sprintf("policy.abort[%d]", i)
		a.FailureType, a.Action = strings.ToUpper(a.FailureType), strings.ToUpper(a.Action)
		if _, ok := failureStatuses[a.FailureType]; !ok {
			return Invalid(f+".failureType", "must be FAILED, REJECTED, TIMED_OUT or ANY, not %q", a.FailureType)
		}
		if math.IsNaN(a.ThresholdPercent) || a.ThresholdPercent < 0 || a.ThresholdPercent >= 100 {
			return Invalid(f+".thresholdPercent", "must be 0 or more and under 100")
		}
		if a.MinFinished < 1 {
			return Invalid(f+".minFinished", "must be at least 1 (how many must have finished before the criterion is judged)")
		}
		if a.Action != ActionCancel && a.Action != ActionPause {
			return Invalid(f+".action", "must be CANCEL or PAUSE, not %q", a.Action)
		}
	}
	seen := map[string]bool{}
	for i := range p.Retry {
		r, f := &p.Retry[i], fmt.Sprintf("policy.retry[%d]", i)
		r.FailureType = strings.ToUpper(r.FailureType)
		if r.FailureType != string(SubFailed) && r.FailureType != string(SubTimedOut) {
			return Invalid(f+".failureType", "must be FAILED or TIMED_OUT, not %q", r.FailureType)
		}
		if seen[r.FailureType] {
			return Invalid(f+".failureType", "%s has a retry rule already", r.FailureType)
		}
		seen[r.FailureType] = true
		if r.MaxAttempts < 0 || r.MaxAttempts > MaxRetryAttempts {
			return Invalid(f+".maxAttempts", "must be 0 to %d", MaxRetryAttempts)
		}
		if r.BackoffMinutes < 0 || r.BackoffMinutes > MaxBackoffMinutes {
			return Invalid(f+".backoffMinutes", "must be 0 to %d", MaxBackoffMinutes)
		}
	}
	if p.EndAt != nil && !p.EndAt.After(now) {
		return Invalid("policy.endAt", "must be in the future")
	}
	switch strings.ToUpper(p.EndBehavior) {
	case "":
		if p.EndAt != nil {
			p.EndBehavior = EndStopRollout
		}
	case EndStopRollout, EndCancel:
		p.EndBehavior = strings.ToUpper(p.EndBehavior)
		if p.EndAt == nil {
			return Invalid("policy.endBehavior", "applies at endAt; give endAt too")
		}
	default:
		return Invalid("policy.endBehavior", "must be STOP_ROLLOUT or CANCEL, not %q", p.EndBehavior)
	}
	if len(p.MaintenanceWindows) > MaxWindows {
		return Invalid("policy.maintenanceWindows", "has %d windows; at most %d", len(p.MaintenanceWindows), MaxWindows)
	}
	for i := range p.MaintenanceWindows {
		if err := p.MaintenanceWindows[i].validate(fmt.Sprintf("policy.maintenanceWindows[%d]", i), now); err != nil {
			return err
		}
	}
	return nil
}

// WaveSizes splits n sub-tasks into the policy's waves: a percent is
// rounded up (a 1 % canary of 50 devices is 1 device), a count is taken as
// it is, and the last wave takes the rest. A wave may come out empty when
// the target is small; every device is in exactly one wave.
func (p *Policy) WaveSizes(n int64) []int64 {
	if p == nil || len(p.Waves) == 0 {
		return []int64{n}
	}
	sizes := make([]int64, len(p.Waves))
	left := n
	for i, w := range p.Waves {
		var k int64
		switch {
		case i == len(p.Waves)-1:
			k = left
		case w.Count != nil:
			k = *w.Count
		case w.Percent != nil:
			k = int64(math.Ceil(*w.Percent * float64(n) / 100))
		}
		k = min(k, left)
		sizes[i], left = k, left-k
	}
	return sizes
}

// waveBounds is the position (from 1, in target order) of the first
// sub-task of waves 2, 3 ... of a target of n devices: the sub-task at
// position k is in wave width_bucket(k, bounds) + 1 (SQL).
func (p *Policy) waveBounds(n int64) []int64 {
	sizes := p.WaveSizes(n)
	bounds := make([]int64, 0, len(sizes)-1)
	start := int64(1)
	for _, k := range sizes[:len(sizes)-1] {
		start += k
		bounds = append(bounds, start)
	}
	return bounds
}

// clone is a deep copy of p (validate fills defaults in place).
func (p *Policy) clone() (*Policy, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, Invalid("policy", "cannot be read: %v", err)
	}
	var c Policy
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, Invalid("policy", "cannot be read: %v", err)
	}
	return &c, nil
}

// ParsePolicy reads a policy written as JSON (the console's custom
// policy): unknown fields are refused, so that a misspelt one does not go
// unnoticed. The policy is not validated yet (Validate).
func ParsePolicy(raw []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, Invalid("policy", "is not a policy in JSON: %v", err)
	}
	if dec.More() {
		return nil, Invalid("policy", "holds more than one JSON value")
	}
	return &p, nil
}

// Validate checks the policy as task creation does, for a task of maxRate
// sub-tasks a minute created at now, and fills its defaults.
func (p *Policy) Validate(now time.Time, maxRate int) error { return p.validate(now, maxRate) }
