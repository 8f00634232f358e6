package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one state-changing action: who (and in which role), what,
// on which target, when, from where, and the edited fields before and
// after.
type AuditEntry struct {
	ID        ID                `json:"id"`
	At        time.Time         `json:"at"`
	UserID    *ID               `json:"userId"`
	Email     string            `json:"email"`
	Role      string            `json:"role"`
	Action    string            `json:"action"` // "task.create", "user.update", "auth.login" ...
	Target    string            `json:"target"` // "task:42", "device:pk/dn" ...
	SourceIP  string            `json:"sourceIp"`
	RequestID string            `json:"requestId"`
	Changes   map[string]Change `json:"changes,omitempty"`
}

// Change is one edited field's value before and after.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// Audit is the audit log.
type Audit struct{ db *DB }

// NewAudit returns the audit log on db.
func NewAudit(db *DB) *Audit { return &Audit{db: db} }

// Record writes e; its time is now.
func (a *Audit) Record(ctx context.Context, e AuditEntry) error {
	var changes []byte
	if len(e.Changes) > 0 {
		var err error
		if changes, err = json.Marshal(e.Changes); err != nil {
			return fmt.Errorf("models: audit changes: %w", err)
		}
	}
	_, err := a.db.Pool.Exec(ctx, `INSERT INTO audit_log (user_id, email, role, action, target, source_ip, request_id, changes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, e.UserID, e.Email, e.Role, e.Action, e.Target, e.SourceIP, e.RequestID, changes)
	if err != nil {
		return fmt.Errorf("models: record audit %s %s: %w", e.Action, e.Target, err)
	}
	return nil
}

// AuditFilter narrows the audit log: User matches the email (part of it),
// Action is a name or a prefix ending in "." ("task."), Target a prefix
// ("task:42", "device:"), From/To bound the time.
type AuditFilter struct {
	User   string
	Action string
	Target string
	From   *time.Time
	To     *time.Time
}

// Changed fills e.Changes with the fields whose values differ; pairs is
// name, before, after, ...
func Changed(pairs ...any) map[string]Change {
	out := map[string]Change{}
	for i := 0; i+2 < len(pairs); i += 3 {
		name, _ := pairs[i].(string)
		if fmt.Sprint(pairs[i+1]) != fmt.Sprint(pairs[i+2]) {
			out[name] = Change{Before: pairs[i+1], After: pairs[i+2]}
		}
	}
	return out
}

// ListAudit returns a page of entries, newest first.
func (a *Audit) ListAudit(ctx context.Context, f AuditFilter, p Page) (List[AuditEntry], error) {
	if err := checkAllStorable("user", f.User, "action", f.Action, "target", f.Target); err != nil {
		return List[AuditEntry]{}, err
	}
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		return List[AuditEntry]{}, Invalid("to", "must be after From")
	}
	where, args := []string{"true"}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.User != "" {
		where = append(where, "email LIKE "+arg("%"+strings.TrimSuffix(likePrefix(strings.ToLower(f.User)), "%")+"%"))
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			where = append(where, "action LIKE "+arg(likePrefix(f.Action)))
		} else {
			where = append(where, "action = "+arg(f.Action))
		}
	}
	if f.Target != "" {
		where = append(where, "target LIKE "+arg(likePrefix(f.Target)))
	}
	if f.From != nil {
		where = append(where, "at >= "+arg(*f.From))
	}
	if f.To != nil {
		where = append(where, "at < "+arg(*f.To))
	}
	cond := strings.Join(where, " AND ")
	out := List[AuditEntry]{Items: []AuditEntry{}, Page: p.Number, PageSize: p.Size}
	if err := a.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE `+cond, args...).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("models: count audit: %w", err)
	}
	rows, err := a.db.Pool.Query(ctx, `SELECT id, at, user_id, email, role, action, target, source_ip, request_id, changes
		FROM audit_log WHERE `+cond+` ORDER BY at DESC, id DESC LIMIT `+arg(p.Size)+` OFFSET `+arg(p.Offset()), args...)
	if err != nil {
		return out, fmt.Errorf("models: list audit: %w", err)
	}
	out.Items, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var changes []byte
		err := row.Scan(&e.ID, &e.At, &e.UserID, &e.Email, &e.Role, &e.Action, &e.Target, &e.SourceIP, &e.RequestID, &changes)
		e.At = e.At.UTC()
		if err == nil && changes != nil {
			err = json.Unmarshal(changes, &e.Changes)
		}
		return e, err
	})
	return out, err
}
