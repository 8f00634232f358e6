package workers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"

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
	for _, r := range reqs {
		if r.held {
			held = append(held, r)
			continue
		}
		done = append(done, r)
		if r.device != 0 {
			b.mu.Lock()
			b.seen[r.device] = true
			b.mu.Unlock()
		}
	}
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

// identify maps each message to its device. Messages of unregistered
// devices are dropped (not answered); when the registry cannot be read,
// the messages of devices not in the cache are held, and nothing is
// remembered about those devices.
func (b *Bridge) identify(ctx context.Context, reqs []*request, now time.Time) {
	var missing []models.DeviceRef
	asked := map[models.DeviceRef]bool{}
	for _, r := range reqs {
		if r.device != 0 {
			continue
		}
		if id, ok := b.devices.get(r.ref, now); ok {
			r.device, r.drop = id, id == 0
		} else if !asked[r.ref] {
			asked[r.ref] = true
			missing = append(missing, r.ref)
		}
	}
	if len(missing) == 0 {
		return
	}
	found, err := b.db.LookupDevices(ctx, missing)
	if err != nil {
		b.log.Error("look up devices; their messages are held", "devices", len(missing), "err", err)
	} else {
		for _, ref := range missing {
			b.devices.put(ref, found[ref], now) // 0 when unregistered
		}
	}
	for _, r := range reqs {
		switch {
		case r.device != 0 || r.drop || !asked[r.ref]:
		case err != nil:
			r.held = true
		case found[r.ref] == 0:
			r.drop = true
			ingested.WithLabelValues(r.kind, "unregistered").Inc()
			b.log.Debug("message from an unregistered device", "topic", r.msg.Topic())
		default:
			r.device = found[r.ref]
		}
	}
}

// parse checks envelopes and the per-device rate, once per request; a
// request that fails gets its error reply when an id could be read, and is
// dropped when none could.
func (b *Bridge) parse(reqs []*request, now time.Time) {
	for _, r := range reqs {
		if !r.live() || r.parsed {
			continue
		}
		r.parsed = true
		switch r.kind {
		case protocol.KindNotifyReply:
			var ack struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(r.msg.Payload(), &ack) == nil && protocol.ValidID(ack.ID) {
				r.id = ack.ID
			}
			continue
		case protocol.KindGet, protocol.KindUpdate:
		default:
			r.drop = true
			continue
		}
		req, id, perr := protocol.ParseRequest(r.msg.Payload())
		r.id = id
		switch {
		case perr != nil && id == "":
			r.drop = true
			ingested.WithLabelValues(r.kind, "no_id").Inc()
		case perr != nil:
			r.fail(perr.Code, perr.Message)
		case !b.limiter.allow(r.device, now):
			r.fail(protocol.CodeTooMany, "too many requests from this device; slow down")
		case r.kind == protocol.KindUpdate:
			p, perr := protocol.ParseUpdate(req.Params)
			if perr != nil {
				r.fail(perr.Code, perr.Message)
				continue
			}
			r.req, r.update, r.subtask = req, &p, subtaskRef(p.TaskID)
			r.key = replyKey(r.device, r.id, r.msg.Payload())
		default:
			r.req = req
		}
	}
}

// replyTTL is how long the reply to an update is kept to answer its
// retransmission (docs/protocol.md: same device, topic, id and bytes
// within 1 hour).
const replyTTL = time.Hour

// replyKey names the kept reply of an update by device, id and a digest
// of the payload: a device that reboots and reuses an id with other bytes
// makes a new request, and only updates are kept, so a get can never be
// answered with an update's reply nor the other way round.
func replyKey(device models.ID, id string, payload []byte) string {
	sum := sha256.Sum256(payload)
	return "fleettasks:reply:" + device.String() + ":update:" + id + ":" + hex.EncodeToString(sum[:16])
}

// replay answers retransmitted updates with the reply kept the first time,
// without applying them again. When Redis cannot be read, the updates are
// held: applying them blind could answer a retransmission differently.
func (b *Bridge) replay(ctx context.Context, reqs []*request) {
	var keyed []*request
	var keys []string
	first := map[string]*request{}
	for _, r := range reqs {
		if !r.live() || r.update == nil || r.code != 0 || r.replay {
			continue
		}
		if f, dup := first[r.key]; dup { // the same request twice in one batch
			r.twin = f
			continue
		}
		first[r.key] = r
		keyed, keys = append(keyed, r), append(keys, r.key)
	}
	if len(keys) == 0 {
		return
	}
	vals, err := b.redis.MGet(ctx, keys...).Result()
	if err != nil {
		b.log.Error("reply cache unavailable; updates are held", "updates", len(keys), "err", err)
		for _, r := range keyed {
			r.held = true
		}
		return
	}
	for i, v := range vals {
		if s, ok := v.(string); ok && keyed[i].restore(s) {
			ingested.WithLabelValues(keyed[i].kind, "retransmission").Inc()
		}
	}
}

