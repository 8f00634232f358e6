package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// The fleet overview (the console's home page) reads the running tasks,
// the outcomes of the last day and week, the latest failures and the
// notifies and results of each recent minute. Every read is bounded by an
// index or by the per-minute rollup fleet_activity (migration 0012), never
// by the number of tasks or sub-tasks.

// ActiveTask is a running or scheduled task with its progress and pace.
type ActiveTask struct {
	Task  Task
	Stats Statistics
	// Rate is the sends per minute the task runs at now: its rate, or the
	// current rate of its rollout policy.
	Rate int
	ETA  ETA
}

// ActiveTasks are the running and scheduled tasks (the first few of each).
type ActiveTasks struct {
	Running        []ActiveTask // newest first
	Scheduled      []ActiveTask // soonest first
	RunningTotal   int64
	ScheduledTotal int64
}

// ETA is when a running task should have sent its last notify at its rate.
type ETA struct {
	Known bool
	Left  time.Duration // with Known
	// Reason says why the time is not known (or, with Known, what it
	// assumes); "" when it needs no comment.
	Reason string
}

// EstimateSend works out a running task's ETA from its statistics and its
// current rate (sends per minute): the devices left in the queue at that
// rate, rounded up to the minute.
func (t *Task) EstimateSend(s *Statistics, rate int) ETA {
	switch {
	case t.Status == TaskScheduled:
		return ETA{Reason: "not started yet"}
	case t.Finished():
		return ETA{Reason: "finished"}
	case t.Preparing:
		return ETA{Reason: "its sub-tasks are still being created"}
	case t.PausedAt != nil:
		return ETA{Reason: "paused"}
	case s.Queued == 0 && s.Sent+s.InProgress > 0:
		n := s.Sent + s.InProgress
		if n == 1 {
			return ETA{Reason: "all sent; 1 device still at work"}
		}
		return ETA{Reason: fmt.Sprintf("all sent; %d devices still at work", n)}
	case s.Queued == 0:
		return ETA{Known: true}
	case rate <= 0:
		return ETA{Reason: "no rate"}
	}
	if p := t.Policy; p != nil {
		switch {
		case len(p.Waves) > 1:
			return ETA{Reason: "its waves open on their gates"}
		case len(p.MaintenanceWindows) > 0:
			return ETA{Reason: "it sends in maintenance windows only"}
		}
	}
	minutes := (s.Queued + int64(rate) - 1) / int64(rate)
	e := ETA{Known: true, Left: time.Duration(minutes) * time.Minute}
	if t.Policy != nil && t.Policy.ExponentialRate != nil {
		e.Reason = "at the current rate, which rises"
	}
	return e
}

// overviewRows is how many running and scheduled tasks the overview lists.
const overviewRows = 10

// ActiveTasks returns the running tasks (newest first) and the scheduled
// ones (soonest first), up to limit of each, with their statistics, rate
// and ETA, and how many there are in all.
func (t *Tasks) ActiveTasks(ctx context.Context, limit int) (ActiveTasks, error) {
	var out ActiveTasks
	if limit <= 0 {
		limit = overviewRows
	}
	rows, err := t.db.Pool.Query(ctx, `SELECT status, count(*) FROM tasks WHERE status IN (`+sqlList(Running...)+`)
		AND deleted_at IS NULL GROUP BY status`)
	if err != nil {
		return out, fmt.Errorf("models: count active tasks: %w", err)
	}
	counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		Status TaskStatus
		N      int64
	}])
	if err != nil {
		return out, fmt.Errorf("models: count active tasks: %w", err)
	}
	for _, c := range counts {
		if c.Status == TaskScheduled {
			out.ScheduledTotal = c.N
		} else {
			out.RunningTotal = c.N
		}
	}
	var running, scheduled []Task
	q := func(status TaskStatus) *gorm.DB {
		return t.db.Gorm.WithContext(ctx).Model(&Task{}).Where("deleted_at IS NULL AND status = ?", status)
	}
	if out.RunningTotal > 0 {
		if err := q(TaskInProgress).Order("id DESC").Limit(limit).Find(&running).Error; err != nil {
			return out, fmt.Errorf("models: running tasks: %w", err)
		}
	}
	if out.ScheduledTotal > 0 {
		if err := q(TaskScheduled).Order("scheduled_at, id").Limit(limit).Find(&scheduled).Error; err != nil {
			return out, fmt.Errorf("models: scheduled tasks: %w", err)
		}
	}
	all := append(append([]Task{}, running...), scheduled...)
	if len(all) == 0 {
		return out, nil
	}
	ids := make([]ID, len(all))
	for i := range all {
		all[i].Target.DeviceCount = all[i].DeviceCount
		ids[i] = all[i].ID
	}
	stats, err := t.StatisticsOf(ctx, ids)
	if err != nil {
		return out, err
	}
	rates := map[ID]*int{}
	rows, err = t.db.Pool.Query(ctx, `SELECT id, rollout_rate FROM tasks WHERE id = ANY($1)`, ids)
	if err != nil {
		return out, fmt.Errorf("models: rates of active tasks: %w", err)
	}
	for rows.Next() {
		var id ID
		var r *int
		if err := rows.Scan(&id, &r); err != nil {
			rows.Close()
			return out, err
		}
		rates[id] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	for i, task := range all {
		a := ActiveTask{Task: task, Rate: task.RolloutPerMinute}
		if s := stats[task.ID]; s != nil {
			a.Stats = *s
		}
		if r := rates[task.ID]; task.Policy != nil && r != nil {
			a.Rate = *r
		}
		a.ETA = a.Task.EstimateSend(&a.Stats, a.Rate)
		if i < len(running) {
			out.Running = append(out.Running, a)
		} else {
			out.Scheduled = append(out.Scheduled, a)
		}
	}
	return out, nil
}

