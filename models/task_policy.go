package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Rollout is where a task's rollout stands (the "rollout" object).
type Rollout struct {
	State                string       `json:"state"`
	Wave                 int          `json:"wave"`
	Waves                []WaveStatus `json:"waves,omitempty"`
	CurrentRatePerMinute int          `json:"currentRatePerMinute"`
	LimitedBy            string       `json:"limitedBy"`
	Tripped              *Tripped     `json:"tripped"`
	NextWindowAt         *time.Time   `json:"nextWindowAt"`
	PausedAt             *time.Time   `json:"pausedAt"`
}

// WaveStatus is one wave of a task's policy as it stands.
type WaveStatus struct {
	Wave  int    `json:"wave"`
	Size  int64  `json:"size"`
	State string `json:"state"` // OPEN, DONE, WAITING_GATE, WAITING_APPROVAL or PENDING
	// Sent is how many have been sent (every status but QUEUED).
	Sent      int64 `json:"sent"`
	Finished  int64 `json:"finished"`
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"` // FAILED, REJECTED and TIMED_OUT
	// Approved is set when an operator approved the wave: it opens once
	// the wave before it is all sent, whatever that wave's gate says.
	Approved bool `json:"approved"`
}

// Wave states.
const (
	WaveOpen    = "OPEN"
	WaveDone    = "DONE"
	WavePending = "PENDING"
)

// rolloutOf fills task.Rollout from the counters (the plan a step would
// make now, without acting on it).
func (t *Tasks) rolloutOf(ctx context.Context, task *Task) error {
	var (
		bounds []int64
		dis    []string
		rate   *int
		opened time.Time
	)
	err := t.db.Pool.QueryRow(ctx, `SELECT wave_bounds, disarmed, rollout_rate, coalesce(wave_opened_at, started_at, created_at)
		FROM tasks WHERE id = $1`, task.ID).Scan(&bounds, &dis, &rate, &opened)
	if err != nil {
		return fmt.Errorf("models: rollout of task %s: %w", task.ID, err)
	}
	counts, err := collectWaveCounts(t.db.Pool.Query(ctx, waveCountsSQL, task.ID))
	if err != nil {
		return fmt.Errorf("models: rollout of task %s: %w", task.ID, err)
	}
	v := rolloutView{policy: task.Policy, maxRate: task.RolloutPerMinute, sizes: sizesOf(bounds, int64(task.DeviceCount)),
		wave: task.RolloutWave, openedAt: opened, approved: task.ApprovedWave, paused: task.PausedAt != nil,
		disarmed: map[string]bool{}, counts: counts, now: t.now().UTC()}
	for _, d := range dis {
		v.disarmed[d] = true
	}
	r := &Rollout{Wave: max(task.RolloutWave, 1), CurrentRatePerMinute: task.RolloutPerMinute, LimitedBy: "task rate",
		Tripped: task.Tripped, PausedAt: task.PausedAt}
	if rate != nil {
		r.CurrentRatePerMinute = *rate
	}
	var plan rolloutPlan
	switch {
	case task.Policy != nil:
		plan = v.plan()
		if plan.trip != nil { // the next step acts on it
			plan.state = RolloutPaused
		}
		r.Wave, r.CurrentRatePerMinute, r.LimitedBy = plan.wave, plan.rate, plan.limitedBy
		if !plan.nextWindow.IsZero() {
			r.NextWindowAt = &plan.nextWindow
		}
	case v.paused:
		plan.state, r.LimitedBy = RolloutPaused, "paused"
	case counts.of(1, 1, SubQueued) > 0:
		plan.state = RolloutRunning
	default:
		plan.state = RolloutDone
	}
	r.State = plan.state
	if task.Finished() {
		r.State, r.LimitedBy = RolloutDone, ""
	}
	if task.Policy != nil && len(task.Policy.Waves) > 1 {
		for i, size := range v.sizes {
			w := i + 1
			ws := WaveStatus{Wave: w, Size: size,
				Sent:      counts.of(w, w, SubtaskStatuses...) - counts.of(w, w, SubQueued),
				Finished:  counts.of(w, w, finishedByDevice...),
				Succeeded: counts.of(w, w, SubSucceeded),
				Failed:    counts.of(w, w, SubFailed, SubRejected, SubTimedOut),
				Approved:  w > 1 && w <= task.ApprovedWave}
			switch {
			case w <= r.Wave && counts.of(w, w, Unfinished...) == 0:
				ws.State = WaveDone
			case w <= r.Wave:
				ws.State = WaveOpen
			case w == r.Wave+1 && (plan.state == RolloutWaitingGate || plan.state == RolloutWaitingApproval):
				ws.State = plan.state
			default:
				ws.State = WavePending
			}
			r.Waves = append(r.Waves, ws)
		}
	}
	task.Rollout = r
	return nil
}

