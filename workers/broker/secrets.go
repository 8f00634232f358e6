package broker

import (
	"context"
	"sync/atomic"

	"fleettasks/models"
)

// BatchSecrets finds the secrets of several devices in one look-up
// (models.Registry.DeviceSecrets).
type BatchSecrets interface {
	DeviceSecrets(ctx context.Context, refs []models.DeviceRef) (map[models.DeviceRef]models.SecretLookup, error)
}

const (
	// secretLookups is how many batch look-ups run at once.
	secretLookups = 4
	// maxSecretBatch bounds one look-up.
	maxSecretBatch = 500
)

// batcher is a signin.SecretSource that gathers the sign-ins waiting for
// a secret into one query: a storm of reconnects (a broker restart, a
// network back) costs a few hundred queries, not one per device. Nothing
// waits to fill a batch: a look-up takes whatever is queued when it
// starts, so a lone sign-in is looked up at once and the rest gather
// while a query runs.
type batcher struct {
	src     BatchSecrets
	reqs    chan secretRequest
	done    chan struct{}
	batches atomic.Int64 // look-ups made, for tests
}

type secretRequest struct {
	ref   models.DeviceRef
	reply chan models.SecretLookup
}

func newBatcher(src BatchSecrets) *batcher {
	b := &batcher{src: src, reqs: make(chan secretRequest), done: make(chan struct{})}
	for range secretLookups {
		go b.run()
	}
	return b
}

// DeviceSecret queues a look-up and waits for its answer, or for ctx.
func (b *batcher) DeviceSecret(ctx context.Context, pk, dn string) (string, error) {
	req := secretRequest{ref: models.DeviceRef{ProductKey: pk, DeviceName: dn}, reply: make(chan models.SecretLookup, 1)}
	select {
	case b.reqs <- req:
	case <-ctx.Done():
		return "", ctx.Err()
	case <-b.done:
		return "", context.Canceled
	}
	select {
	case a := <-req.reply:
		return a.Secret, a.Err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (b *batcher) run() {
	for {
		var first secretRequest
		select {
		case first = <-b.reqs:
		case <-b.done:
			return
		}
		batch := []secretRequest{first}
	gather:
		for len(batch) < maxSecretBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		b.lookUp(batch)
	}
}

// lookUp answers batch from one query; a failed query answers each with
// its error (the sign-in is then undecided, not refused).
func (b *batcher) lookUp(batch []secretRequest) {
	b.batches.Add(1)
	refs := make([]models.DeviceRef, len(batch))
	for i, r := range batch {
		refs[i] = r.ref
	}
	ctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
	defer cancel()
	found, err := b.src.DeviceSecrets(ctx, refs)
	for _, r := range batch {
		if err != nil {
			r.reply <- models.SecretLookup{Err: err}
			continue
		}
		r.reply <- found[r.ref]
	}
}

func (b *batcher) close() { close(b.done) }
