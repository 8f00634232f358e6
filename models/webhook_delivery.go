package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeliveryStatus is where a delivery of an event to a webhook stands.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"   // not tried yet
	DeliveryRetrying  DeliveryStatus = "retrying"  // tried, failed, tried again later
	DeliverySucceeded DeliveryStatus = "succeeded" // the receiver answered 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // given up: 24 hours passed, or it cannot be sent
)

// WebhookDelivery is one event sent (or to send) to one webhook.
type WebhookDelivery struct {
	// ID is the delivery id: the X-Fleettasks-Delivery header and the
	// body's id, the same on every attempt.
	ID        string         `json:"id"`
	WebhookID ID             `json:"webhookId"`
	Event     EventType      `json:"event"`
	TaskID    *ID            `json:"taskId"`
	Status    DeliveryStatus `json:"status"`
	Attempts  int            `json:"attempts"`
	// LastHTTPStatus is the receiver's answer to the latest attempt (nil:
	// none, e.g. it could not be reached).
	LastHTTPStatus *int       `json:"lastHttpStatus"`
	LastError      string     `json:"lastError"`
	CreatedAt      time.Time  `json:"createdAt"`
	LastAttemptAt  *time.Time `json:"lastAttemptAt"`
	NextAttemptAt  *time.Time `json:"nextAttemptAt"`
	FinishedAt     *time.Time `json:"finishedAt"`
}

const deliveryColumns = `d.id::text, d.webhook_id, d.event, e.task_id, d.status, d.attempts, d.last_status, d.last_error,
	d.created_at, d.last_attempt_at, d.next_attempt_at, d.finished_at`

func scanDelivery(r pgx.Row) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := r.Scan(&d.ID, &d.WebhookID, &d.Event, &d.TaskID, &d.Status, &d.Attempts, &d.LastHTTPStatus, &d.LastError,
		&d.CreatedAt, &d.LastAttemptAt, &d.NextAttemptAt, &d.FinishedAt)
	d.CreatedAt = d.CreatedAt.UTC()
	for _, t := range []*time.Time{d.LastAttemptAt, d.NextAttemptAt, d.FinishedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return d, err
}

// Deliveries returns page p of webhook id's delivery log, newest first.
func (s *Webhooks) Deliveries(ctx context.Context, id ID, p Page) (List[WebhookDelivery], error) {
	var total int64
	err := s.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1)
		FROM webhooks WHERE id = $1`, id).Scan(&total)
	if errors.Is(err, pgx.ErrNoRows) {
		return List[WebhookDelivery]{}, NotFound("webhook %s not found", id)
	} else if err != nil {
		return List[WebhookDelivery]{}, fmt.Errorf("models: count deliveries of webhook %s: %w", id, err)
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		LEFT JOIN task_events e ON e.id = d.event_id WHERE d.webhook_id = $1
		ORDER BY d.created_at DESC, d.id LIMIT $2 OFFSET $3`, id, p.Size, p.Offset())
	if err != nil {
		return List[WebhookDelivery]{}, fmt.Errorf("models: deliveries of webhook %s: %w", id, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookDelivery, error) { return scanDelivery(r) })
	if err != nil {
		return List[WebhookDelivery]{}, fmt.Errorf("models: deliveries of webhook %s: %w", id, err)
	}
	return NewList(items, total, p), nil
}

// GetDelivery reads delivery id.
func (s *Webhooks) GetDelivery(ctx context.Context, id string) (*WebhookDelivery, error) {
	d, err := scanDelivery(s.db.Pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		LEFT JOIN task_events e ON e.id = d.event_id WHERE d.id = $1::uuid`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("delivery %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("models: delivery %s: %w", id, err)
	}
	return &d, nil
}

// SendTest records a webhook.test delivery to webhook id (sent whatever
// events the webhook takes, even when it is disabled: it tests the
// receiver).
func (s *Webhooks) SendTest(ctx context.Context, id ID) (*WebhookDelivery, error) {
	now := s.now().UTC()
	var did string
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event, data, created_at, updated_at)
		SELECT gen_random_uuid(), id, $2, $3, $4, $4 FROM webhooks WHERE id = $1 RETURNING id::text`,
		id, EventTest, `{"message": "A test event sent from the fleettasks console or API."}`, now).Scan(&did)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("webhook %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("models: test event of webhook %s: %w", id, err)
	}
	return s.GetDelivery(ctx, did)
}

// staleDelivery is how long a delivery to be tried again may wait past its
// time before the scan enqueues it again (its asynq task was lost).
const staleDelivery = 10 * time.Minute

