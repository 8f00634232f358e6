package workers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/models"
	"fleettasks/protocol"
)

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
		} else if r.ackCode != nil {
			in.Code = r.ackCode
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
