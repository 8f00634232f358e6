package workers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"fleettasks/models"
)

// TypeWebhookDeliver sends one delivery of an event to a webhook.
const TypeWebhookDeliver = "webhook:deliver"

// Webhook delivery limits (docs/webhooks.md, "Retries").
const (
	webhookTimeout   = 10 * time.Second // one attempt, from connecting to the answer's headers and body
	webhookMaxRetry  = 60               // more than 24 hours of backoff: the 24 hours decide
	webhookFirstWait = 10 * time.Second
	webhookMaxWait   = time.Hour
	webhookMaxBody   = 64 << 10 // of an answer read (then discarded)
)

var webhookDeliveries = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "fleettasks_webhook_deliveries_total",
	Help: "Webhook delivery attempts by result: succeeded, retrying (failed, tried again), failed (given up).",
}, []string{"result"})

// webhookPayload names the delivery to send.
type webhookPayload struct {
	DeliveryID string `json:"deliveryId"`
}

// NewWebhookDeliverTask sends delivery id (its asynq task id names it: a
// second enqueue while the first is queued is a no-op).
func NewWebhookDeliverTask(id string) *asynq.Task {
	b, _ := json.Marshal(webhookPayload{DeliveryID: id})
	return asynq.NewTask(TypeWebhookDeliver, b, asynq.TaskID("webhook:"+id), asynq.MaxRetry(webhookMaxRetry),
		asynq.Timeout(webhookTimeout+20*time.Second))
}

// WebhookBackoff is how long a delivery waits after its n-th retry (from
// 0): 10 s, doubling, at most an hour.
func WebhookBackoff(n int) time.Duration {
	d := webhookFirstWait
	for i := 0; i < n && d < webhookMaxWait; i++ {
		d *= 2
	}
	return min(d, webhookMaxWait)
}

// RetryDelay is the workers' asynq retry delay: WebhookBackoff for
// deliveries, asynq's default for the rest.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	if t.Type() == TypeWebhookDeliver {
		return WebhookBackoff(n)
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// Signature is the X-Fleettasks-Signature of body sent at timestamp (Unix
// seconds): "sha256=" and the hex HMAC-SHA256, keyed with the webhook's
// secret, of the timestamp, a dot and the body.
func Signature(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Deliverer sends webhook deliveries: the handler of TypeWebhookDeliver.
// Each attempt is claimed and recorded on the delivery's row (ClaimDelivery,
// FinishAttempt), so a duplicate task sends nothing a second time; the
// POST happens outside any transaction.
type Deliverer struct {
	hooks        *models.Webhooks
	log          *slog.Logger
	client       *http.Client
	now          func() time.Time
	allowPrivate bool
}

// DelivererOption configures a Deliverer.
type DelivererOption func(*Deliverer)

// WithPrivateAddresses lets deliveries go to loopback, private and
// link-local addresses (FLEETTASKS_WEBHOOK_ALLOW_PRIVATE).
func WithPrivateAddresses(allow bool) DelivererOption {
	return func(d *Deliverer) { d.allowPrivate = allow }
}

// WithDelivererClock replaces time.Now (tests).
func WithDelivererClock(now func() time.Time) DelivererOption {
	return func(d *Deliverer) { d.now = now }
}

// NewDeliverer returns the webhook sender.
func NewDeliverer(hooks *models.Webhooks, log *slog.Logger, opts ...DelivererOption) *Deliverer {
	d := &Deliverer{hooks: hooks, log: log, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	dialer := &net.Dialer{Timeout: webhookTimeout, Control: d.checkAddress}
	d.client = &http.Client{
		Timeout: webhookTimeout,
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would connect for us, past the address check
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   webhookTimeout,
			ResponseHeaderTimeout: webhookTimeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		},
		// a redirect is an answer like any other non-2xx: not followed
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return d
}

// refusedAddress is the error of a connection to an address deliveries
// may not go to.
type refusedAddress struct{ ip string }

func (e *refusedAddress) Error() string {
	return fmt.Sprintf("refused: the host resolves to %s, a loopback, private or link-local address "+
		"(set FLEETTASKS_WEBHOOK_ALLOW_PRIVATE=true to allow)", e.ip)
}

// checkAddress refuses, as a connection is made (after the name was
// resolved: a name that resolves elsewhere the next time is checked
// again), the addresses of this machine and of private networks.
func (d *Deliverer) checkAddress(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return &refusedAddress{ip: host}
	}
	if !d.allowPrivate && privateIP(ip) {
		return &refusedAddress{ip: ip.String()}
	}
	return nil
}

var specialNets = func() []*net.IPNet {
	var out []*net.IPNet
	for _, s := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4", "64:ff9b::/96"} {
		_, n, _ := net.ParseCIDR(s)
		out = append(out, n)
	}
	return out
}()

