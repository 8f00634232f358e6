package models

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// TaskPatch is a PATCH of a task: only these fields may change.
type TaskPatch struct {
	Description      *string
	RolloutPerMinute *int
	// InProgressTimeoutMinutes: nil leaves it; a pointer to nil clears it.
	InProgressTimeoutMinutes **int
	// Policy replaces the rollout policy (the waves' shares stay those
	// chosen at creation).
	Policy *Policy
}

// UnmarshalJSON reads a patch, refusing fields that cannot be changed.
func (p *TaskPatch) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Invalid("", "the body must be a JSON object: %v", err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := m[k]
		var err error
		switch k {
		case "description":
			err = json.Unmarshal(raw, &p.Description)
			if err == nil && p.Description == nil {
				p.Description = new(string)
			}
		case "rolloutPerMinute":
			err = json.Unmarshal(raw, &p.RolloutPerMinute)
		case "inProgressTimeoutMinutes":
			var v *int
			err = json.Unmarshal(raw, &v)
			p.InProgressTimeoutMinutes = &v
		case "policy":
			if string(raw) == "null" {
				return Invalid("policy", "cannot be removed from a task; send the policy to keep")
			}
			var pol *Policy
			if pol, err = ParsePolicy(raw); err != nil {
				return err
			}
			p.Policy = pol
		default:
			return Invalid(k, "cannot be changed; a task's description, rolloutPerMinute, inProgressTimeoutMinutes and policy can")
		}
		if err != nil {
			return Invalid(k, "has the wrong type: %s", raw)
		}
	}
	return nil
}

// PatchTask changes a task's description or configuration (while
// Task.CanChangeConfig allows it). The rollout rate and the policy apply
// at once; the timeout applies to sub-tasks that have not yet started.
func (t *Tasks) PatchTask(ctx context.Context, id ID, p TaskPatch) (*Task, error) {
	task, err := t.GetTask(ctx, id)
	if err != nil {
		return nil, err
	}
	now := t.now().UTC()
	var cols []string
	args := []any{id, now}
	set := func(col string, v any) {
		args = append(args, v)
		cols = append(cols, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	var changed []string // of the rollout's configuration
	if p.Description != nil {
		if n := utf8.RuneCountInString(*p.Description); n > MaxTaskDescriptionLen {
			return nil, Invalid("description", "must be at most %d characters (it has %d)", MaxTaskDescriptionLen, n)
		}
		if err := checkStorable("description", *p.Description); err != nil {
			return nil, err
		}
		set("description", *p.Description)
	}
	if v := p.RolloutPerMinute; v != nil {
		if *v < 1 || *v > MaxRolloutPerMin {
			return nil, Invalid("rolloutPerMinute", "must be 1 to %d (it is %d)", MaxRolloutPerMin, *v)
		}
		set("rollout_per_minute", *v)
		// the next step paces from now at the new rate
		cols = append(cols, "rollout_epoch = NULL", "rollout_sent = 0", "rollout_next_at = $2")
		changed = append(changed, "rolloutPerMinute")
	}
	if p.InProgressTimeoutMinutes != nil {
		if err := validTimeout(*p.InProgressTimeoutMinutes); err != nil {
			return nil, err
		}
		set("in_progress_timeout_minutes", *p.InProgressTimeoutMinutes)
		changed = append(changed, "inProgressTimeoutMinutes")
	}
	if p.Policy != nil {
		rate := task.RolloutPerMinute
		if p.RolloutPerMinute != nil {
			rate = *p.RolloutPerMinute
		}
		if err := task.checkPolicyChange(p.Policy, now, rate); err != nil {
			return nil, err
		}
		raw, err := json.Marshal(p.Policy)
		if err != nil {
			return nil, err
		}
		args = append(args, string(raw))
		cols = append(cols, fmt.Sprintf("policy = $%d::jsonb", len(args)))
		if p.RolloutPerMinute == nil {
			cols = append(cols, "rollout_next_at = $2") // judged afresh at once
		}
		changed = append(changed, "policy")
	}
	if len(cols) == 0 {
		return task, nil
	}
	q := `UPDATE tasks SET ` + strings.Join(cols, ", ") + `, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL`
	if len(changed) > 0 {
		// the condition of Task.CanChangeConfig, checked as the row is written
		q += ` AND status IN (` + sqlList(Running...) + `)`
	}
	var done bool
	err = pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q, args...)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		done = true
		if len(changed) == 0 {
			return nil
		}
		return recordEvent(ctx, tx, id, EventPolicyChanged, actorOf(ctx), map[string]any{"changed": changed}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("models: patch task %s: %w", id, err)
	}
	if !done {
		return nil, t.refused(ctx, id, (*Task).CanChangeConfig)
	}
	return t.GetTask(ctx, id)
}

// checkPolicyChange validates pol as the task's new policy: a valid policy
// whose waves have the shares the task's sub-tasks were put in at
// creation (their gates, soak times and approvals may change).
func (t *Task) checkPolicyChange(pol *Policy, now time.Time, rate int) error {
	if err := pol.Validate(now, rate); err != nil {
		return err
	}
	if pol.Continuous && t.Target.Type == TargetDeviceList {
		return Invalid("policy.continuous", "is for a PRODUCT or GROUP target, whose devices can join later; a device list is fixed")
	}
	var old []Wave
	if t.Policy != nil {
		old = t.Policy.Waves
	}
	same := len(old) == len(pol.Waves) || (len(old) <= 1 && len(pol.Waves) <= 1)
	for i := 0; same && i < len(old)-1; i++ { // the last wave takes the rest, whatever it says
		a, b := old[i], pol.Waves[i]
		same = fmt.Sprint(a.Percent != nil, a.Count != nil) == fmt.Sprint(b.Percent != nil, b.Count != nil) &&
			(a.Percent == nil || *a.Percent == *b.Percent) && (a.Count == nil || *a.Count == *b.Count)
	}
	if !same {
		return Invalid("policy.waves", "the waves' shares (percent or count of each) are chosen at creation and cannot change; their gates, soak times and approvals can")
	}
	return nil
}
