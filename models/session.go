package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"
)

// Session is a signed-in user's session.
type Session struct {
	User      User
	CreatedAt time.Time
	ExpiresAt time.Time // the absolute end
}

// ErrBadLogin is the one answer to a wrong address or password: it does
// not tell which was wrong.
var ErrBadLogin = Unauthenticated("the email or password is wrong")

// dummyHash is compared when the address is unknown, so that the answer
// takes as long as for a known address.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("fleettasks-no-such-user"), bcrypt.DefaultCost)

// newSecret returns a random URL-safe secret with prefix and its SHA-256.
func newSecret(prefix string) (string, []byte) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	s := prefix + base64.RawURLEncoding.EncodeToString(buf)
	return s, secretHash(s)
}

func secretHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Login checks email and password and opens a session. Failed attempts
// are counted per account and per source address ip; over the limit the
// answer is a 429 that says when to try again, whatever the password.
func (a *Accounts) Login(ctx context.Context, email, password, ip string) (token string, u *User, err error) {
	email, err = NormalizeEmail("email", email)
	if err != nil {
		return "", nil, err
	}
	now := a.now().UTC()
	if err := a.reserveAttempt(ctx, now, email, ip); err != nil {
		return "", nil, err
	}
	var hash string
	u, err = scanUserHash(a.db.Pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = $1`, email), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return "", nil, ErrBadLogin
	} else if err != nil {
		return "", nil, fmt.Errorf("models: login: %w", err)
	}
	// a disabled account gets the answer of a wrong password, whichever
	// was sent: a different one would tell a guesser the password was right
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || u.Disabled {
		return "", nil, ErrBadLogin
	}
	// signed in: the account's failures are forgiven, and this attempt
	// does not count against the address
	token, h := newSecret("")
	_, err = a.db.Pool.Exec(ctx, `WITH gone AS (DELETE FROM sessions WHERE expires_at < $2 OR last_active < $6),
		ok AS (DELETE FROM login_failures WHERE subject = $5),
		mine AS (DELETE FROM login_failures WHERE ctid = (SELECT ctid FROM login_failures WHERE subject = $8 AND at = $2 LIMIT 1))
		INSERT INTO sessions (token_hash, user_id, created_at, last_active, expires_at, ip) VALUES ($1, $3, $2, $2, $4, $7)`,
		h, now, u.ID, now.Add(a.maxAge), "email:"+email, now.Add(-a.idleTimeout), ip, "ip:"+ip)
	if err != nil {
		return "", nil, fmt.Errorf("models: open session: %w", err)
	}
	return token, u, nil
}

func scanUserHash[T any](row pgx.Row, extra *T) (*User, error) {
	var u User
	if err := row.Scan(&u.ID, &u.Email, &u.Role, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, extra); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// reserveAttempt counts a sign-in attempt against the account and the
// source address before its password is checked, or refuses it (429) when
// either has reached its limit of failures within the window. Check and
// count are one step per subject (a transaction holding an advisory lock
// on each subject, always taken in the same order), so parallel attempts
// cannot all pass the check before any is counted: at most the limit get
// their password checked. A successful sign-in takes its count back.
func (a *Accounts) reserveAttempt(ctx context.Context, now time.Time, email, ip string) error {
	subjects := []struct {
		key   string
		limit int
		who   string
	}{{"email:" + email, a.Throttle.PerAccount, "this account"}, {"ip:" + ip, a.Throttle.PerIP, "your address"}}
	err := pgx.BeginFunc(ctx, a.db.Pool, func(tx pgx.Tx) error {
		for _, sub := range subjects {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, sub.key); err != nil {
				return err
			}
		}
		for _, sub := range subjects {
			var n int
			var oldest *time.Time
			if err := tx.QueryRow(ctx, `SELECT count(*), min(at) FROM login_failures WHERE subject = $1 AND at > $2`,
				sub.key, now.Add(-a.Throttle.Window)).Scan(&n, &oldest); err != nil {
				return err
			}
			if n >= sub.limit && oldest != nil {
				wait := int(math.Ceil(oldest.Add(a.Throttle.Window).Sub(now).Minutes()))
				return &Error{Kind: KindTooMany, Message: fmt.Sprintf("too many failed sign-ins for %s; try again in %d minute%s", sub.who, wait, plural(wait))}
			}
		}
		_, err := tx.Exec(ctx, `WITH old AS (DELETE FROM login_failures WHERE at < $1)
			INSERT INTO login_failures (subject, at) VALUES ($2, $3), ($4, $3)`,
			now.Add(-a.Throttle.Window), subjects[0].key, now, subjects[1].key)
		return err
	})
	if _, ok := AsError(err); ok || err == nil {
		return err
	}
	return fmt.Errorf("models: login throttle: %w", err)
}

// Session returns the live session of token. An expired session (idle or
// absolute) or one of a disabled user is deleted and answered 401. Use
// refreshes the idle clock at most once a minute.
func (a *Accounts) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, Unauthenticated("sign in first")
	}
	h := secretHash(token)
	var s Session
	var last time.Time
	err := a.db.Pool.QueryRow(ctx, `SELECT s.created_at, s.last_active, s.expires_at,
		u.id, u.email, u.role, u.disabled, u.created_at, u.updated_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, h).
		Scan(&s.CreatedAt, &last, &s.ExpiresAt, &s.User.ID, &s.User.Email, &s.User.Role, &s.User.Disabled, &s.User.CreatedAt, &s.User.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Unauthenticated("your session has ended; sign in again")
	} else if err != nil {
		return nil, fmt.Errorf("models: session: %w", err)
	}
	now := a.now().UTC()
	if !now.Before(s.ExpiresAt) || !now.Before(last.Add(a.idleTimeout)) || s.User.Disabled {
		if _, err := a.db.Pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, h); err != nil {
			return nil, fmt.Errorf("models: end session: %w", err)
		}
		return nil, Unauthenticated("your session has expired; sign in again")
	}
	if now.Sub(last) > time.Minute {
		if _, err := a.db.Pool.Exec(ctx, `UPDATE sessions SET last_active = $2 WHERE token_hash = $1`, h, now); err != nil {
			return nil, fmt.Errorf("models: touch session: %w", err)
		}
	}
	return &s, nil
}

// Logout ends the session of token.
func (a *Accounts) Logout(ctx context.Context, token string) error {
	if _, err := a.db.Pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, secretHash(token)); err != nil {
		return fmt.Errorf("models: logout: %w", err)
	}
	return nil
}
