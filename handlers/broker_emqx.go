package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"fleettasks/protocol/signin"
)

// brokerChecks counts the answers to an external broker's questions.
var brokerChecks = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "fleettasks_broker_auth_total",
	Help: "Answers to an external broker's authentication (check=connect) and authorization (check=publish, subscribe) requests.",
}, []string{"broker", "check", "result"})

// brokerEMQX answers EMQX 5's HTTP authenticator (a CONNECT: may this
// client sign in?) and HTTP authorizer (may it publish or subscribe to
// this topic?), as docs/brokers.md configures them.
type brokerEMQX struct {
	secret   [sha256.Size]byte // of the shared secret EMQX sends
	enabled  bool
	verifier *signin.Verifier // admits the server's user too (WithServer)
	log      *slog.Logger
}

func newBrokerEMQX(sharedSecret string, secrets signin.SecretSource, serverUser, serverPass string, log *slog.Logger) *brokerEMQX {
	return &brokerEMQX{secret: sha256.Sum256([]byte(sharedSecret)), enabled: sharedSecret != "",
		verifier: signin.NewVerifier(secrets).WithServer(serverUser, serverPass), log: log}
}

// emqxRequest is the JSON body the EMQX configuration sends: its
// ${username}, ${clientid}, ${password} (CONNECT), ${topic} and ${action}
// (publish, subscribe) placeholders.
type emqxRequest struct {
	Username string `json:"username"`
	ClientID string `json:"clientid"`
	Password string `json:"password"`
	Topic    string `json:"topic"`
	Action   string `json:"action"`
}

// emqxAnswer is EMQX 5's expected answer.
type emqxAnswer struct {
	Result      string `json:"result"` // allow, deny or ignore
	IsSuperuser bool   `json:"is_superuser"`
	// ClientAttrs name the device a sign-in was allowed for (EMQX 5.7
	// and later keep them with the connection): productKey and
	// deviceName, which EMQX 7's auto-subscribe builds the device's
	// downlink topics from (${client_attrs.productKey}), since neither
	// the user name nor the client id can be split by a placeholder.
	ClientAttrs map[string]string `json:"client_attrs,omitempty"`
}

// shared checks the shared secret (404 when the endpoints are off, 401
// and deny when it is wrong) and reads the request; ok is false when the
// request was answered.
func (h *brokerEMQX) shared(c *fiber.Ctx, check string) (in emqxRequest, ok bool, err error) {
	if !h.enabled {
		return in, false, fiber.ErrNotFound
	}
	token, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if sum := sha256.Sum256([]byte(token)); !ok || subtle.ConstantTimeCompare(sum[:], h.secret[:]) != 1 {
		brokerChecks.WithLabelValues("emqx", check, "unauthorized").Inc()
		h.log.Warn("broker: EMQX request without the shared secret", "check", check, "ip", c.IP())
		return in, false, c.Status(fiber.StatusUnauthorized).JSON(emqxAnswer{Result: "deny"})
	}
	if err := json.Unmarshal(c.Body(), &in); err != nil {
		brokerChecks.WithLabelValues("emqx", check, "malformed").Inc()
		return in, false, fiber.NewError(fiber.StatusBadRequest, "the body is not the JSON of the EMQX configuration")
	}
	return in, true, nil
}

func (h *brokerEMQX) answer(c *fiber.Ctx, check string, allow, super bool) error {
	return h.reply(c, check, allow, emqxAnswer{IsSuperuser: super})
}

// reply sends a, its Result set from allow, and counts it.
func (h *brokerEMQX) reply(c *fiber.Ctx, check string, allow bool, a emqxAnswer) error {
	a.Result = "deny"
	if allow {
		a.Result = "allow"
	}
	brokerChecks.WithLabelValues("emqx", check, a.Result).Inc()
	return c.JSON(a)
}