// privateIP reports whether ip is loopback, private, link-local,
// unspecified, multicast or another special-purpose address.
func privateIP(ip net.IP) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return true
	}
	for _, n := range specialNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ProcessTask makes the next attempt of a delivery and records it. A
// failed attempt is retried by asynq (RetryDelay) until 24 hours after the
// event; then the delivery is failed.
func (d *Deliverer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p webhookPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.DeliveryID == "" {
		return fmt.Errorf("workers: %s payload %q: %v: %w", t.Type(), t.Payload(), err, asynq.SkipRetry)
	}
	o, err := d.hooks.ClaimDelivery(ctx, p.DeliveryID)
	if err != nil || o == nil {
		return err // nil: done already, under way elsewhere, or its webhook is gone
	}
	var a models.DeliveryAttempt
	if !o.Enabled && o.Delivery.Event != models.EventTest {
		a = models.DeliveryAttempt{Error: "not sent: the webhook is disabled", Final: true}
	} else {
		a = d.send(ctx, o)
	}
	if !a.OK && !a.Final {
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, ok := asynq.GetMaxRetry(ctx)
		if !ok {
			maxRetry = webhookMaxRetry
		}
		a.Next = d.now().UTC().Add(WebhookBackoff(retried))
		if a.Next.After(o.Delivery.CreatedAt.Add(models.WebhookDeliveryTTL)) || retried >= maxRetry {
			a.Final = true
		}
	}
	status, err := d.hooks.FinishAttempt(context.WithoutCancel(ctx), o.Delivery.ID, a)
	if err != nil {
		return err
	}
	webhookDeliveries.WithLabelValues(string(status)).Inc()
	switch status {
	case models.DeliveryRetrying:
		return fmt.Errorf("workers: webhook %s delivery %s attempt %d: %s", o.Delivery.WebhookID, o.Delivery.ID, o.Delivery.Attempts, a.Error)
	case models.DeliveryFailed:
		d.log.Warn("webhook delivery failed; not tried again", "webhook", o.Delivery.WebhookID, "delivery", o.Delivery.ID,
			"event", o.Delivery.Event, "attempts", o.Delivery.Attempts, "err", a.Error)
	}
	return nil
}

// send POSTs o once.
func (d *Deliverer) send(ctx context.Context, o *models.Outgoing) models.DeliveryAttempt {
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	ts := strconv.FormatInt(d.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(o.Body))
	if err != nil {
		return models.DeliveryAttempt{Error: "not sent: " + err.Error(), Final: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fleettasks-webhooks")
	req.Header.Set("X-Fleettasks-Event", string(o.Delivery.Event))
	req.Header.Set("X-Fleettasks-Delivery", o.Delivery.ID)
	req.Header.Set("X-Fleettasks-Timestamp", ts)
	req.Header.Set("X-Fleettasks-Signature", Signature(o.Secret, ts, o.Body))
	resp, err := d.client.Do(req)
	if err != nil {
		var refused *refusedAddress
		if errors.As(err, &refused) {
			return models.DeliveryAttempt{Error: refused.Error(), Final: true}
		}
		return models.DeliveryAttempt{Error: strings.TrimPrefix(err.Error(), `Post "`+o.URL+`": `)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, webhookMaxBody))
	a := models.DeliveryAttempt{HTTPStatus: resp.StatusCode, OK: resp.StatusCode >= 200 && resp.StatusCode < 300}
	if !a.OK {
		a.Error = "the receiver answered " + resp.Status
		if loc := resp.Header.Get("Location"); loc != "" {
			a.Error += " to " + loc + " (redirects are not followed)"
		} else if s := strings.TrimSpace(string(answer)); s != "" {
			a.Error += ": " + truncate(s, 200)
		}
	}
	return a
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
