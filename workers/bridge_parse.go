package workers

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"fleettasks/models"
	"fleettasks/protocol"
)

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
				ID   string          `json:"id"`
				Code json.RawMessage `json:"code"` // read apart: a bad code loses only itself
			}
			if json.Unmarshal(r.msg.Payload(), &ack) == nil && protocol.ValidID(ack.ID) {
				r.id = ack.ID
				if c, err := strconv.ParseInt(string(ack.Code), 10, 32); err == nil {
					code := int(c)
					r.ackCode = &code
				}
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
