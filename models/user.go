package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"
)

// User is a console user. The password hash never leaves this package.
type User struct {
	ID        ID        `json:"id"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Password rules: bcrypt reads at most 72 bytes.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 72
)

// Accounts is the service of users, sessions and API tokens.
type Accounts struct {
	db   *DB
	now  func() time.Time
	cost int
	// idleTimeout ends a session not used for that long; maxAge ends it
	// that long after sign-in whatever its use.
	idleTimeout time.Duration
	maxAge      time.Duration
	// Throttle limits failed sign-ins per account and per source address.
	Throttle Throttle
}

// Throttle: more than PerAccount (PerIP) failed sign-ins within Window
// refuse further attempts for that account (address) until the oldest of
// them is Window old.
type Throttle struct {
	Window     time.Duration
	PerAccount int
	PerIP      int
}

// AccountsOption configures an Accounts.
type AccountsOption func(*Accounts)

// WithAccountClock replaces time.Now as the accounts service's clock
// (tests of expiry).
func WithAccountClock(now func() time.Time) AccountsOption {
	return func(a *Accounts) { a.now = now }
}

// WithPasswordCost is the bcrypt cost of new hashes; bcrypt.DefaultCost
// unless given (tests use the minimum).
func WithPasswordCost(n int) AccountsOption {
	return func(a *Accounts) { a.cost = n }
}

// WithSessionLifetimes ends a session unused for idle, and max after
// sign-in whatever its use.
func WithSessionLifetimes(idle, max time.Duration) AccountsOption {
	return func(a *Accounts) { a.idleTimeout, a.maxAge = idle, max }
}

// NewAccounts returns the service with the default session lifetimes
// (30 minutes idle, 12 hours in all) and throttle (5 failures per account,
// 20 per address, in 15 minutes).
func NewAccounts(db *DB, opts ...AccountsOption) *Accounts {
	a := &Accounts{db: db, now: time.Now, cost: bcrypt.DefaultCost,
		idleTimeout: 30 * time.Minute, maxAge: 12 * time.Hour,
		Throttle: Throttle{Window: 15 * time.Minute, PerAccount: 5, PerIP: 20}}
	for _, o := range opts {
		o(a)
	}
	return a
}

// MaxAge is how long after sign-in a session ends whatever its use.
func (a *Accounts) MaxAge() time.Duration { return a.maxAge }

// UserInput is a new user.
type UserInput struct {
	Email    string `json:"email"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// NormalizeEmail checks an address and returns it in lower case.
func NormalizeEmail(field, s string) (string, error) {
	// before ToLower, which would quietly turn bytes that are not UTF-8
	// into U+FFFD
	if err := checkStorable(field, s); err != nil {
		return "", err
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", Invalid(field, "is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", Invalid(field, "%q is not an email address", s)
	}
	return s, nil
}

func (a *Accounts) hash(field, password string) ([]byte, error) {
	if n := len([]rune(password)); n < MinPasswordLen {
		return nil, Invalid(field, "must be at least %d characters (it has %d)", MinPasswordLen, n)
	}
	if len(password) > MaxPasswordLen {
		return nil, Invalid(field, "must be at most %d bytes", MaxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), a.cost)
	if err != nil {
		return nil, fmt.Errorf("models: hash password: %w", err)
	}
	return h, nil
}

const userColumns = `id, email, role, disabled, created_at, updated_at`

func scanUser(row pgx.Row) (*User, error) {
	var u User
	if err := row.Scan(&u.ID, &u.Email, &u.Role, &u.Disabled, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// CreateUser adds a user; the email must be new.
func (a *Accounts) CreateUser(ctx context.Context, in UserInput) (*User, error) {
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return nil, err
	}
	role, err := ParseRole("role", in.Role)
	if err != nil {
		return nil, err
	}
	h, err := a.hash("password", in.Password)
	if err != nil {
		return nil, err
	}
	u, err := scanUser(a.db.Pool.QueryRow(ctx, `INSERT INTO users (email, role, password_hash) VALUES ($1, $2, $3)
		ON CONFLICT (email) DO NOTHING RETURNING `+userColumns, email, role, string(h)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &Error{Kind: KindConflict, Field: "email", Message: fmt.Sprintf("a user %s already exists", email)}
	}
	if err != nil {
		return nil, fmt.Errorf("models: create user %s: %w", email, err)
	}
	return u, nil
}

// GetUser returns the user id.
func (a *Accounts) GetUser(ctx context.Context, id ID) (*User, error) {
	u, err := scanUser(a.db.Pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("user %s not found", id)
	}
	return u, err
}

// UserByEmail returns the user with that address.
func (a *Accounts) UserByEmail(ctx context.Context, email string) (*User, error) {
	if checkStorable("email", email) != nil { // no user has it, and PostgreSQL would refuse it
		return nil, NotFound("no user %q", email)
	}
	u, err := scanUser(a.db.Pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`,
		strings.ToLower(strings.TrimSpace(email))))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("no user %s", email)
	}
	return u, err
}

// ListUsers returns a page of users by email.
func (a *Accounts) ListUsers(ctx context.Context, p Page) (List[User], error) {
	out := List[User]{Items: []User{}, Page: p.Number, PageSize: p.Size}
	if err := a.db.Pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("models: count users: %w", err)
	}
	rows, err := a.db.Pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY email LIMIT $1 OFFSET $2`, p.Size, p.Offset())
	if err != nil {
		return out, fmt.Errorf("models: list users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, *u)
	}
	return out, rows.Err()
}

// UserPatch is a change of a user: any of role, disabled, password.
type UserPatch struct {
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
}

// UpdateUser applies p and returns the user before and after. A new
// password or disabling ends the user's sessions. The last enabled admin
// can be neither demoted nor disabled, so that someone can always manage
// the users.
func (a *Accounts) UpdateUser(ctx context.Context, id ID, p UserPatch) (before, after *User, err error) {
	err = pgx.BeginFunc(ctx, a.db.Pool, func(tx pgx.Tx) error {
		// admins are locked in id order, so that two concurrent demotions
		// cannot both see the other admin still there
		if _, err := tx.Exec(ctx, `SELECT id FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE`); err != nil {
			return err
		}
		before, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return NotFound("user %s not found", id)
		} else if err != nil {
			return err
		}
		role, disabled, hash := before.Role, before.Disabled, ""
		if p.Role != nil {
			if role, err = ParseRole("role", *p.Role); err != nil {
				return err
			}
		}
		if p.Disabled != nil {
			disabled = *p.Disabled
		}
		if p.Password != nil {
			h, err := a.hash("password", *p.Password)
			if err != nil {
				return err
			}
			hash = string(h)
		}
		if before.Role == RoleAdmin && !before.Disabled && (role != RoleAdmin || disabled) {
			var others int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> $1`, id).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return Conflict("%s is the last enabled admin; make another user admin first", before.Email)
			}
		}
		after, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET role = $2, disabled = $3,
			password_hash = CASE WHEN $4 = '' THEN password_hash ELSE $4 END, updated_at = $5
			WHERE id = $1 RETURNING `+userColumns, id, role, disabled, hash, a.now().UTC()))
		if err != nil {
			return err
		}
		if disabled || hash != "" {
			_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id)
		}
		return err
	})
	if err != nil {
		if _, ok := AsError(err); ok {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("models: update user %s: %w", id, err)
	}
	return before, after, nil
}
