package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Webhook is where an admin has task events POSTed, signed with its secret
// (docs/webhooks.md).
type Webhook struct {
	ID  ID     `json:"id"`
	URL string `json:"url"`
	// Events are the event types sent; empty: all of them.
	Events    []EventType `json:"events"`
	Enabled   bool        `json:"enabled"`
	CreatedAt time.Time   `json:"createdAt"`
	UpdatedAt time.Time   `json:"updatedAt"`
	// Secret signs the deliveries; it is shown once, when it is made.
	Secret string `json:"-"`
}

// Takes reports whether the webhook is sent events of type e.
func (w *Webhook) Takes(e EventType) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, e)
}

// WebhookInput is a webhook as an admin writes it. Secret "" makes one
// (on creation; on an edit, RotateSecret asks for a new one).
type WebhookInput struct {
	URL     string
	Events  []EventType
	Secret  string
	Enabled bool
}

// Webhook limits.
const (
	MaxWebhookURLLen   = 2000
	MinWebhookSecret   = 16
	MaxWebhookSecret   = 256
	WebhookDeliveryTTL = 24 * time.Hour // a delivery is retried until this long after its event
)

// Validate checks in: an http or https URL with a host, known events, a
// secret of 16 to 256 characters when one is given.
func (in *WebhookInput) Validate() error {
	in.URL = strings.TrimSpace(in.URL)
	if in.URL == "" {
		return Invalid("url", "is required: the http or https address events are POSTed to")
	}
	if len(in.URL) > MaxWebhookURLLen {
		return Invalid("url", "must be at most %d characters (it has %d)", MaxWebhookURLLen, len(in.URL))
	}
	u, err := url.Parse(in.URL)
	if err != nil {
		return Invalid("url", "is not a URL: %v", errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Invalid("url", "must start with http:// or https:// (it is %q)", in.URL)
	}
	if u.Hostname() == "" {
		return Invalid("url", "has no host name")
	}
	if u.User != nil {
		return Invalid("url", "must not carry a user name or password; the signature authenticates the sender")
	}
	if u.Fragment != "" {
		return Invalid("url", "must not have a #fragment")
	}
	if err := checkStorable("url", in.URL); err != nil {
		return err
	}
	seen := map[EventType]bool{}
	events := in.Events[:0:0]
	for _, e := range in.Events {
		if !slices.Contains(EventTypes, e) {
			return Invalid("events", "%q is not an event; the events are %s", e, eventList())
		}
		if !seen[e] {
			seen[e] = true
			events = append(events, e)
		}
	}
	in.Events = events
	if len(in.Events) == len(EventTypes) {
		in.Events = nil // all of them, and the ones added later
	}
	if in.Secret != "" && (len(in.Secret) < MinWebhookSecret || len(in.Secret) > MaxWebhookSecret) {
		return Invalid("secret", "must be %d to %d characters, or left empty to generate one (it has %d)",
			MinWebhookSecret, MaxWebhookSecret, len(in.Secret))
	}
	return checkStorable("secret", in.Secret)
}

func eventList() string {
	s := make([]string, len(EventTypes))
	for i, e := range EventTypes {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// NewWebhookSecret makes a random secret: "whsec_" and 32 bytes in hex.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}

// Webhooks is the service of the webhooks and their deliveries.
type Webhooks struct {
	db  *DB
	now func() time.Time
}

// WebhooksOption configures Webhooks.
type WebhooksOption func(*Webhooks)

// WithWebhookClock replaces time.Now (tests).
func WithWebhookClock(now func() time.Time) WebhooksOption {
	return func(w *Webhooks) { w.now = now }
}

// NewWebhooks returns the webhook service on db.
func NewWebhooks(db *DB, opts ...WebhooksOption) *Webhooks {
	w := &Webhooks{db: db, now: time.Now}
	for _, o := range opts {
		o(w)
	}
	return w
}

const webhookColumns = `id, url, events, enabled, created_at, updated_at, secret`

func scanWebhook(r pgx.Row) (*Webhook, error) {
	w := &Webhook{}
	var events []string
	err := r.Scan(&w.ID, &w.URL, &events, &w.Enabled, &w.CreatedAt, &w.UpdatedAt, &w.Secret)
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	w.Events = make([]EventType, len(events))
	for i, e := range events {
		w.Events[i] = EventType(e)
	}
	return w, err
}

func eventStrings(es []EventType) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e)
	}
	return out
}

