package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// deliveryPageSize is how many deliveries a page of the log shows.
const deliveryPageSize = 20

// GET /webhooks/:id?page= — a webhook, its settings and delivery log.
func (h *webhookPages) show(c *fiber.Ctx) error {
	w, p, err := h.webhookAndPage(c)
	if err != nil {
		return err
	}
	d, err := h.detail(c, w, p)
	if err != nil {
		return err
	}
	return render(c, w.URL, views.WebhookShowPage(d))
}

// GET /webhooks/:id/deliveries?page= — the delivery log (the page polls
// it while deliveries are under way).
func (h *webhookPages) deliveries(c *fiber.Ctx) error {
	w, p, err := h.webhookAndPage(c)
	if err != nil {
		return err
	}
	log, err := h.deliveryLog(c, w.ID, p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, w.URL, views.WebhookDeliveryLog(log))
}

func (h *webhookPages) webhookAndPage(c *fiber.Ctx) (*models.Webhook, models.Page, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, models.Page{}, err
	}
	p, err := page(c)
	if err != nil {
		return nil, p, err
	}
	p.Size = deliveryPageSize
	w, err := h.hooks.GetWebhook(c.UserContext(), id)
	return w, p, err
}

// detail is the page of w with page p of its delivery log.
func (h *webhookPages) detail(c *fiber.Ctx, w *models.Webhook, p models.Page) (views.WebhookDetail, error) {
	log, err := h.deliveryLog(c, w.ID, p)
	if err != nil {
		return views.WebhookDetail{}, err
	}
	return views.WebhookDetail{Webhook: w, Deliveries: log, Form: views.WebhookFormOf(w)}, nil
}

func (h *webhookPages) deliveryLog(c *fiber.Ctx, id models.ID, p models.Page) (views.WebhookDeliveries, error) {
	l, err := h.hooks.Deliveries(c.UserContext(), id, p)
	if err != nil {
		return views.WebhookDeliveries{}, err
	}
	return views.WebhookDeliveries{WebhookID: id, Items: l.Items, Total: l.Total, Page: p.Number, Pages: pageCount(l.Total, p.Size)}, nil
}

// POST /webhooks/:id — saves the URL, events and enabled flag; a bad
// field comes back beside it with the values sent, 422.
func (h *webhookPages) update(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	before, err := h.hooks.GetWebhook(c.UserContext(), id)
	if err != nil {
		return err
	}
	in, f := webhookForm(c)
	in.Secret = "" // kept; a new one is made by its own button
	err = checkEvents(f)
	var w *models.Webhook
	if err == nil {
		w, err = h.hooks.UpdateWebhook(c.UserContext(), id, in)
	}
	if err != nil {
		me, ok := models.AsError(err)
		if !ok || me.Kind == models.KindNotFound {
			return err
		}
		d, derr := h.detail(c, before, models.Page{Number: 1, Size: deliveryPageSize})
		if derr != nil {
			return derr
		}
		f.Errors = map[string]string{me.Field: me.Message}
		d.Form = f
		c.Status(fiber.StatusUnprocessableEntity)
		return render(c, before.URL, views.WebhookShowPage(d))
	}
	auditWebhook(c, w.ID, before, w, false)
	setFlash(c, "ok", "Saved the webhook.")
	return redirect(c, views.WebhookURL(w.ID))
}
