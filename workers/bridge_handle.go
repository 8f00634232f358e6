package workers

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"fleettasks/models"
	"fleettasks/protocol"
)

// replyTTL is how long a request id is remembered (PROTOCOL.md: 24 h).
const replyTTL = 24 * time.Hour

func replyKey(device models.ID, id string) string {
	return "fleettasks:reply:" + device.String() + ":" + id
}

// handle runs one batch: identify, validate, deduplicate, apply, reply,
// acknowledge. Messages are acknowledged only after their effect is
// committed, so a crash loses nothing: the broker redelivers.
func (b *Bridge) handle(ctx context.Context, msgs []mqtt.Message) {
	batchSize.Observe(float64(len(msgs)))
	now := b.now()
	reqs := b.identify(ctx, msgs, now)
	b.parse(reqs, now)
	b.replay(ctx, reqs)
	b.apply(ctx, reqs)
	b.answer(ctx, reqs, now)
	for _, m := range msgs {
		m.Ack()
	}
	b.mu.Lock()
	for _, r := range reqs {
		b.seen[r.device] = true
	}
	b.mu.Unlock()
}

// identify maps each message to its device; messages of unregistered
// devices or of other topics are dropped (not answered).
func (b *Bridge) identify(ctx context.Context, msgs []mqtt.Message, now time.Time) []*request {
	reqs := make([]*request, 0, len(msgs))
	var missing []models.DeviceRef
	for _, m := range msgs {
		pk, dn, kind, ok := protocol.ParseTopic(m.Topic())
		if !ok {
			ingested.WithLabelValues("unknown", "bad_topic").Inc()
			continue
		}
		r := &request{msg: m, kind: kind, ref: models.DeviceRef{ProductKey: pk, DeviceName: dn}}
		if id, ok := b.devices.get(r.ref, now); ok {
			r.device = id
		} else {
			missing = append(missing, r.ref)
		}
		reqs = append(reqs, r)
	}
	if len(missing) > 0 {
		found, err := b.db.LookupDevices(ctx, missing)
		if err != nil {
			b.log.Error("look up devices", "err", err)
		}
		for _, ref := range missing {
			b.devices.put(ref, found[ref], now) // 0 when unregistered
		}
		for _, r := range reqs {
			if r.device == 0 {
				r.device = found[r.ref]
			}
		}
	}
	known := reqs[:0]
	for _, r := range reqs {
		if r.device == 0 {
			ingested.WithLabelValues(r.kind, "unregistered").Inc()
			b.log.Debug("message from an unregistered device", "topic", r.msg.Topic())
			continue
		}
		known = append(known, r)
	}
	return known
}

// parse checks envelopes and the per-device rate; a request that fails gets
// its error reply (when an id could be read) and goes no further.
func (b *Bridge) parse(reqs []*request, now time.Time) {
	for _, r := range reqs {
		if r.kind == protocol.KindNotifyReply {
			var ack struct {
				ID   string `json:"id"`
				Code int    `json:"code"`
			}
			if json.Unmarshal(r.msg.Payload(), &ack) == nil && protocol.ValidID(ack.ID) {
				r.id = ack.ID
			}
			continue
		}
		if r.kind != protocol.KindGet && r.kind != protocol.KindUpdate {
			continue
		}
		req, id, perr := protocol.ParseRequest(r.msg.Payload())
		r.id = id
		if perr != nil {
			r.fail(perr.Code, perr.Message)
			continue
		}
		r.req = req
		if !b.limiter.allow(r.device, now) {
			r.fail(protocol.CodeTooMany, "too many requests from this device; slow down")
		}
	}
}

// replay answers retransmissions (an id seen from the device within 24 h)
// with the reply stored the first time, without applying them again.
func (b *Bridge) replay(ctx context.Context, reqs []*request) {
	var keyed []*request
	var keys []string
	first := map[string]*request{}
	for _, r := range reqs {
		if r.req == nil || r.code != 0 {
			continue
		}
		k := replyKey(r.device, r.id)
		if f, dup := first[k]; dup { // the same request twice in one batch
			r.code, r.replay = -1, true
			r.data = f
			continue
		}
		first[k] = r
		keyed, keys = append(keyed, r), append(keys, k)
	}
	if len(keys) == 0 {
		return
	}
	vals, err := b.redis.MGet(ctx, keys...).Result()
	if err != nil {
		b.log.Warn("reply cache unavailable; retransmissions are applied by the state machine", "err", err)
		return
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			keyed[i].reply, keyed[i].replay = []byte(s), true
			ingested.WithLabelValues(keyed[i].kind, "retransmission").Inc()
		}
	}
}

