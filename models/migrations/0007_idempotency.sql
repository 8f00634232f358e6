-- The first response of each API request (and console create) sent with an
-- Idempotency-Key, per user, replayed to a repeat within 24 hours. A row
-- with no status is a request still running under its claim until
-- lease_until; fingerprint is the SHA-256 of the method, URL and body (of
-- a streamed body, set once it has been read).
CREATE TABLE idempotency_keys (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL,
    method       text NOT NULL,
    url          text NOT NULL,
    fingerprint  bytea,
    claim        uuid NOT NULL,
    lease_until  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    status       int,
    headers      jsonb,
    body         bytea,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
