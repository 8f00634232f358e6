package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/protocol/signin"
)

// acl answers a publish or subscribe of a signed-in client: the server's
// user may use every topic, a device only its own job topics
// (models.DeviceMay, the rule of the Mosquitto ACL file too).
func (h *brokerEMQX) acl(c *fiber.Ctx) error {
	in, ok, err := h.shared(c, "acl")
	if !ok {
		return err
	}
	action := models.BrokerAction(in.Action)
	check := string(action)
	if action != models.BrokerPublish && action != models.BrokerSubscribe {
		check = "other"
	}
	if h.verifier.IsServer(in.Username) {
		return h.answer(c, check, true, false)
	}
	d, err := signin.ParseUsername(in.Username)
	ok = err == nil && models.DeviceMay(d.ProductKey, d.DeviceName, action, in.Topic)
	if !ok {
		h.log.Warn("broker: topic refused", "broker", "emqx", "user", in.Username, "action", in.Action, "topic", in.Topic)
	}
	return h.answer(c, check, ok, false)
}
