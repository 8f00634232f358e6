package models

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Attempt is an earlier attempt of a sub-task, with its result.
type Attempt struct {
	Attempt       int        `json:"attempt"`
	Status        SubStatus  `json:"status"`
	Progress      int        `json:"progress"`
	StatusDetails RawJSON    `json:"statusDetails"`
	Message       string     `json:"message"`
	SentAt        *time.Time `json:"sentAt"`
	StartedAt     *time.Time `json:"startedAt"`
	FinishedAt    *time.Time `json:"finishedAt"`
}

// requeueSQL queues again the sub-tasks of task $1 chosen by the CTE
// "due" (their ids), at $2: each keeps its id, counts attempt + 1 and
// leaves its attempt so far in subtask_attempts. Callers prepend the CTE.
const requeueSQL = `, kept AS (INSERT INTO subtask_attempts (task_id, subtask_id, attempt, status, progress, status_details,
		message, sent_at, started_at, finished_at)
		SELECT s.task_id, s.id, s.attempt, s.status, s.progress, s.status_details, s.message, s.sent_at, s.started_at, s.finished_at
		FROM subtasks s JOIN due ON s.task_id = $1 AND s.id = due.id
		ON CONFLICT DO NOTHING)
	UPDATE subtasks s SET status = 'QUEUED', attempt = s.attempt + 1, progress = 0, status_details = NULL,
		message = '', queued_at = $2, sent_at = NULL, delivered_at = NULL, started_at = NULL, finished_at = NULL,
		timeout_at = NULL, notify_id = NULL, updated_at = $2
	FROM due WHERE s.task_id = $1 AND s.id = due.id`

// retryDueSQL picks (as "due") up to $4 sub-tasks of task $1 that ended in
// a failure type of the policy's retry rules ($3, policy.retry) with
// attempts left and whose backoff is over at $2.
const retryDueSQL = `WITH r AS (SELECT x->>'failureType' AS ft, (x->>'maxAttempts')::int AS max_retries,
		coalesce((x->>'backoffMinutes')::int, 0) AS backoff, coalesce((x->>'backoffDoubling')::bool, false) AS doubling
		FROM jsonb_array_elements($3::jsonb) x),
	due AS MATERIALIZED (SELECT s.id FROM subtasks s JOIN r ON s.status = r.ft
		WHERE s.task_id = $1 AND s.attempt <= r.max_retries
		AND s.finished_at + make_interval(mins => r.backoff * CASE WHEN r.doubling THEN (2 ^ (s.attempt - 1))::int ELSE 1 END) <= $2
		ORDER BY s.id LIMIT $4 FOR UPDATE OF s SKIP LOCKED)`

// retryPending is the SQL condition (on tasks t, at $1) that a sub-task
// of t ended in a failure its policy retries and has a retry left (before
// the policy's end time, after which nothing is retried).
const retryPending = `(coalesce((t.policy->>'endAt')::timestamptz > $1, true) AND EXISTS (
	SELECT 1 FROM jsonb_array_elements(coalesce(t.policy->'retry', '[]')) r
	JOIN subtasks s ON s.task_id = t.id AND s.status = r->>'failureType' AND s.attempt <= (r->>'maxAttempts')::int))`

// requeueRetries queues again, in tx, the sub-tasks of task id due for an
// automatic retry under rules, at most limit of them.
func requeueRetries(ctx context.Context, tx pgx.Tx, id ID, rules []RetryRule, now time.Time, limit int) (int64, error) {
	if len(rules) == 0 {
		return 0, nil
	}
	tag, err := tx.Exec(ctx, retryDueSQL+requeueSQL, id, now, rules, limit)
	if err != nil {
		return 0, fmt.Errorf("models: retry sub-tasks of task %s: %w", id, err)
	}
	return tag.RowsAffected(), nil
}

// Attempts lists the earlier attempts of sub-task id of task taskID,
// oldest first.
func (t *Tasks) Attempts(ctx context.Context, taskID, id ID) ([]Attempt, error) {
	rows, err := t.db.Pool.Query(ctx, `SELECT attempt, status, progress, status_details, message, sent_at, started_at, finished_at
		FROM subtask_attempts WHERE task_id = $1 AND subtask_id = $2 ORDER BY attempt`, taskID, id)
	if err != nil {
		return nil, fmt.Errorf("models: attempts of sub-task %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Attempt])
	if err != nil {
		return nil, fmt.Errorf("models: attempts of sub-task %s: %w", id, err)
	}
	if out == nil {
		out = []Attempt{}
	}
	return out, nil
}
