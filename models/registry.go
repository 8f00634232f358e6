package models

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultOfflineAfter is how long after its last message a device still
// counts as online.
const DefaultOfflineAfter = 5 * time.Minute

// MaxDevicesPerCall bounds one bulk registration or group addition.
const MaxDevicesPerCall = 10_000

// Registry is the service for products, devices and groups, and the read
// side of a device's message log. Its queries go through pgx: the dynamic
// group queries compile to $n placeholders and bulk writes are one
// statement over arrays.
type Registry struct {
	db           *DB
	offlineAfter time.Duration
	// connectionState: Online is the embedded broker's connection state
	// (WithConnectionState), not the silence rule.
	connectionState bool
	logDailyBytes   int64
	secretKey       cipher.AEAD // seals device secrets; nil without WithDeviceSecretKey
	now             func() time.Time
}

// RegistryOption configures a Registry.
type RegistryOption func(*Registry)

// WithLogDailyBytes is each device's daily message log budget, as the
// registry reports it (LogUsage.BudgetBytes); DefaultLogDailyBytes unless
// given.
func WithLogDailyBytes(n int64) RegistryOption {
	return func(r *Registry) { r.logDailyBytes = n }
}

// WithOfflineAfter is how long after its last message a device is still
// online; DefaultOfflineAfter unless given, and a zero or negative d is
// ignored.
func WithOfflineAfter(d time.Duration) RegistryOption {
	return func(r *Registry) {
		if d > 0 {
			r.offlineAfter = d
		}
	}
}

// NewRegistry returns the registry service on db.
func NewRegistry(db *DB, opts ...RegistryOption) *Registry {
	r := &Registry{db: db, offlineAfter: DefaultOfflineAfter, logDailyBytes: DefaultLogDailyBytes, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

// OfflineAfter is how long after its last message a device is still online.
func (r *Registry) OfflineAfter() time.Duration { return r.offlineAfter }

var (
	productKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	deviceNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:@-]+$`)
)

// checkProductKey validates a product key: 1..64 of [A-Za-z0-9_-].
func checkProductKey(field, s string) error {
	return checkIdent(field, s, productKeyRE, "letters, digits, _ and -")
}

// checkDeviceName validates a device name: 1..64 of [A-Za-z0-9_.:@-].
func checkDeviceName(field, s string) error {
	return checkIdent(field, s, deviceNameRE, "letters, digits and _ . : @ -")
}

func checkIdent(field, s string, re *regexp.Regexp, allowed string) error {
	switch {
	case s == "":
		return Invalid(field, "is required")
	case len(s) > 64:
		return Invalid(field, "is %d characters long; the limit is 64", utf8.RuneCountInString(s))
	case !re.MatchString(s):
		return Invalid(field, "%q has a character that is not allowed; use %s", s, allowed)
	}
	return nil
}

// checkText validates free text: min..max characters that PostgreSQL can
// store (checkStorable).
func checkText(field, s string, min, max int) error {
	n := utf8.RuneCountInString(s)
	switch {
	case n < min && min == 1:
		return Invalid(field, "is required")
	case n < min:
		return Invalid(field, "is %d characters long; the minimum is %d", n, min)
	case n > max:
		return Invalid(field, "is %d characters long; the limit is %d", n, max)
	}
	return checkStorable(field, s)
}

// conflictOn is a 409 error on field.
func conflictOn(field, format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Field: field, Message: fmt.Sprintf(format, args...)}
}

// pgCode is the SQLSTATE of a PostgreSQL error, "" for other errors.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// utc returns t in UTC (pgx reads timestamptz in the local zone).
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// pageOf fills a zero or out-of-range page request with the API defaults.
func pageOf(p Page) Page {
	if p.Number < 1 {
		p.Number = 1
	}
	if p.Size < 1 {
		p.Size = 20
	}
	if p.Size > 200 {
		p.Size = 200
	}
	return p
}