// CreateWebhook creates a webhook; its secret (made when in has none) is
// in the returned webhook, to be shown once.
func (s *Webhooks) CreateWebhook(ctx context.Context, in WebhookInput) (*Webhook, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.Secret == "" {
		in.Secret = NewWebhookSecret()
	}
	now := s.now().UTC()
	w, err := scanWebhook(s.db.Pool.QueryRow(ctx, `INSERT INTO webhooks (url, events, secret, enabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) RETURNING `+webhookColumns, in.URL, eventStrings(in.Events), in.Secret, in.Enabled, now))
	if err != nil {
		return nil, fmt.Errorf("models: create webhook: %w", err)
	}
	return w, nil
}

// UpdateWebhook changes a webhook's URL, events and enabled flag, and its
// secret when in has one.
func (s *Webhooks) UpdateWebhook(ctx context.Context, id ID, in WebhookInput) (*Webhook, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	w, err := scanWebhook(s.db.Pool.QueryRow(ctx, `UPDATE webhooks SET url = $2, events = $3, enabled = $4,
		secret = CASE WHEN $5 = '' THEN secret ELSE $5 END, updated_at = $6 WHERE id = $1 RETURNING `+webhookColumns,
		id, in.URL, eventStrings(in.Events), in.Enabled, in.Secret, s.now().UTC()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("webhook %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("models: update webhook %s: %w", id, err)
	}
	return w, nil
}

// RotateSecret gives the webhook a new secret and returns the webhook
// with it, to be shown once. Deliveries sent from now on are signed with it.
func (s *Webhooks) RotateSecret(ctx context.Context, id ID) (*Webhook, error) {
	w, err := scanWebhook(s.db.Pool.QueryRow(ctx, `UPDATE webhooks SET secret = $2, updated_at = $3 WHERE id = $1 RETURNING `+webhookColumns,
		id, NewWebhookSecret(), s.now().UTC()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("webhook %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("models: rotate secret of webhook %s: %w", id, err)
	}
	return w, nil
}

// DeleteWebhook deletes a webhook and its delivery log; deliveries under
// way are not sent again.
func (s *Webhooks) DeleteWebhook(ctx context.Context, id ID) (*Webhook, error) {
	w, err := scanWebhook(s.db.Pool.QueryRow(ctx, `DELETE FROM webhooks WHERE id = $1 RETURNING `+webhookColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("webhook %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("models: delete webhook %s: %w", id, err)
	}
	return w, nil
}

// GetWebhook reads webhook id.
func (s *Webhooks) GetWebhook(ctx context.Context, id ID) (*Webhook, error) {
	w, err := scanWebhook(s.db.Pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("webhook %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("models: webhook %s: %w", id, err)
	}
	return w, nil
}

// ListWebhooks returns page p of the webhooks, oldest first.
func (s *Webhooks) ListWebhooks(ctx context.Context, p Page) (List[Webhook], error) {
	var total int64
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM webhooks`).Scan(&total); err != nil {
		return List[Webhook]{}, fmt.Errorf("models: count webhooks: %w", err)
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks ORDER BY id LIMIT $1 OFFSET $2`, p.Size, p.Offset())
	if err != nil {
		return List[Webhook]{}, fmt.Errorf("models: list webhooks: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) {
		w, err := scanWebhook(r)
		return *w, err
	})
	if err != nil {
		return List[Webhook]{}, fmt.Errorf("models: list webhooks: %w", err)
	}
	return NewList(items, total, p), nil
}