// UnsentDeliveries lists up to limit deliveries that have no asynq task
// yet (new ones), or whose task was lost (due long ago, no attempt under
// way).
func (s *Webhooks) UnsentDeliveries(ctx context.Context, limit int) ([]string, error) {
	now := s.now().UTC()
	rows, err := s.db.Pool.Query(ctx, `(SELECT id::text FROM webhook_deliveries WHERE enqueued_at IS NULL ORDER BY created_at LIMIT $1)
		UNION ALL
		(SELECT id::text FROM webhook_deliveries WHERE status IN ('pending', 'retrying') AND enqueued_at IS NOT NULL
			AND coalesce(next_attempt_at, enqueued_at) < $2 AND coalesce(lease_until, $3) < $3 LIMIT $1)`,
		limit, now.Add(-staleDelivery), now)
	if err != nil {
		return nil, fmt.Errorf("models: unsent deliveries: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// MarkEnqueued records that deliveries ids have their asynq task.
func (s *Webhooks) MarkEnqueued(ctx context.Context, ids []string) error {
	now := s.now().UTC()
	_, err := s.db.Pool.Exec(ctx, `UPDATE webhook_deliveries SET enqueued_at = $2,
		next_attempt_at = CASE WHEN status = 'retrying' THEN $2 ELSE next_attempt_at END WHERE id = ANY($1::uuid[])`, ids, now)
	if err != nil {
		return fmt.Errorf("models: mark deliveries enqueued: %w", err)
	}
	return nil
}

// Outgoing is an attempt of a delivery the caller has claimed: where to
// send what, and with which secret.
type Outgoing struct {
	Delivery WebhookDelivery
	URL      string
	Secret   string
	Enabled  bool
	// Body is the JSON POSTed: the same bytes on every attempt.
	Body []byte
}

// deliveryLease is how long a claimed attempt keeps duplicates away: more
// than its 10 s HTTP timeout.
const deliveryLease = 60 * time.Second

// ClaimDelivery takes the next attempt of delivery id: nil (and no error)
// when there is none to make (it succeeded or failed already, another
// worker is making one now, or its webhook was deleted). The attempt is
// counted now.
func (s *Webhooks) ClaimDelivery(ctx context.Context, id string) (*Outgoing, error) {
	now := s.now().UTC()
	var (
		o          Outgoing
		task, data []byte
	)
	err := s.db.Pool.QueryRow(ctx, `WITH c AS (UPDATE webhook_deliveries d SET attempts = d.attempts + 1,
			lease_until = $2, last_attempt_at = $3, updated_at = $3
			WHERE d.id = $1::uuid AND d.status IN ('pending', 'retrying') AND coalesce(d.lease_until, $3) <= $3
			RETURNING d.*)
		SELECT `+deliveryColumns+`, w.url, w.secret, w.enabled, coalesce(e.task, d.task), coalesce(e.data, d.data)
		FROM c d JOIN webhooks w ON w.id = d.webhook_id LEFT JOIN task_events e ON e.id = d.event_id`,
		id, now.Add(deliveryLease), now).Scan(&o.Delivery.ID, &o.Delivery.WebhookID, &o.Delivery.Event, &o.Delivery.TaskID,
		&o.Delivery.Status, &o.Delivery.Attempts, &o.Delivery.LastHTTPStatus, &o.Delivery.LastError, &o.Delivery.CreatedAt,
		&o.Delivery.LastAttemptAt, &o.Delivery.NextAttemptAt, &o.Delivery.FinishedAt, &o.URL, &o.Secret, &o.Enabled, &task, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("models: claim delivery %s: %w", id, err)
	}
	o.Delivery.CreatedAt = o.Delivery.CreatedAt.UTC()
	o.Body, err = json.Marshal(struct {
		ID        string    `json:"id"`
		Event     EventType `json:"event"`
		CreatedAt time.Time `json:"createdAt"`
		Task      RawJSON   `json:"task"`
		Data      RawJSON   `json:"data"`
	}{o.Delivery.ID, o.Delivery.Event, o.Delivery.CreatedAt, task, data})
	if err != nil {
		return nil, fmt.Errorf("models: body of delivery %s: %w", id, err)
	}
	return &o, nil
}

// DeliveryAttempt is the outcome of one attempt of a delivery.
type DeliveryAttempt struct {
	OK         bool
	HTTPStatus int    // 0: no answer
	Error      string // why it failed
	// Final gives up on a failed delivery (failed); otherwise it is tried
	// again at Next (retrying).
	Final bool
	Next  time.Time
}

// FinishAttempt records the outcome of the claimed attempt of delivery
// id. A delivery that has succeeded or failed meanwhile is left as it is.
func (s *Webhooks) FinishAttempt(ctx context.Context, id string, a DeliveryAttempt) (DeliveryStatus, error) {
	now := s.now().UTC()
	status := DeliveryRetrying
	switch {
	case a.OK:
		status = DeliverySucceeded
	case a.Final:
		status = DeliveryFailed
	}
	var httpStatus *int
	if a.HTTPStatus != 0 {
		httpStatus = &a.HTTPStatus
	}
	var next, finished *time.Time
	if status == DeliveryRetrying {
		next = &a.Next
	} else {
		finished = &now
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE webhook_deliveries SET status = $2, last_status = $3, last_error = $4,
		next_attempt_at = $5, finished_at = $6, lease_until = NULL, updated_at = $7
		WHERE id = $1::uuid AND status IN ('pending', 'retrying')`, id, status, httpStatus, a.Error, next, finished, now)
	if err != nil {
		return "", fmt.Errorf("models: record attempt of delivery %s: %w", id, err)
	}
	return status, nil
}
