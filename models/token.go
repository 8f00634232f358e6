package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Token is an API token of a user; the secret is shown once, at creation,
// and only its SHA-256 is stored.
type Token struct {
	ID         ID         `json:"id"`
	UserID     ID         `json:"userId"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the first characters, to recognise it
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
}

// TokenPrefix starts every API token (so that secret scanners find them).
const TokenPrefix = "ftk_"

const tokenColumns = `t.id, t.user_id, u.email, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at`

func scanToken(row pgx.Row) (*Token, error) {
	var t Token
	if err := row.Scan(&t.ID, &t.UserID, &t.Email, &t.Name, &t.Prefix, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// CreateToken makes a token for user and returns its secret, once.
func (a *Accounts) CreateToken(ctx context.Context, user ID, name string) (string, *Token, error) {
	name = strings.TrimSpace(name)
	if len([]rune(name)) > 128 {
		return "", nil, Invalid("name", "must be at most 128 characters")
	}
	if err := checkStorable("name", name); err != nil {
		return "", nil, err
	}
	u, err := a.GetUser(ctx, user)
	if err != nil {
		return "", nil, err
	}
	if u.Disabled {
		return "", nil, Conflict("%s is disabled; enable the user first", u.Email)
	}
	secret, h := newSecret(TokenPrefix)
	t, err := scanToken(a.db.Pool.QueryRow(ctx, `WITH t AS (INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING *)
		SELECT `+tokenColumns+` FROM t JOIN users u ON u.id = t.user_id`, user, name, h, secret[:12], a.now().UTC()))
	if err != nil {
		return "", nil, fmt.Errorf("models: create token: %w", err)
	}
	return secret, t, nil
}

// ListTokens lists the tokens of user (all users' when user is 0), newest first.
func (a *Accounts) ListTokens(ctx context.Context, user ID) ([]Token, error) {
	rows, err := a.db.Pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE $1 = 0 OR t.user_id = $1 ORDER BY t.id DESC`, user)
	if err != nil {
		return nil, fmt.Errorf("models: list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// RevokeToken revokes token id at once; revoking twice is a conflict.
func (a *Accounts) RevokeToken(ctx context.Context, id ID) (*Token, error) {
	t, err := scanToken(a.db.Pool.QueryRow(ctx, `WITH t AS (UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *)
		SELECT `+tokenColumns+` FROM t JOIN users u ON u.id = t.user_id`, id, a.now().UTC()))
	if errors.Is(err, pgx.ErrNoRows) {
		var revoked bool
		if err := a.db.Pool.QueryRow(ctx, `SELECT true FROM api_tokens WHERE id = $1`, id).Scan(&revoked); errors.Is(err, pgx.ErrNoRows) {
			return nil, NotFound("token %s not found", id)
		}
		return nil, Conflict("token %s is already revoked", id)
	}
	if err != nil {
		return nil, fmt.Errorf("models: revoke token %s: %w", id, err)
	}
	return t, nil
}

// TokenUser returns the user of an API token. A token that is unknown,
// revoked or of a disabled user is answered 401.
func (a *Accounts) TokenUser(ctx context.Context, secret string) (*User, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return nil, Unauthenticated("send an API token: Authorization: Bearer %s...", TokenPrefix)
	}
	h := secretHash(secret)
	var last *time.Time
	u, err := scanUserHash(a.db.Pool.QueryRow(ctx, `SELECT u.id, u.email, u.role, u.disabled, u.created_at, u.updated_at, t.last_used_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, h), &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Unauthenticated("the API token is not valid (unknown or revoked)")
	} else if err != nil {
		return nil, fmt.Errorf("models: token: %w", err)
	}
	if u.Disabled {
		return nil, Unauthenticated("the API token's user is disabled")
	}
	if now := a.now().UTC(); last == nil || now.Sub(*last) > time.Minute {
		if _, err := a.db.Pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1`, h, now); err != nil {
			return nil, fmt.Errorf("models: touch token: %w", err)
		}
	}
	return u, nil
}
