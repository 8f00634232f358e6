package workers

import (
	"context"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/go-redis/v9"

	"fleettasks/config"
	"fleettasks/models"
	"fleettasks/protocol"
)

var (
	ingested = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_device_messages_total",
		Help: "Device messages received by the bridge, by kind and outcome.",
	}, []string{"kind", "outcome"})
	batchSize = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "fleettasks_bridge_batch_size",
		Help:    "Device messages handled per bridge batch.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8),
	})
	held = promauto.NewCounter(prometheus.CounterOpts{
		Name: "fleettasks_bridge_held_total",
		Help: "Device messages held for another try after a transient fault of the database or Redis.",
	})
	replyLatency = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "fleettasks_bridge_reply_seconds",
		Help:    "From a device message's arrival to its reply being published.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
)

// maxBatch bounds the device messages handled in one batch (one transaction
// for all the updates in it).
const maxBatch = 2000

// Bridge is the MQTT ingest: it answers devices' get and update requests
// and records notify_reply acknowledgements, in batches.
type Bridge struct {
	cfg     *config.Config
	tasks   *models.Tasks
	db      *models.DB
	redis   *redis.Client
	pub     *Publisher
	logw    *LogWriter
	log     *slog.Logger
	shards  []chan mqtt.Message // by device: one device's messages stay in order
	done    chan struct{}       // closed when Run ends
	acking  sync.WaitGroup      // acknowledgements waiting for their replies
	subs    []mqtt.Client
	ingest  tally       // the ingest sessions' messages not acknowledged yet
	leaving atomic.Bool // the ingest left the share group: no resubscribing
	devices *deviceCache
	limiter *deviceLimiter
	now     func() time.Time
	// writes that may lag a second, coalesced: devices heard from and
	// notify deliveries (losing them in a crash costs nothing)
	mu   sync.Mutex
	seen map[models.ID]bool
	acks []models.Delivery
}

// maxPendingDeliveries bounds the notify deliveries kept in memory while
// the database cannot take them.
const maxPendingDeliveries = 100_000

// ingestShards is how many batches are handled at once; a device's
// messages always go to the same shard, so they are handled in order.
const ingestShards = 4

// NewBridge builds the bridge; Run connects it and serves until ctx ends.
func NewBridge(cfg *config.Config, db *models.DB, tasks *models.Tasks, rdb *redis.Client, pub *Publisher, logw *LogWriter, log *slog.Logger) *Bridge {
	b := &Bridge{
		cfg: cfg, db: db, tasks: tasks, redis: rdb, pub: pub, logw: logw, log: log,
		devices: newDeviceCache(),
		limiter: newDeviceLimiter(cfg.DeviceRate),
		now:     time.Now,
		seen:    map[models.ID]bool{},
	}
	b.done = make(chan struct{})
	for range ingestShards {
		b.shards = append(b.shards, make(chan mqtt.Message, maxBatch))
	}
	return b
}

// ingestKinds are the topics the bridge subscribes to.
var ingestKinds = []string{protocol.KindGet, protocol.KindUpdate, protocol.KindNotifyReply}

// Run subscribes (shared, QoS 1, manual acknowledgement) on
// cfg.MQTTIngestConns connections and handles messages until ctx ends.
func (b *Bridge) Run(ctx context.Context) error {
	peers := newPeers(b)
	peers.start(ctx)
	for k := 0; k < b.cfg.MQTTIngestConns; k++ {
		opts := mqttOptions(b.cfg.MQTTURL, ingestClientID(b.cfg.MQTTClientID, k), b.cfg.MQTTTLS, b.log).
			SetAutoAckDisabled(true).
			SetOrderMatters(true).
			SetOnConnectHandler(b.subscribe).
			// a resumed session's queued messages arrive before the
			// subscription's route is registered: route them here too
			SetDefaultPublishHandler(b.receive)
		c := mqtt.NewClient(opts)
		if err := connect(ctx, c); err != nil {
			b.log.Warn("mqtt ingest not connected yet; it keeps trying", "err", err)
		}
		b.subs = append(b.subs, c)
	}
	left := false // unsubscribed at shutdown
	defer func() {
		for _, c := range b.subs {
			closeClient(c, b.log)
		}
		peers.stop(left && b.ingest.outstanding.Load() == 0)
	}()
	// A batch in progress at shutdown finishes with a context that is not
	// cancelled, for at most shutdownGrace; what is still unhandled then
	// stays unacknowledged, for the broker to deliver again.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(shutdownGrace, cancelWork)
		<-work.Done()
		t.Stop()
	})
	defer stop()
	var wg sync.WaitGroup
	for _, shard := range b.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.drain(ctx, work, shard)
		}()
	}
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			left = b.leave(work, peers)
			close(b.done)
			wg.Wait()
			b.acking.Wait()
			b.flush(work)
			return nil
		case <-flush.C:
			b.flush(ctx)
		}
	}
}

