package workers

import (
	"context"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/models"
	"fleettasks/protocol"
)

// handle runs one batch: identify, validate, deduplicate, apply, reply,
// acknowledge. A message is acknowledged only once it is handled, after
// its effect is committed. Messages that meet a transient fault of the
// database or Redis are held and tried again (with backoff) until they
// are handled; when the bridge is stopped first, they stay unacknowledged
// and the broker delivers them again. work bounds the handling, stop says
// the bridge is stopping.
func (b *Bridge) handle(work, stop context.Context, msgs []mqtt.Message) {
	batchSize.Observe(float64(len(msgs)))
	now := b.now()
	pending := b.requests(msgs, now)
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		pending = b.try(work, pending, now)
		if len(pending) == 0 {
			return
		}
		held.Add(float64(len(pending)))
		b.log.Warn("device messages held: the database or Redis is not available; trying again", "messages", len(pending), "in", delay)
		select {
		case <-stop.Done():
			return // unacknowledged: the broker keeps them
		case <-time.After(delay):
		}
	}
}

// requests reads the topics of a batch; messages on topics that are not
// the job topics of a registrable device are acknowledged and dropped.
func (b *Bridge) requests(msgs []mqtt.Message, now time.Time) []*request {
	reqs := make([]*request, 0, len(msgs))
	for _, m := range msgs {
		pk, dn, kind, ok := protocol.ParseTopic(m.Topic())
		ref := models.DeviceRef{ProductKey: pk, DeviceName: dn}
		if !ok || !ref.Registrable() {
			ingested.WithLabelValues("unknown", "bad_topic").Inc()
			m.Ack()
			continue
		}
		reqs = append(reqs, &request{msg: m, kind: kind, ref: ref, at: now})
	}
	return reqs
}

// try takes a batch's requests one step as far as it can and returns
// those held by a transient fault, in order.
func (b *Bridge) try(ctx context.Context, reqs []*request, now time.Time) []*request {
	for _, r := range reqs {
		r.held, r.twin = false, nil
	}
	b.identify(ctx, reqs, now)
	b.parse(reqs, now)
	b.replay(ctx, reqs)
	b.apply(ctx, reqs)
	sent := b.answer(ctx, reqs)
	var held, done []*request
	b.mu.Lock()
	for _, r := range reqs {
		if r.held {
			held = append(held, r)
			continue
		}
		done = append(done, r)
		if r.device != 0 {
			b.seen[r.device] = true
		}
	}
	b.mu.Unlock()
	b.acknowledge(done, sent)
	return held
}

// acknowledge acknowledges the handled requests once the broker has taken
// their replies, off the shard's path so that the next batch need not wait
// for the broker. A reply the broker did not confirm leaves its request
// unacknowledged: a QoS 1 request comes again and is answered from the
// kept reply. Run waits for these before it closes the connections.
func (b *Bridge) acknowledge(done []*request, sent map[*request]mqtt.Token) {
	b.acking.Add(1)
	go func() {
		defer b.acking.Done()
		deadline := time.Now().Add(replyWait)
		for _, r := range done {
			if tok := sent[r]; tok != nil && wait(tok, time.Until(deadline)) != nil {
				b.log.Warn("reply not confirmed by the broker; the request stays unacknowledged", "topic", r.msg.Topic())
				continue
			}
			r.msg.Ack()
		}
	}()
}

// live reports whether r still goes on in this try.
func (r *request) live() bool { return !r.held && !r.drop }