// apply runs the updates of the batch in one transaction, the gets
// concurrently, and records notify_reply deliveries.
func (b *Bridge) apply(ctx context.Context, reqs []*request) {
	var updates []*request
	var ups []models.DeviceUpdate
	var gets []*request
	var acks []models.Delivery
	for _, r := range reqs {
		switch {
		case r.kind == protocol.KindNotifyReply:
			if r.id != "" {
				n, _ := parseUint(r.id)
				acks = append(acks, models.Delivery{DeviceID: r.device, NotifyID: n})
			}
			ingested.WithLabelValues(r.kind, "ok").Inc()
		case r.req == nil || r.code != 0 || r.replay:
		case r.kind == protocol.KindUpdate:
			p, perr := protocol.ParseUpdate(r.req.Params)
			if perr != nil {
				r.fail(perr.Code, perr.Message)
				continue
			}
			r.subtask = subtaskRef(p.TaskID)
			updates = append(updates, r)
			ups = append(ups, models.DeviceUpdate{DeviceID: r.device, TaskID: p.TaskID, Status: p.Status, Progress: p.Progress, Details: p.StatusDetails})
		case r.kind == protocol.KindGet:
			gets = append(gets, r)
		}
	}
	b.mu.Lock()
	b.acks = append(b.acks, acks...)
	b.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, r := range gets {
		g.Go(func() error {
			b.get(gctx, r)
			return nil
		})
	}
	if len(ups) > 0 {
		results, err := b.tasks.ApplyUpdates(ctx, ups)
		for i, r := range updates {
			if err != nil {
				r.fail(protocol.CodeServerError, "server fault; retry with the same id")
				continue
			}
			res := results[i]
			r.code, r.message = res.Code, res.Message
			r.data = protocol.UpdateData{TaskID: ups[i].TaskID, Status: res.Status}
		}
		if err != nil {
			b.log.Error("apply device updates", "updates", len(ups), "err", err)
		}
	}
	g.Wait()
}

// get answers one get request.
func (b *Bridge) get(ctx context.Context, r *request) {
	p, perr := protocol.ParseGet(r.req.Params)
	if perr != nil {
		r.fail(perr.Code, perr.Message)
		return
	}
	now := b.now()
	switch p.TaskID {
	case protocol.List:
		list, err := b.tasks.ListExecutable(ctx, r.device, protocol.MaxListed)
		if err != nil {
			b.serverFault(r, err)
			return
		}
		items := make([]protocol.ListItem, len(list))
		for i, e := range list {
			items[i] = protocol.ListItem{TaskID: e.ID.String(), Status: e.Status}
		}
		r.code, r.data = protocol.CodeOK, protocol.ListData{TaskID: protocol.List, Task: items, Tasks: items}
	case protocol.Next:
		e, err := b.tasks.NextExecutable(ctx, r.device)
		if err != nil {
			b.serverFault(r, err)
			return
		}
		r.code, r.data = protocol.CodeOK, b.detail(protocol.Next, e, now)
		if e != nil {
			r.subtask = &e.ID
		}
	default:
		e, err := b.tasks.DeviceSubtask(ctx, r.device, p.TaskID)
		if err != nil {
			b.serverFault(r, err)
			return
		}
		r.code, r.data = protocol.CodeOK, b.detail(p.TaskID, e, now)
		if e == nil {
			r.code, r.message = protocol.CodeNotFound, "no such task for this device"
		} else {
			r.subtask = &e.ID
		}
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
	d.Task, d.StatusDetails = &t, protocol.Compact(e.StatusDetails)
	return d
}

func (b *Bridge) serverFault(r *request, err error) {
	b.log.Error("device request failed", "topic", r.msg.Topic(), "err", err)
	r.fail(protocol.CodeServerError, "server fault; retry with the same id")
}

// answer builds, remembers and publishes the replies of the batch.
func (b *Bridge) answer(ctx context.Context, reqs []*request, now time.Time) {
	pipe := b.redis.Pipeline()
	stored := 0
	for _, r := range reqs {
		if r.kind == protocol.KindNotifyReply || r.id == "" || r.code == 0 && !r.replay {
			continue // nothing to answer (no readable id, or an acknowledgement)
		}
		if r.reply == nil && !r.replay {
			r.reply = protocol.Marshal(protocol.Reply{ID: r.id, Code: r.code, Data: r.data, Message: r.message})
			if r.req != nil && r.code != protocol.CodeServerError && r.code != protocol.CodeTooMany {
				pipe.Set(ctx, replyKey(r.device, r.id), r.reply, replyTTL)
				stored++
			}
			ingested.WithLabelValues(r.kind, codeLabel(r.code)).Inc()
		}
	}
	if stored > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			b.log.Warn("remember replies", "err", err)
		}
	}
	for _, r := range reqs {
		in := models.LogEntry{Time: now, DeviceID: r.device, Direction: "d2c", Topic: r.msg.Topic(), MessageID: r.id,
			Payload: r.msg.Payload(), SubtaskID: r.subtask}
		if r.code > 0 {
			in.Code = &r.code
		}
		b.logw.Add(in)
		if r.code == -1 { // a duplicate inside the batch gets its twin's reply
			if twin, ok := r.data.(*request); ok {
				r.reply = twin.reply
			}
		}
		if r.reply == nil {
			continue
		}
		kind := protocol.KindGetReply
		if r.kind == protocol.KindUpdate {
			kind = protocol.KindUpdateReply
		}
		topic := protocol.Topic(r.ref.ProductKey, r.ref.DeviceName, kind)
		b.pub.reply(topic, r.msg.Qos(), r.reply)
		repliesSent.WithLabelValues(r.kind, codeLabel(r.code)).Inc()
		replyLatency.Observe(time.Since(now).Seconds())
		code := r.code
		b.logw.Add(models.LogEntry{Time: b.now(), DeviceID: r.device, Direction: "c2d", Topic: topic, MessageID: r.id,
			Payload: r.reply, Code: &code, SubtaskID: r.subtask})
	}
}
