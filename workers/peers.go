package workers

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/go-redis/v9"

	"fleettasks/protocol"
)

// The workers of a share group watch one another through heartbeats in
// Redis. A worker that dies leaves its persistent ingest sessions at the
// broker, which keeps giving them a share of the device messages (Mosquitto
// 2.0 does, until persistent_client_expiration): a live worker takes such a
// session over under the dead worker's client id, handles what the broker
// queued for it, and ends it. See docs/operations.md.

var takeovers = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "fleettasks_bridge_takeovers_total",
	Help: "Ingest sessions of dead workers taken over, by outcome (ended, or failed and left for another try).",
}, []string{"outcome"})

const (
	// heartbeatEvery is how often a worker records its sessions and
	// looks for dead ones.
	heartbeatEvery = 3 * time.Second
	// staleAfter is the heartbeat age past which a session's worker is
	// taken for dead: a takeover begins at most staleAfter+heartbeatEvery
	// after a death.
	staleAfter = 15 * time.Second
	// quietFor is how long a taken-over session must stay silent, with
	// every message acknowledged, to count as drained.
	quietFor = 1500 * time.Millisecond
	// takeoverMax bounds one takeover; past it the session is left for
	// another try.
	takeoverMax = 60 * time.Second
	// lockTTL outlives the longest takeover.
	lockTTL = 2 * takeoverMax
)

// Redis scripts: delete a lock only when it is still ours; forget a
// heartbeat only when it is still stale.
var (
	releaseLock = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
	forgetStale = redis.NewScript(`local v = redis.call("HGET", KEYS[1], ARGV[1])
if v and tonumber(v) < tonumber(ARGV[2]) then return redis.call("HDEL", KEYS[1], ARGV[1]) end return 0`)
)

// tally follows the device messages of one or more sessions: how many
// are not acknowledged yet, and when the last one arrived.
type tally struct {
	outstanding atomic.Int64
	last        atomic.Int64 // unix nanoseconds
}

// track counts m in and returns it wrapped, so that its acknowledgement
// counts it out.
func (t *tally) track(m mqtt.Message) mqtt.Message {
	t.outstanding.Add(1)
	t.last.Store(time.Now().UnixNano())
	return &trackedMessage{Message: m, t: t}
}

// quiet reports whether every message is acknowledged and none came for d.
func (t *tally) quiet(d time.Duration) bool {
	return t.outstanding.Load() == 0 && time.Since(time.Unix(0, t.last.Load())) >= d
}

// trackedMessage is a device message counted by a tally until acknowledged.
type trackedMessage struct {
	mqtt.Message
	t    *tally
	once sync.Once
}

// Ack acknowledges the message to the broker (once) and counts it out.
func (m *trackedMessage) Ack() {
	m.once.Do(func() {
		m.Message.Ack()
		m.t.outstanding.Add(-1)
	})
}

// peers records this worker's heartbeats and takes over dead workers'
// sessions.
type peers struct {
	b       *Bridge
	rdb     *redis.Client
	key     string   // the group's heartbeats: client id -> Redis time in ms
	ids     []string // this worker's ingest client ids
	closing chan struct{}
	wg      sync.WaitGroup // the heartbeat loop and takeovers
}

func newPeers(b *Bridge) *peers {
	p := &peers{b: b, rdb: b.redis, key: "fleettasks:workers:" + b.cfg.MQTTShareGroup, closing: make(chan struct{})}
	for k := 0; k < b.cfg.MQTTIngestConns; k++ {
		p.ids = append(p.ids, ingestClientID(b.cfg.MQTTClientID, k))
	}
	return p
}

// ingestClientID is the client id of a worker's k-th ingest connection.
func ingestClientID(base string, k int) string { return fmt.Sprintf("%s-in%d", base, k) }

func (p *peers) lockKey(id string) string {
	return "fleettasks:takeover:" + p.b.cfg.MQTTShareGroup + ":" + id
}

// start records the heartbeats, waits while a peer is ending one of this
// worker's sessions (it came back during a takeover), then keeps the
// heartbeats fresh and watches for dead peers until ctx ends.
func (p *peers) start(ctx context.Context) {
	if err := p.beat(ctx); err != nil {
		p.b.log.Warn("worker heartbeat not recorded", "err", err)
	}
	p.awaitTakeovers(ctx)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(heartbeatEvery)
		defer tick.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := p.beat(ctx)
			if err == nil {
				err = p.scan(ctx)
			}
			if (err != nil) != failing && ctx.Err() == nil {
				failing = err != nil
				if failing {
					p.b.log.Warn("worker heartbeats failing; trying again", "err", err)
				} else {
					p.b.log.Info("worker heartbeats recorded again")
				}
			}
		}
	}()
}

