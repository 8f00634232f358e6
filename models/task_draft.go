package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// DraftTTL is how long a create form's draft is kept after its last change.
const DraftTTL = 7 * 24 * time.Hour

// Draft is the console's create form kept on the server: its values by
// form name and the step shown, per user.
type Draft struct {
	ID          string
	User        ID
	Step        int
	Form        map[string]string
	TaskID      *ID // the task it created, once completed (nil if deleted since)
	TaskName    string
	CompletedAt *time.Time
}

// Completed reports whether the draft created its task.
func (d *Draft) Completed() bool { return d.CompletedAt != nil }

// DraftRef names the draft a create request completes: CreateTask marks it
// completed in the transaction that creates the task, and refuses (409)
// when it already is.
type DraftRef struct {
	ID   string
	User ID
}

// NewDraft stores a new draft of user with form at step 1, and drops the
// expired ones.
func (t *Tasks) NewDraft(ctx context.Context, user ID, form map[string]string) (*Draft, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	d := &Draft{ID: hex.EncodeToString(b), User: user, Step: 1, Form: form}
	now := t.now()
	if _, err := t.db.Pool.Exec(ctx, `DELETE FROM task_drafts WHERE expires_at < $1`, now); err != nil {
		return nil, err
	}
	_, err := t.db.Pool.Exec(ctx, `INSERT INTO task_drafts (id, user_id, step, form, created_at, expires_at)
		VALUES ($1, $2, 1, $3, $4, $5)`, d.ID, user, form, now, now.Add(DraftTTL))
	if err != nil {
		return nil, err
	}
	return d, nil
}

// GetDraft returns user's draft id; not found when it is another user's,
// expired or never was.
func (t *Tasks) GetDraft(ctx context.Context, user ID, id string) (*Draft, error) {
	d := &Draft{ID: id, User: user}
	err := t.db.Pool.QueryRow(ctx, `SELECT step, form, task_id, coalesce(task_name, ''), completed_at FROM task_drafts
		WHERE id = $1 AND user_id = $2 AND expires_at >= $3`, id, user, t.now()).
		Scan(&d.Step, &d.Form, &d.TaskID, &d.TaskName, &d.CompletedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("no draft %s", id)
	}
	return d, err
}

// SaveDraft keeps form at step (0: the step it has) as user's draft id,
// unless it is completed (it then stays as it was); it reports whether it
// saved.
func (t *Tasks) SaveDraft(ctx context.Context, user ID, id string, step int, form map[string]string) (bool, error) {
	tag, err := t.db.Pool.Exec(ctx, `UPDATE task_drafts SET step = CASE WHEN $3 = 0 THEN step ELSE $3 END, form = $4, expires_at = $5
		WHERE id = $1 AND user_id = $2 AND completed_at IS NULL`, id, user, step, form, t.now().Add(DraftTTL))
	return tag.RowsAffected() == 1, err
}

// completeDraft marks draft d completed by task id, within the task's
// transaction: a draft completed already refuses the second task.
func completeDraft(ctx context.Context, tx pgx.Tx, d *DraftRef, id ID, name string, now time.Time) error {
	tag, err := tx.Exec(ctx, `UPDATE task_drafts SET task_id = $3, task_name = $4, completed_at = $5
		WHERE id = $1 AND user_id = $2 AND completed_at IS NULL`, d.ID, d.User, id, name, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return Conflict("this form has already created its task (or has expired); open a new form to create another")
	}
	return nil
}
