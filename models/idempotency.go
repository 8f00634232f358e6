package models

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// IdempotencyTTL is how long the first response to an Idempotency-Key is
// kept and replayed.
const IdempotencyTTL = 24 * time.Hour

// DefaultIdempotencyLease is how long a request holds its key while it
// runs; a request whose process died frees its key after it.
const DefaultIdempotencyLease = 2 * time.Minute

// IdempotentRequest is a request sent with an Idempotency-Key.
type IdempotentRequest struct {
	User        ID
	Key         string
	Method, URL string
	// Fingerprint is the SHA-256 of the method, URL and body; nil for a
	// streamed body, which is fingerprinted once it has been read.
	Fingerprint []byte
}

// IdempotentRecord is what a key holds: the request that first used it
// and, once it has finished, its response.
type IdempotentRecord struct {
	Method, URL string
	Fingerprint []byte // nil while a streamed body is being read
	Done        bool
	Status      int
	Header      map[string]string // the response headers a replay repeats
	Body        []byte
}

// Matches reports whether fingerprint is that of the key's first request.
func (r *IdempotentRecord) Matches(fingerprint []byte) bool {
	return bytes.Equal(r.Fingerprint, fingerprint)
}

// Idempotency stores the keys.
type Idempotency struct {
	db    *DB
	lease time.Duration
}

// NewIdempotency returns the key store on db; lease is how long a claim
// lasts (DefaultIdempotencyLease when zero).
func NewIdempotency(db *DB, lease time.Duration) *Idempotency {
	if lease <= 0 {
		lease = DefaultIdempotencyLease
	}
	return &Idempotency{db: db, lease: lease}
}

// Claim takes r's key for the caller, who then runs the request and ends
// with Finish or Release under the returned claim. A key that is taken
// (its request finished, or still running under a live lease) is not
// claimed: its record is returned instead. A key older than
// IdempotencyTTL, or whose request's lease ran out before it finished, is
// claimed afresh.
func (s *Idempotency) Claim(ctx context.Context, r IdempotentRequest) (claim string, rec *IdempotentRecord, err error) {
	err = s.db.Pool.QueryRow(ctx, `INSERT INTO idempotency_keys AS k
			(user_id, key, method, url, fingerprint, claim, lease_until, created_at)
		VALUES ($1, $2, $3, $4, $5, gen_random_uuid(), now() + make_interval(secs => $6), now())
		ON CONFLICT (user_id, key) DO UPDATE SET method = EXCLUDED.method, url = EXCLUDED.url,
			fingerprint = EXCLUDED.fingerprint, claim = EXCLUDED.claim, lease_until = EXCLUDED.lease_until,
			created_at = EXCLUDED.created_at, status = NULL, headers = NULL, body = NULL
		WHERE k.created_at < now() - make_interval(secs => $7) OR (k.status IS NULL AND k.lease_until < now())
		RETURNING claim::text`,
		r.User, r.Key, r.Method, r.URL, r.Fingerprint, s.lease.Seconds(), IdempotencyTTL.Seconds()).Scan(&claim)
	if err == nil {
		return claim, nil, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fmt.Errorf("models: claim idempotency key: %w", err)
	}
	rec = &IdempotentRecord{}
	var status *int
	err = s.db.Pool.QueryRow(ctx, `SELECT method, url, fingerprint, status, coalesce(headers, '{}'), coalesce(body, '')
		FROM idempotency_keys WHERE user_id = $1 AND key = $2`, r.User, r.Key).
		Scan(&rec.Method, &rec.URL, &rec.Fingerprint, &status, &rec.Header, &rec.Body)
	if errors.Is(err, pgx.ErrNoRows) { // released in between: try again
		return s.Claim(ctx, r)
	}
	if err != nil {
		return "", nil, fmt.Errorf("models: read idempotency key: %w", err)
	}
	if status != nil {
		rec.Done, rec.Status = true, *status
	}
	return "", rec, nil
}

// Finish stores the response of the request holding claim, and the
// fingerprint of a streamed body. It reports false when the claim was lost
// (the lease ran out and another request took the key).
func (s *Idempotency) Finish(ctx context.Context, r IdempotentRequest, claim string, status int, header map[string]string, body []byte) (bool, error) {
	tag, err := s.db.Pool.Exec(ctx, `UPDATE idempotency_keys
		SET status = $4, headers = $5, body = $6, fingerprint = coalesce(fingerprint, $7)
		WHERE user_id = $1 AND key = $2 AND claim = $3 AND status IS NULL`,
		r.User, r.Key, claim, status, header, body, r.Fingerprint)
	if err != nil {
		return false, fmt.Errorf("models: finish idempotency key: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Release frees the key of a request that left no response to replay (it
// failed on the server's side), so that a retry runs it again.
func (s *Idempotency) Release(ctx context.Context, r IdempotentRequest, claim string) error {
	_, err := s.db.Pool.Exec(ctx, `DELETE FROM idempotency_keys
		WHERE user_id = $1 AND key = $2 AND claim = $3 AND status IS NULL`, r.User, r.Key, claim)
	if err != nil {
		return fmt.Errorf("models: release idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotencyKeys deletes the keys older than IdempotencyTTL.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`,
		IdempotencyTTL.Seconds())
	if err != nil {
		return 0, fmt.Errorf("models: purge idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}