// AnyTasks reports whether any task exists (the overview's empty state).
func (t *Tasks) AnyTasks(ctx context.Context) (bool, error) {
	var ok bool
	err := t.db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tasks WHERE deleted_at IS NULL)`).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("models: any tasks: %w", err)
	}
	return ok, nil
}

// Outcomes counts the sub-tasks that finished in a time range, by how.
type Outcomes struct {
	Since     time.Time
	Succeeded int64
	Failed    int64
	Rejected  int64
	TimedOut  int64
}

// Finished counts the sub-tasks a device finished (cancelled and removed
// ones are not an outcome of the device).
func (o Outcomes) Finished() int64 { return o.Succeeded + o.Failed + o.Rejected + o.TimedOut }

// SuccessPercent is the share of the finished ones that succeeded; 0
// without any.
func (o Outcomes) SuccessPercent() float64 {
	if o.Finished() == 0 {
		return 0
	}
	return float64(o.Succeeded) * 100 / float64(o.Finished())
}

// Outcomes counts the sub-tasks that finished since since (to the minute)
// from the rollup: the minutes up to the next full hour, then the hours.
func (t *Tasks) Outcomes(ctx context.Context, since time.Time) (Outcomes, error) {
	from := since.UTC().Truncate(time.Minute)
	hour := from.Truncate(time.Hour)
	if hour.Before(from) {
		hour = hour.Add(time.Hour)
	}
	out := Outcomes{Since: since}
	rows, err := t.db.Pool.Query(ctx, `SELECT kind, sum(n)::bigint FROM fleet_activity
		WHERE ((width = 1 AND bucket >= $1 AND bucket < $2) OR (width = 60 AND bucket >= $2))
		AND kind IN (`+sqlList(finishedByDevice...)+`) GROUP BY kind`, from, hour)
	if err != nil {
		return out, fmt.Errorf("models: outcomes since %s: %w", since, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind SubStatus
		var n int64
		if err := rows.Scan(&kind, &n); err != nil {
			return out, err
		}
		switch kind {
		case SubSucceeded:
			out.Succeeded = n
		case SubFailed:
			out.Failed = n
		case SubRejected:
			out.Rejected = n
		case SubTimedOut:
			out.TimedOut = n
		}
	}
	return out, rows.Err()
}

// ActivityMinute is one minute of the fleet: notifies sent and sub-tasks
// finished (by the device: succeeded, failed, rejected, timed out).
type ActivityMinute struct {
	At        time.Time
	Notifies  int64
	Succeeded int64
	Failed    int64 // failed, rejected or timed out
}

// Results is the sub-tasks finished in the minute.
func (m ActivityMinute) Results() int64 { return m.Succeeded + m.Failed }

// Activity returns the last n minutes up to now (the current one last),
// every minute present, zero when nothing happened in it.
func (t *Tasks) Activity(ctx context.Context, n int) ([]ActivityMinute, error) {
	end := t.now().UTC().Truncate(time.Minute)
	start := end.Add(-time.Duration(n-1) * time.Minute)
	out := make([]ActivityMinute, n)
	for i := range out {
		out[i].At = start.Add(time.Duration(i) * time.Minute)
	}
	rows, err := t.db.Pool.Query(ctx, `SELECT bucket, kind, sum(n)::bigint FROM fleet_activity
		WHERE width = 1 AND bucket >= $1 AND bucket <= $2 GROUP BY bucket, kind`, start, end)
	if err != nil {
		return nil, fmt.Errorf("models: fleet activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var kind string
		var c int64
		if err := rows.Scan(&at, &kind, &c); err != nil {
			return nil, err
		}
		i := int(at.UTC().Sub(start) / time.Minute)
		if i < 0 || i >= n {
			continue
		}
		switch SubStatus(kind) {
		case "SENT":
			out[i].Notifies += c
		case SubSucceeded:
			out[i].Succeeded += c
		case SubFailed, SubRejected, SubTimedOut:
			out[i].Failed += c
		}
	}
	return out, rows.Err()
}

// FailureStatuses are the outcomes that need someone's attention.
var FailureStatuses = []SubStatus{SubFailed, SubRejected, SubTimedOut}

// FailureCursor is where a page of failures ends: the last one's finish
// time and id.
type FailureCursor struct {
	At time.Time
	ID ID
}

// String is the cursor in a URL: Unix microseconds and the id.
func (c FailureCursor) String() string { return fmt.Sprintf("%d.%s", c.At.UnixMicro(), c.ID) }

// ParseFailureCursor reads FailureCursor.String.
func ParseFailureCursor(field, s string) (*FailureCursor, error) {
	if s == "" {
		return nil, nil
	}
	var us int64
	var id ID
	at, rest, ok := strings.Cut(s, ".")
	if _, err := fmt.Sscan(at, &us); !ok || err != nil {
		return nil, Invalid(field, "is not a position in the list (%q)", s)
	}
	if _, err := fmt.Sscan(rest, &id); err != nil || id <= 0 {
		return nil, Invalid(field, "is not a position in the list (%q)", s)
	}
	return &FailureCursor{At: time.UnixMicro(us).UTC(), ID: id}, nil
}

// RecentFailures returns up to limit sub-tasks that failed, were rejected
// or timed out, newest first (after the cursor when given), with their
// task's name; more is true when there are others after them.
func (t *Tasks) RecentFailures(ctx context.Context, limit int, after *FailureCursor) (items []Subtask, more bool, err error) {
	cols := strings.ReplaceAll("s."+subtaskColumns, ", ", ", s.")
	sql := `SELECT ` + cols + `, t.name FROM subtasks s JOIN tasks t ON t.id = s.task_id AND t.deleted_at IS NULL
		WHERE s.status IN (` + sqlList(FailureStatuses...) + `) AND s.finished_at IS NOT NULL`
	args := []any{limit + 1}
	if after != nil {
		sql += ` AND (s.finished_at, s.id) < ($2, $3)`
		args = append(args, after.At, after.ID)
	}
	items, err = t.scanSubtasks(ctx, sql+` ORDER BY s.finished_at DESC, s.id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("models: recent failures: %w", err)
	}
	if len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// PruneActivity deletes the minutes of fleet_activity older than two days
// and its hours older than eight (the overview reads a day of minutes at
// most and a week of hours).
func (db *DB) PruneActivity(ctx context.Context, now time.Time) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM fleet_activity WHERE (width = 1 AND bucket < $1) OR (width = 60 AND bucket < $2)`,
		now.Add(-48*time.Hour), now.Add(-8*24*time.Hour))
	if err != nil {
		return fmt.Errorf("models: prune fleet activity: %w", err)
	}
	return nil
}

// Online counts the devices online now, by the registry's rule (connected
// to the embedded broker, or a message within OfflineAfter), and reports
// whether any device is registered at all.
func (r *Registry) Online(ctx context.Context) (online int64, anyDevice bool, err error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	err = r.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM devices d WHERE `+r.onlineCondition(true, arg)+`),
		EXISTS (SELECT 1 FROM devices)`, args...).Scan(&online, &anyDevice)
	if err != nil {
		return 0, false, fmt.Errorf("models: devices online: %w", err)
	}
	return online, anyDevice, nil
}