// now is Redis's clock in milliseconds, the one all workers compare.
func (p *peers) now(ctx context.Context) (int64, error) {
	t, err := p.rdb.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("workers: redis time: %w", err)
	}
	return t.UnixMilli(), nil
}

// beat records this worker's sessions as alive now.
func (p *peers) beat(ctx context.Context) error {
	now, err := p.now(ctx)
	if err != nil {
		return err
	}
	return p.set(ctx, now)
}

// set records this worker's sessions with the heartbeat value v.
func (p *peers) set(ctx context.Context, v int64) error {
	vals := make([]any, 0, 2*len(p.ids))
	for _, id := range p.ids {
		vals = append(vals, id, v)
	}
	if err := p.rdb.HSet(ctx, p.key, vals...).Err(); err != nil {
		return fmt.Errorf("workers: heartbeat: %w", err)
	}
	return nil
}

// awaitTakeovers waits, at most lockTTL, while a peer holds the takeover
// lock of one of this worker's sessions, so that it does not connect
// while the peer ends the session.
func (p *peers) awaitTakeovers(ctx context.Context) {
	keys := make([]string, len(p.ids))
	for i, id := range p.ids {
		keys[i] = p.lockKey(id)
	}
	deadline := time.Now().Add(lockTTL)
	for logged := false; time.Now().Before(deadline); logged = true {
		if n, err := p.rdb.Exists(ctx, keys...).Result(); err != nil || n == 0 {
			return
		}
		if !logged {
			p.b.log.Info("waiting for a peer to finish taking over this worker's former sessions")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// heartbeats reads the group's heartbeats and Redis's clock.
func (p *peers) heartbeats(ctx context.Context) (map[string]int64, int64, error) {
	all, err := p.rdb.HGetAll(ctx, p.key).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("workers: heartbeats: %w", err)
	}
	now, err := p.now(ctx)
	if err != nil {
		return nil, 0, err
	}
	hb := make(map[string]int64, len(all))
	for id, v := range all {
		n, _ := strconv.ParseInt(v, 10, 64) // unreadable: stale
		hb[id] = n
	}
	return hb, now, nil
}

// own reports whether id is one of this worker's sessions.
func (p *peers) own(id string) bool {
	for _, o := range p.ids {
		if o == id {
			return true
		}
	}
	return false
}

// scan starts a takeover of every stale session whose lock it gets.
func (p *peers) scan(ctx context.Context) error {
	hb, now, err := p.heartbeats(ctx)
	if err != nil {
		return err
	}
	for id, at := range hb {
		if p.own(id) || now-at < staleAfter.Milliseconds() {
			continue
		}
		ok, err := p.rdb.SetNX(ctx, p.lockKey(id), p.b.cfg.MQTTClientID, lockTTL).Result()
		if err != nil {
			return fmt.Errorf("workers: takeover lock: %w", err)
		}
		if ok {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.takeOver(ctx, id)
			}()
		}
	}
	return nil
}

// othersLive reports whether another worker's heartbeat is fresh.
func (p *peers) othersLive(ctx context.Context) bool {
	hb, now, err := p.heartbeats(ctx)
	if err != nil {
		return false
	}
	for id, at := range hb {
		if !p.own(id) && now-at < staleAfter.Milliseconds() {
			return true
		}
	}
	return false
}

// stop ends the heartbeats and takeovers once the bridge has stopped
// (its acknowledgements sent). A worker whose sessions are left empty and
// unsubscribed (clean) removes its heartbeats; otherwise it marks them
// stale, for a live peer to take its sessions over at once.
func (p *peers) stop(clean bool) {
	close(p.closing)
	p.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if clean {
		err = p.rdb.HDel(ctx, p.key, p.ids...).Err()
	} else {
		err = p.set(ctx, 0)
		p.b.log.Info("ingest sessions left for a peer to take over")
	}
	if err != nil {
		p.b.log.Warn("worker heartbeats not updated at shutdown", "err", err)
	}
}

// takeOver adopts the dead session id, holding its lock: it connects under
// id, unsubscribes it from the shared filters so that the broker assigns it
// nothing more, handles what the broker had queued for it through the
// bridge's shards until it is drained, and ends it.
func (p *peers) takeOver(ctx context.Context, id string) {
	b := p.b
	log := b.log.With("session", id)
	bg := context.WithoutCancel(ctx)
	defer func() {
		c, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		releaseLock.Run(c, p.rdb, []string{p.lockKey(id)}, b.cfg.MQTTClientID)
	}()
	fail := func(msg string, args ...any) {
		takeovers.WithLabelValues("failed").Inc()
		log.Warn("takeover: "+msg+"; another try later", args...)
	}
	log.Info("takeover: the session's worker is silent; taking its session over")
	var t tally
	t.last.Store(time.Now().UnixNano())
	lost := make(chan struct{})
	var once sync.Once
	opts := mqttOptions(b.cfg.MQTTURL, id, b.cfg.MQTTTLS, log).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { b.route(t.track(m)) }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			once.Do(func() { close(lost) })
		})
	c := mqtt.NewClient(opts)
	if err := connect(ctx, c); err != nil {
		c.Disconnect(0)
		fail("not connected", "err", err)
		return
	}
	filters := b.sharedFilters()
	if err := wait(c.Unsubscribe(filters...), 10*time.Second); err != nil {
		closeClient(c, log)
		fail("unsubscribe", "err", err)
		return
	}
	deadline := time.Now().Add(takeoverMax)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !t.quiet(quietFor) {
		select {
		case <-ctx.Done(): // the bridge stops: let it send its acknowledgements
			<-p.closing
			closeClient(c, log)
			fail("the worker stops")
			return
		case <-lost: // e.g. the dead worker is back under its id
			fail("connection lost")
			return
		case <-tick.C:
			if time.Now().After(deadline) {
				closeClient(c, log)
				fail("not drained in time", "unacknowledged", t.outstanding.Load())
				return
			}
		}
	}
	closeClient(c, log, filters...)
	// the dead worker may have come back meanwhile: then its session is
	// its own again, not to be ended
	hb, now, err := p.heartbeats(bg)
	if err != nil {
		fail("heartbeats", "err", err)
		return
	}
	if now-hb[id] < staleAfter.Milliseconds() {
		log.Info("takeover: the session's worker is back; the session stays")
		return
	}
	// MQTT 3.1.1: a clean-session connection discards the stored session,
	// and with it the session's share of the group
	clean := mqtt.NewClient(mqttOptions(b.cfg.MQTTURL, id, b.cfg.MQTTTLS, log).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false))
	if err := connect(ctx, clean); err != nil {
		clean.Disconnect(0)
		fail("clean connect", "err", err)
		return
	}
	clean.Disconnect(250)
	if err := forgetStale.Run(bg, p.rdb, []string{p.key}, id, now-staleAfter.Milliseconds()).Err(); err != nil {
		log.Warn("takeover: heartbeat entry not removed", "err", err)
	}
	takeovers.WithLabelValues("ended").Inc()
	log.Info("takeover: session drained and ended")
}

// sharedFilters are the shared subscriptions of the ingest.
func (b *Bridge) sharedFilters() []string {
	filters := make([]string, len(ingestKinds))
	for i, kind := range ingestKinds {
		filters[i] = protocol.SharedFilter(b.cfg.MQTTShareGroup, kind)
	}
	return filters
}

// leave unsubscribes the ingest connections from the shared filters, so
// that the broker assigns them no more device messages, when another
// worker lives to take them; it reports whether every connection left.
// The last worker stays subscribed: the broker then keeps device messages
// for its sessions until a worker comes back. Messages the broker already
// gave a session stay with it, acknowledged or redelivered as before.
func (b *Bridge) leave(ctx context.Context, p *peers) bool {
	if !p.othersLive(ctx) {
		b.log.Info("no other worker is alive: the ingest sessions stay subscribed")
		return false
	}
	b.leaving.Store(true)
	ok := true
	for _, c := range b.subs {
		if err := wait(c.Unsubscribe(b.sharedFilters()...), 5*time.Second); err != nil {
			b.log.Warn("mqtt: ingest not unsubscribed", "err", err)
			ok = false
		}
	}
	return ok
}
