package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/protocol/signin"
)

// auth answers a CONNECT: a device signs in with its secret (signed or
// plain, signin.Verifier, one indexed look-up); the server's own user
// with its password, as a superuser.
func (h *brokerEMQX) auth(c *fiber.Ctx) error {
	in, ok, err := h.shared(c, "connect")
	if !ok {
		return err
	}
	res, err := h.verifier.Verify(c.UserContext(), signin.Credentials{ClientID: in.ClientID, Username: in.Username, Password: in.Password})
	if r, refused := signin.AsRefusal(err); refused {
		h.log.Warn("broker: sign-in refused", "broker", "emqx", "user", in.Username, "reason", r.Error())
		return h.answer(c, "connect", false, false)
	}
	if err != nil {
		brokerChecks.WithLabelValues("emqx", "connect", "error").Inc()
		return err
	}
	if res.Server {
		return h.answer(c, "connect", true, true)
	}
	return h.reply(c, "connect", true, emqxAnswer{ClientAttrs: map[string]string{
		"productKey": res.Device.ProductKey, "deviceName": res.Device.DeviceName}})
}