// kept is how a reply is kept: "code subtask reply".
func kept(code int, subtask *models.ID, reply []byte) string {
	var sub int64
	if subtask != nil {
		sub = int64(*subtask)
	}
	return strconv.Itoa(code) + " " + strconv.FormatInt(sub, 10) + " " + string(reply)
}

// restore makes r a replay of the kept reply s.
func (r *request) restore(s string) bool {
	code, rest, ok1 := strings.Cut(s, " ")
	sub, reply, ok2 := strings.Cut(rest, " ")
	c, err1 := strconv.Atoi(code)
	n, err2 := strconv.ParseInt(sub, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return false
	}
	r.code, r.reply, r.replay, r.subtask = c, []byte(reply), true, nil
	if n > 0 {
		id := models.ID(n)
		r.subtask = &id
	}
	return true
}

// apply runs the updates of the batch in one transaction, the gets
// concurrently, and records notify_reply deliveries. A batch that fails
// for its data is applied again one update at a time, so that only the
// faulty update is answered with an error.
func (b *Bridge) apply(ctx context.Context, reqs []*request) {
	var updates []*request
	var gets []*request
	for _, r := range reqs {
		switch {
		case !r.live():
		case r.kind == protocol.KindNotifyReply:
			if r.id != "" {
				n, _ := strconv.ParseInt(r.id, 10, 64)
				b.mu.Lock()
				b.acks = append(b.acks, models.Delivery{DeviceID: r.device, NotifyID: n})
				b.mu.Unlock()
			}
			ingested.WithLabelValues(r.kind, "ok").Inc()
		case r.req == nil || r.code != 0 || r.replay || r.twin != nil:
		case r.kind == protocol.KindUpdate:
			updates = append(updates, r)
		case r.kind == protocol.KindGet:
			gets = append(gets, r)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, r := range gets {
		g.Go(func() error {
			b.get(gctx, r)
			return nil
		})
	}
	if len(updates) > 0 {
		err := b.applyUpdates(ctx, updates)
		switch {
		case err == nil:
		case models.Transient(err):
			b.log.Error("apply device updates; they are held", "updates", len(updates), "err", err)
			for _, r := range updates {
				r.held = true
			}
		default:
			b.log.Error("apply device updates; applying them one by one", "updates", len(updates), "err", err)
			b.applyOneByOne(ctx, updates)
		}
	}
	g.Wait()
}

// applyUpdates applies updates in one transaction and sets their replies.
func (b *Bridge) applyUpdates(ctx context.Context, updates []*request) error {
	ups := make([]models.DeviceUpdate, len(updates))
	for i, r := range updates {
		p := r.update
		ups[i] = models.DeviceUpdate{DeviceID: r.device, TaskID: p.TaskID, Status: p.Status, Progress: p.Progress, Details: p.StatusDetails}
	}
	results, err := b.tasks.ApplyUpdates(ctx, ups)
	if err != nil {
		return err
	}
	for i, r := range updates {
		res := results[i]
		r.code, r.message = res.Code, res.Message
		r.data = protocol.UpdateData{TaskID: ups[i].TaskID, Status: res.Status}
	}
	return nil
}

// applyOneByOne applies updates each in its own transaction, in order.
// At the first transient fault, that update and the rest are held, so that
// one device's updates are never applied out of order.
func (b *Bridge) applyOneByOne(ctx context.Context, updates []*request) {
	for i, r := range updates {
		err := b.applyUpdates(ctx, updates[i:i+1])
		switch {
		case err == nil:
		case models.Transient(err):
			for _, rest := range updates[i:] {
				rest.held = true
			}
			return
		case models.DataError(err):
			b.log.Warn("device update refused by the database", "topic", r.msg.Topic(), "err", err)
			r.fail(protocol.CodeBadRequest, "params has a value that cannot be stored")
		default:
			b.serverFault(r, err)
		}
	}
}

// get answers one get request; it is a read, answered afresh every time.
func (b *Bridge) get(ctx context.Context, r *request) {
	p, perr := protocol.ParseGet(r.req.Params)
	if perr != nil {
		r.fail(perr.Code, perr.Message)
		return
	}
	now := b.now()
	var err error
	switch p.TaskID {
	case protocol.List:
		var list []models.Executable
		if list, err = b.tasks.ListExecutable(ctx, r.device, protocol.MaxListed); err == nil {
			items := make([]protocol.ListItem, len(list))
			for i, e := range list {
				items[i] = protocol.ListItem{TaskID: e.ID.String(), Status: e.Status}
			}
			r.code, r.data = protocol.CodeOK, protocol.ListData{TaskID: protocol.List, Task: items, Tasks: items}
		}
	case protocol.Next:
		var e *models.Executable
		if e, err = b.tasks.NextExecutable(ctx, r.device); err == nil {
			r.code, r.data = protocol.CodeOK, b.detail(protocol.Next, e, now)
			if e != nil {
				r.subtask = &e.ID
			}
		}
	default:
		var e *models.Executable
		if e, err = b.tasks.DeviceSubtask(ctx, r.device, p.TaskID); err == nil {
			r.code, r.data = protocol.CodeOK, b.detail(p.TaskID, e, now)
			if e == nil {
				r.code, r.message = protocol.CodeNotFound, "no such task for this device"
			} else {
				r.subtask = &e.ID
			}
		}
	}
	switch {
	case err == nil:
	case models.Transient(err):
		r.held = true
	default:
		b.serverFault(r, err)
	}
}

func (b *Bridge) detail(asked string, e *models.Executable, now time.Time) protocol.DetailData {
	d := protocol.DetailData{TaskID: asked}
	if e == nil {
		return d
	}
	t := b.pub.wireTask(e.ID, e.Status, e.Document, e.File, now)
	if e.Progress > 0 {
		p := e.Progress
		t.Progress = &p
	}
	d.Task, d.StatusDetails = &t, protocol.UserJSON(e.StatusDetails)
	return d
}

func (b *Bridge) serverFault(r *request, err error) {
	b.log.Error("device request failed", "topic", r.msg.Topic(), "err", err)
	r.fail(protocol.CodeServerError, "server fault; retry with the same id")
}

// keptCodes are the update replies kept for retransmissions: the outcomes
// of applying it. Refusals of the request itself (400, 429) and server
// faults (500) are worked out afresh when the device sends it again.
var keptCodes = map[int]bool{protocol.CodeOK: true, protocol.CodeNotFound: true, protocol.CodeConflict: true}

// replyWait bounds how long a batch waits for the broker to take its
// replies before it acknowledges the requests.
const replyWait = 10 * time.Second

// answer builds, keeps, publishes and logs the replies of the requests
// handled in this try, and returns the publish tokens of the replies.
func (b *Bridge) answer(ctx context.Context, reqs []*request) map[*request]mqtt.Token {
	sent := map[*request]mqtt.Token{}
	pipe := b.redis.Pipeline()
	for _, r := range reqs {
		if r.twin != nil { // an identical update earlier in the batch
			if r.held = r.twin.held; !r.held {
				r.code, r.reply, r.replay, r.subtask = r.twin.code, r.twin.reply, true, r.twin.subtask
			}
		}
		if !r.live() || r.kind == protocol.KindNotifyReply || r.reply != nil || r.code == 0 {
			continue
		}
		r.reply = protocol.Marshal(protocol.Reply{ID: r.id, Code: r.code, Data: r.data, Message: r.message})
		if r.update != nil && keptCodes[r.code] {
			pipe.Set(ctx, r.key, kept(r.code, r.subtask, r.reply), replyTTL)
		}
	}
	if pipe.Len() > 0 {
		// the updates are committed: a reply not kept only means that a
		// retransmission is applied again, through the state machine
		if _, err := pipe.Exec(ctx); err != nil {
			b.log.Warn("keep replies", "err", err)
		}
	}
	now := b.now()
	for _, r := range reqs {
		if !r.live() {
			continue
		}
		in := models.LogEntry{Time: now, DeviceID: r.device, Direction: models.DirectionD2C, Topic: r.msg.Topic(), MessageID: r.id,
			Payload: r.msg.Payload(), SubtaskID: r.subtask}
		if r.code > 0 {
			code := r.code
			in.Code = &code
		}
		b.logw.Add(in)
		if r.reply == nil {
			continue
		}
		outcome := codeLabel(r.code)
		if r.replay {
			outcome = "replayed"
		}
		ingested.WithLabelValues(r.kind, outcome).Inc()
		kind := protocol.KindGetReply
		if r.kind == protocol.KindUpdate {
			kind = protocol.KindUpdateReply
		}
		topic := protocol.Topic(r.ref.ProductKey, r.ref.DeviceName, kind)
		sent[r] = b.pub.reply(topic, r.msg.Qos(), r.reply)
		repliesSent.WithLabelValues(r.kind, outcome).Inc()
		replyLatency.Observe(time.Since(r.at).Seconds())
		code := r.code
		b.logw.Add(models.LogEntry{Time: b.now(), DeviceID: r.device, Direction: models.DirectionC2D, Topic: topic, MessageID: r.id,
			Payload: r.reply, Code: &code, SubtaskID: r.subtask})
	}
	return sent
}