// shutdownGrace bounds how long a batch in progress may take to finish
// once the bridge is told to stop.
const shutdownGrace = 10 * time.Second

// drain handles one shard's messages in batches: whatever has arrived
// while the previous batch was handled, up to maxBatch. It takes no new
// batch once ctx ends; a batch runs with work, which outlives ctx by the
// shutdown grace.
func (b *Bridge) drain(ctx, work context.Context, in chan mqtt.Message) {
	batch := make([]mqtt.Message, 0, maxBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-in:
			if ctx.Err() != nil {
				return // both were ready: stopping wins, m stays unacknowledged
			}
			batch = append(batch[:0], m)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case m := <-in:
				batch = append(batch, m)
			default:
				break more
			}
		}
		b.handle(work, ctx, batch)
	}
}

// subscribe (re)subscribes a connection to the shared ingest filters.
func (b *Bridge) subscribe(c mqtt.Client) {
	if b.leaving.Load() {
		return
	}
	filters := map[string]byte{}
	for _, f := range b.sharedFilters() {
		filters[f] = 1
	}
	tok := c.SubscribeMultiple(filters, b.receive)
	if err := wait(tok, 10*time.Second); err != nil {
		b.log.Error("mqtt subscribe failed", "err", err)
		return
	}
	b.log.Info("mqtt ingest subscribed", "group", b.cfg.MQTTShareGroup)
}

// flush writes the coalesced last-seen times and deliveries.
func (b *Bridge) flush(ctx context.Context) {
	b.mu.Lock()
	acks, seen := b.acks, b.seen
	b.acks, b.seen = nil, map[models.ID]bool{}
	b.mu.Unlock()
	if len(acks) > 0 {
		if err := b.tasks.MarkDelivered(ctx, acks); err != nil {
			b.log.Warn("record deliveries; kept for the next flush", "deliveries", len(acks), "err", err)
			b.mu.Lock()
			if len(b.acks) < maxPendingDeliveries {
				b.acks = append(b.acks, acks...)
			}
			b.mu.Unlock()
		}
	}
	if len(seen) > 0 {
		ids := make([]int64, 0, len(seen))
		for id := range seen {
			ids = append(ids, int64(id))
		}
		if err := b.db.TouchDevices(ctx, ids, b.now()); err != nil {
			b.log.Warn("touch devices", "err", err)
		}
	}
}

// receive takes a device message of the ingest sessions, counted until
// it is acknowledged.
func (b *Bridge) receive(_ mqtt.Client, m mqtt.Message) { b.route(b.ingest.track(m)) }

// route queues a device message for its device's shard (blocking when it
// is full: the broker then holds back, within its in-flight window); the
// ingest and takeovers share it.
func (b *Bridge) route(m mqtt.Message) {
	topic := m.Topic()
	device := topic[:strings.LastIndexByte(topic, '/')+1] // /sys/{pk}/{dn}/thing/job/
	h := fnv.New32a()
	h.Write([]byte(device))
	select {
	case b.shards[h.Sum32()%uint32(len(b.shards))] <- m:
	case <-b.done: // shutting down: unacknowledged, the broker keeps it
	}
}

// request is one device message on its way through a batch.
type request struct {
	msg     mqtt.Message
	at      time.Time // when its batch began
	kind    string
	ref     models.DeviceRef
	device  models.ID
	drop    bool   // not answered: an unregistered device, or no id to answer
	held    bool   // not handled in this try: a transient fault; tried again
	parsed  bool   // envelope checked and rate counted (done once)
	id      string // the request id, when one could be read
	req     *protocol.Request
	update  *protocol.UpdateParams
	key     string   // reply cache key of an update
	twin    *request // an identical earlier update in the same batch
	code    int
	data    any
	message string
	subtask *models.ID
	reply   []byte // the reply to send; nil for none
	replay  bool   // reply is the stored answer to a retransmission
	ackCode *int   // the code a notify_reply carried, for the device log
}

func (r *request) fail(code int, msg string) {
	r.code, r.message, r.data = code, msg, map[string]any{}
}

func subtaskRef(taskID string) *models.ID {
	if n, err := strconv.ParseInt(taskID, 10, 64); err == nil && n > 0 {
		id := models.ID(n)
		return &id
	}
	return nil
}

func codeLabel(code int) string { return strconv.Itoa(code) }
