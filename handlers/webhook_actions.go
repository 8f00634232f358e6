package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /webhooks/:id/secret — from its confirmation dialog: makes a new
// secret and answers the page with it, this once.
func (h *webhookPages) rotate(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	w, err := h.hooks.RotateSecret(c.UserContext(), id)
	if err != nil {
		return err
	}
	auditWebhook(c, w.ID, w, w, true)
	d, err := h.detail(c, w, models.Page{Number: 1, Size: deliveryPageSize})
	if err != nil {
		return err
	}
	d.NewSecret = w.Secret
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, w.URL, views.WebhookShowPage(d))
}

// POST /webhooks/:id/test — records a webhook.test delivery (sent within
// seconds) and goes back to the page, whose log follows it.
func (h *webhookPages) test(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.hooks.SendTest(c.UserContext(), id); err != nil {
		return err
	}
	setFlash(c, "ok", "Sending a test event; its delivery is at the top of the log.")
	return redirect(c, views.WebhookURL(id))
}

// POST /webhooks/:id/delete — from its confirmation dialog.
func (h *webhookPages) remove(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	w, err := h.hooks.DeleteWebhook(c.UserContext(), id)
	if err != nil {
		return err
	}
	auditWebhook(c, w.ID, w, nil, false)
	setFlash(c, "ok", "Deleted the webhook "+w.URL+".")
	return redirect(c, views.WebhooksURL())
}