// PauseTask pauses a running task: nothing more is sent; devices already
// at work go on and their timeouts still count.
func (t *Tasks) PauseTask(ctx context.Context, id ID) (*Task, error) {
	now := t.now().UTC()
	var changed bool
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tasks SET paused_at = $2, updated_at = $2, rollout_epoch = NULL, rollout_sent = 0,
			rollout_next_at = CASE WHEN policy IS NULL THEN NULL ELSE $2::timestamptz END
			WHERE id = $1 AND status = 'IN_PROGRESS' AND paused_at IS NULL AND deleted_at IS NULL`, id, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		changed = true
		return recordEvent(ctx, tx, id, EventPaused, actorOf(ctx), map[string]any{"reason": "requested"}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("models: pause task %s: %w", id, err)
	}
	if !changed {
		return nil, t.refused(ctx, id, (*Task).CanPause)
	}
	return t.GetTask(ctx, id)
}

// ResumeTask resumes a paused task where it stopped. The abort criterion
// that paused it, if one did, is not judged again on the figures it saw:
// it is disarmed over the task and over the waves open now (a wave opened
// later is judged afresh).
func (t *Tasks) ResumeTask(ctx context.Context, id ID) (*Task, error) {
	now := t.now().UTC()
	var rejected error
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		task := Task{ID: id}
		err := tx.QueryRow(ctx, `SELECT status, paused_at, tripped, rollout_wave FROM tasks WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).
			Scan(&task.Status, &task.PausedAt, &task.Tripped, &task.RolloutWave)
		if errors.Is(err, pgx.ErrNoRows) {
			return NotFound("task %s not found", id)
		} else if err != nil {
			return err
		}
		if rejected = task.CanResume(); rejected != nil {
			return nil
		}
		var disarm []string
		if tr := task.Tripped; tr != nil && tr.Criterion.Action == ActionPause {
			disarm = append(disarm, fmt.Sprintf("%d:task", tr.Index))
			for w := 1; w <= task.RolloutWave; w++ {
				disarm = append(disarm, fmt.Sprintf("%d:wave %d", tr.Index, w))
			}
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET paused_at = NULL, updated_at = $2, rollout_epoch = NULL, rollout_sent = 0,
			rollout_next_at = $2, disarmed = disarmed || $3::text[] WHERE id = $1`, id, now, disarm)
		if err != nil {
			return err
		}
		return recordEvent(ctx, tx, id, EventResumed, actorOf(ctx), nil, now)
	})
	if err == nil {
		err = rejected
	}
	if err != nil {
		if _, ok := AsError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("models: resume task %s: %w", id, err)
	}
	return t.GetTask(ctx, id)
}

// ApproveWave opens wave n of a running task now, whatever the gate and
// soak time of the wave before it say: n must be the next wave.
func (t *Tasks) ApproveWave(ctx context.Context, id ID, n int) (*Task, error) {
	now := t.now().UTC()
	var rejected error
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		task := Task{ID: id}
		err := tx.QueryRow(ctx, `SELECT status, policy, rollout_wave FROM tasks WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).
			Scan(&task.Status, &task.Policy, &task.RolloutWave)
		if errors.Is(err, pgx.ErrNoRows) {
			return NotFound("task %s not found", id)
		} else if err != nil {
			return err
		}
		if rejected = task.CanApprove(n); rejected != nil {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET approved_wave = greatest(approved_wave, $2), rollout_next_at = $3, updated_at = $3
			WHERE id = $1`, id, n, now)
		if err != nil {
			return err
		}
		return recordEvent(ctx, tx, id, EventWaveApproved, actorOf(ctx), map[string]any{"wave": n}, now)
	})
	if err == nil {
		err = rejected
	}
	if err != nil {
		if _, ok := AsError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("models: approve wave %d of task %s: %w", n, id, err)
	}
	return t.GetTask(ctx, id)
}

// CanPause says whether the task can be paused: while it runs, not paused.
func (t *Task) CanPause() error {
	switch {
	case t.Status != TaskInProgress:
		return Conflict("task %s is %s; only a task in progress can be paused", t.ID, t.Status)
	case t.PausedAt != nil:
		return Conflict("task %s is paused already", t.ID)
	}
	return nil
}

// CanResume says whether the task can be resumed: while it is paused.
func (t *Task) CanResume() error {
	switch {
	case t.Status != TaskInProgress:
		return Conflict("task %s is %s; only a paused task in progress can be resumed", t.ID, t.Status)
	case t.PausedAt == nil:
		return Conflict("task %s is not paused", t.ID)
	}
	return nil
}

// CanApprove says whether wave n of the task can be approved: the next
// wave of a running task with waves.
func (t *Task) CanApprove(n int) error {
	waves := 0
	if t.Policy != nil {
		waves = len(t.Policy.Waves)
	}
	switch {
	case waves < 2:
		return Conflict("task %s has no waves to approve", t.ID)
	case !slices.Contains(Running, t.Status):
		return Conflict("task %s is %s; waves are approved while it runs", t.ID, t.Status)
	case n < 2 || n > waves:
		return NotFound("task %s has waves 1 to %d; the first opens by itself", t.ID, waves)
	case n <= t.RolloutWave:
		return Conflict("wave %d of task %s is open already", n, t.ID)
	case n > t.RolloutWave+1:
		return Conflict("wave %d of task %s cannot be approved before wave %d", n, t.ID, t.RolloutWave+1)
	}
	return nil
}
