package workers

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"fleettasks/models"
	"fleettasks/protocol"
)

var (
	notifiesSent = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_notifies_total",
		Help: "Notifies published to devices, by sub-task status and result.",
	}, []string{"status", "result"})
	repliesSent = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "fleettasks_replies_total",
		Help: "Replies to device requests, by kind and code.",
	}, []string{"kind", "code"})
)

// Publisher sends to devices: notifies (for the Outbox) and replies, on
// connections of its own. Replies have their own connection, so that a
// reply never waits behind a burst of notifies (a cancel of 100,000
// sub-tasks) in a connection's queue; notifies are spread over
// notifyConns connections by device, so a device's notifies keep their
// order.
type Publisher struct {
	notify  []mqtt.Client
	replies mqtt.Client
	files   *models.Files
	logw    *LogWriter
	log     *slog.Logger
	now     func() time.Time
}

// notifyConns is how many connections carry notifies.
const notifyConns = 2

// NewPublisher connects the publishing clients, with ids clientID-out{k}
// (notifies) and clientID-reply.
func NewPublisher(ctx context.Context, broker string, tlsConf *tls.Config, clientID string, files *models.Files, logw *LogWriter, log *slog.Logger) (*Publisher, error) {
	p := &Publisher{files: files, logw: logw, log: log, now: time.Now}
	for k := range notifyConns {
		p.notify = append(p.notify, mqtt.NewClient(mqttOptions(broker, fmt.Sprintf("%s-out%d", clientID, k), tlsConf, log)))
	}
	p.replies = mqtt.NewClient(mqttOptions(broker, clientID+"-reply", tlsConf, log))
	for _, c := range p.clients() {
		if err := connect(ctx, c); err != nil {
			log.Warn("mqtt publisher not connected yet; it keeps trying", "err", err)
		}
	}
	return p, nil
}

func (p *Publisher) clients() []mqtt.Client { return append([]mqtt.Client{p.replies}, p.notify...) }

// Close disconnects once the broker has read everything published.
func (p *Publisher) Close() {
	for _, c := range p.clients() {
		closeClient(c, p.log)
	}
}

// notifier is the connection that carries device's notifies.
func (p *Publisher) notifier(device models.ID) mqtt.Client {
	return p.notify[uint64(device)%uint64(len(p.notify))]
}

// publishWait bounds the wait for the broker's acknowledgements of a
// batch of notifies; those not acknowledged by then count as failed (and
// are sent again). It is well under models.DefaultOutboxLease.
const publishWait = 10 * time.Second

// Publish publishes the notices and waits for the broker's
// acknowledgements (QoS 1) or the writes (QoS 0).
func (p *Publisher) Publish(ctx context.Context, notices []models.Notice) []error {
	errs := make([]error, len(notices))
	now := p.now()
	toks := make([]mqtt.Token, len(notices))
	logs := make([]models.LogEntry, len(notices))
	for i, n := range notices {
		id := strconv.FormatInt(n.MessageID, 10)
		dev := models.DeviceRef{ProductKey: n.ProductKey, DeviceName: n.DeviceName}
		payload := protocol.Marshal(protocol.Notify{ID: id, Version: protocol.Version,
			Params: protocol.NotifyParams{Task: p.wireTask(n.SubtaskID, n.Status, n.Document, n.File, dev, now)}})
		topic := protocol.Topic(n.ProductKey, n.DeviceName, protocol.KindNotify)
		toks[i] = p.notifier(n.DeviceID).Publish(topic, n.QoS, false, payload)
		sub := n.SubtaskID
		logs[i] = models.LogEntry{Time: now, DeviceID: n.DeviceID, Direction: "c2d", Topic: topic, MessageID: id, Payload: payload, SubtaskID: &sub}
	}
	deadline := time.Now().Add(publishWait)
	for i, tok := range toks {
		if errs[i] = wait(tok, time.Until(deadline)); errs[i] != nil {
			notifiesSent.WithLabelValues(string(notices[i].Status), "failed").Inc()
			continue
		}
		notifiesSent.WithLabelValues(string(notices[i].Status), "ok").Inc()
		p.logw.Add(logs[i])
	}
	return errs
}

// wireTask is sub-task id of device dev as a notify or a detail reply
// carries it. SENT (and detail) carry the job document, its variables
// replaced for the device (models.DeviceDocument), and, when the task has
// a file, a fresh 1-hour signed URL; CANCELLED and REMOVED carry empty
// objects.
func (p *Publisher) wireTask(id models.ID, status models.SubStatus, doc []byte, file *models.NoticeFile, dev models.DeviceRef, now time.Time) protocol.Task {
	t := protocol.Task{TaskID: id.String(), Status: string(status), JobDocument: protocol.EmptyDocument}
	if status == models.SubCancelled || status == models.SubRemoved {
		t.JobFile = protocol.Empty
		return t
	}
	if len(doc) > 0 {
		t.JobDocument = protocol.UserJSON(models.DeviceDocument(doc, dev.ProductKey, dev.DeviceName, id))
	}
	if file != nil {
		t.JobFile = protocol.Marshal(protocol.JobFile{
			SignMethod: protocol.WireSignMethod(file.SignMethod),
			Sign:       file.Sign,
			FileURL:    p.files.SignedURL(file.FileID, now),
		})
	}
	return t
}

// reply publishes one reply; the caller waits for the token before it
// acknowledges the request.
func (p *Publisher) reply(topic string, qos byte, payload []byte) mqtt.Token {
	return p.replies.Publish(topic, qos, false, payload)
}
