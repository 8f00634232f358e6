package models

import (
	"context"
	"fmt"
	"time"
)

// Timeline is a task's sub-tasks over time, from its start to now (or its
// end), in equal buckets: for each series, how many had reached it by the
// end of each bucket.
type Timeline struct {
	Start, End time.Time
	Buckets    int
	// Series by name: "sent" (sent at least once, their latest sending),
	// and the final statuses SUCCEEDED, FAILED, REJECTED, TIMED_OUT.
	Series map[string][]int64
	Total  int64 // the task's sub-tasks, the chart's scale
}

// TimelineSeries are the series of a Timeline, in the order drawn.
var TimelineSeries = []string{"sent", string(SubSucceeded), string(SubFailed), string(SubRejected), string(SubTimedOut)}

// Timeline reads task's sub-tasks over time in buckets (from the
// sub-tasks' send and finish times: one scan of the task's sub-tasks).
func (t *Tasks) Timeline(ctx context.Context, task *Task, buckets int) (*Timeline, error) {
	id := task.ID
	tl := &Timeline{Buckets: buckets, Series: map[string][]int64{}, Total: int64(task.DeviceCount), End: t.now().UTC()}
	for _, s := range TimelineSeries {
		tl.Series[s] = make([]int64, buckets)
	}
	if task.StartedAt == nil {
		return tl, nil
	}
	tl.Start = *task.StartedAt
	if task.FinishedAt != nil {
		tl.End = *task.FinishedAt
	}
	if !tl.End.After(tl.Start) {
		tl.End = tl.Start.Add(time.Second)
	}
	rows, err := t.db.Pool.Query(ctx, `SELECT 'sent', width_bucket(extract(epoch FROM sent_at)::float8, $2, $3, $4), count(*)
			FROM subtasks WHERE task_id = $1 AND sent_at IS NOT NULL GROUP BY 2
		UNION ALL
		SELECT status, width_bucket(extract(epoch FROM finished_at)::float8, $2, $3, $4), count(*)
			FROM subtasks WHERE task_id = $1 AND finished_at IS NOT NULL AND status IN ('SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT')
			GROUP BY 1, 2`,
		id, float64(tl.Start.UnixMicro())/1e6, float64(tl.End.UnixMicro())/1e6+1e-6, buckets)
	if err != nil {
		return nil, fmt.Errorf("models: timeline of task %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var series string
		var b int
		var n int64
		if err := rows.Scan(&series, &b, &n); err != nil {
			return nil, fmt.Errorf("models: timeline of task %s: %w", id, err)
		}
		b = min(max(b, 1), buckets) - 1 // before the start (a rerun's first attempt): the first bucket
		tl.Series[series][b] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: timeline of task %s: %w", id, err)
	}
	for _, s := range tl.Series {
		for i := 1; i < len(s); i++ {
			s[i] += s[i-1]
		}
	}
	return tl, nil
}
