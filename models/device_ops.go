package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"fleettasks/protocol"
)

// DeviceUpdate is one update request of a device (docs/protocol.md, update).
type DeviceUpdate struct {
	DeviceID ID
	TaskID   string // the wire taskId: a sub-task id
	Status   SubStatus
	Progress *int
	Details  json.RawMessage // compact JSON object, or empty
}

// UpdateResult is the outcome of one DeviceUpdate: 200 with the status now,
// 404 (no such sub-task for this device), or 409 with the current status.
type UpdateResult struct {
	Code    int
	Status  SubStatus
	Message string
}

// deviceTransitionSQL is the WHERE condition of a device's transitions,
// built from the state machine: (v.status = X AND s.status IN (...)) OR ...
func deviceTransitionSQL() string {
	var parts []string
	for _, to := range []SubStatus{SubInProgress, SubSucceeded, SubFailed, SubRejected} {
		parts = append(parts, fmt.Sprintf("(v.status = '%s' AND s.status IN (%s))", to, sqlList(DeviceFrom(to)...)))
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

var applyUpdateSQL = `UPDATE subtasks s SET status = v.status,
	progress = coalesce(v.progress, s.progress),
	status_details = coalesce(v.details::jsonb, s.status_details),
	started_at = CASE WHEN v.status = 'IN_PROGRESS' THEN coalesce(s.started_at, $1) ELSE s.started_at END,
	timeout_at = CASE WHEN v.status <> 'IN_PROGRESS' THEN NULL
		WHEN s.started_at IS NULL AND t.in_progress_timeout_minutes IS NOT NULL THEN $1 + t.in_progress_timeout_minutes * $8::interval
		ELSE s.timeout_at END,
	finished_at = CASE WHEN v.status = 'IN_PROGRESS' THEN NULL ELSE $1 END,
	message = CASE WHEN v.status IN (` + sqlList[SubStatus](SubFailed, SubRejected) + `) THEN 'reported ' || v.status || ' by the device' ELSE '' END,
	updated_at = $1
	FROM unnest($2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::text[]) AS v(ord, id, dev, status, progress, details),
		tasks t
	WHERE s.device_id = v.dev AND s.id = v.id AND t.id = s.task_id AND t.status = 'IN_PROGRESS' AND t.deleted_at IS NULL
	AND ` + deviceTransitionSQL() + ` RETURNING v.ord, s.status`

// ApplyUpdates applies many devices' updates in one transaction, in order:
// updates of the same sub-task go in successive rounds, each round one
// conditional UPDATE for all its sub-tasks.
func (t *Tasks) ApplyUpdates(ctx context.Context, ups []DeviceUpdate) ([]UpdateResult, error) {
	res := make([]UpdateResult, len(ups))
	ids := make([]int64, len(ups))
	for i, u := range ups {
		id, err := strconv.ParseInt(u.TaskID, 10, 64)
		if err != nil || id <= 0 {
			res[i] = UpdateResult{Code: protocol.CodeNotFound, Message: "no such task for this device"}
			continue
		}
		ids[i] = id
	}
	now := t.now().UTC()
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		pending := make([]int, 0, len(ups))
		for i := range ups {
			if ids[i] != 0 {
				pending = append(pending, i)
			}
		}
		var refused []int
		for len(pending) > 0 {
			var round, later []int
			seen := map[int64]bool{}
			for _, i := range pending {
				if seen[ids[i]] {
					later = append(later, i)
				} else {
					seen[ids[i]] = true
					round = append(round, i)
				}
			}
			applied, err := applyRound(ctx, tx, now, t.timeoutUnit, ups, ids, round)
			if err != nil {
				return err
			}
			for _, i := range round {
				if s, ok := applied[i]; ok {
					res[i] = UpdateResult{Code: protocol.CodeOK, Status: s}
				} else {
					refused = append(refused, i)
				}
			}
			pending = later
		}
		return explainRefused(ctx, tx, ups, ids, refused, res)
	})
	if err != nil {
		return nil, fmt.Errorf("models: apply %d device updates: %w", len(ups), err)
	}
	return res, nil
}

func applyRound(ctx context.Context, tx pgx.Tx, now time.Time, unit time.Duration, ups []DeviceUpdate, ids []int64, round []int) (map[int]SubStatus, error) {
	n := len(round)
	ords, sids, devs := make([]int32, n), make([]int64, n), make([]int64, n)
	statuses, progress, details := make([]string, n), make([]*int32, n), make([]*string, n)
	for j, i := range round {
		u := ups[i]
		ords[j], sids[j], devs[j], statuses[j] = int32(i), ids[i], int64(u.DeviceID), string(u.Status)
		if u.Progress != nil {
			p := int32(*u.Progress)
			progress[j] = &p
		}
		if len(u.Details) > 0 {
			d := string(u.Details)
			details[j] = &d
		}
	}
	rows, err := tx.Query(ctx, applyUpdateSQL, now, ords, sids, devs, statuses, progress, details, unit)
	if err != nil {
		return nil, err
	}
	applied := map[int]SubStatus{}
	var ord int32
	var status SubStatus
	_, err = pgx.ForEachRow(rows, []any{&ord, &status}, func() error {
		applied[int(ord)] = status
		return nil
	})
	return applied, err
}

// explainRefused fills the results of refused updates: 404 when the
// device has no such visible sub-task, else 409 with its status now.
func explainRefused(ctx context.Context, tx pgx.Tx, ups []DeviceUpdate, ids []int64, refused []int, res []UpdateResult) error {
	if len(refused) == 0 {
		return nil
	}
	devs, sids := make([]int64, len(refused)), make([]int64, len(refused))
	for j, i := range refused {
		devs[j], sids[j] = int64(ups[i].DeviceID), ids[i]
	}
	rows, err := tx.Query(ctx, `SELECT s.device_id, s.id, s.status, t.status FROM subtasks s JOIN tasks t ON t.id = s.task_id
		WHERE (s.device_id, s.id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
		AND s.status <> 'QUEUED' AND t.deleted_at IS NULL`, devs, sids)
	if err != nil {
		return err
	}
	type key struct{ dev, id int64 }
	current := map[key]SubStatus{}
	var dev, id int64
	var sub SubStatus
	var task TaskStatus
	if _, err := pgx.ForEachRow(rows, []any{&dev, &id, &sub, &task}, func() error {
		if !Terminal(sub) && task != TaskInProgress {
			sub = SubStatus(task) // the task was cancelled or timed out; its sub-tasks follow
		}
		current[key{dev, id}] = sub
		return nil
	}); err != nil {
		return err
	}
	for _, i := range refused {
		s, ok := current[key{int64(ups[i].DeviceID), ids[i]}]
		switch {
		case !ok:
			res[i] = UpdateResult{Code: protocol.CodeNotFound, Message: "no such task for this device"}
		case Terminal(s):
			res[i] = UpdateResult{Code: protocol.CodeConflict, Status: s, Message: "execution has ceased: the task is " + string(s)}
		default:
			res[i] = UpdateResult{Code: protocol.CodeConflict, Status: s, Message: fmt.Sprintf("%s is not allowed from %s", ups[i].Status, s)}
		}
	}
	return nil
}
