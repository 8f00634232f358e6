package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// apiWebhooks serves /api/v1/webhooks (admins).
type apiWebhooks struct {
	hooks *models.Webhooks
}

func newAPIWebhooks(hooks *models.Webhooks) *apiWebhooks { return &apiWebhooks{hooks: hooks} }

// webhookBody is a webhook as the API reads it: on a PATCH, the fields
// left out keep their values.
type webhookBody struct {
	URL     *string             `json:"url"`
	Events  *[]models.EventType `json:"events"`
	Secret  *string             `json:"secret"`
	Enabled *bool               `json:"enabled"`
}

// withSecret is a webhook with its secret: the answer of the requests
// that make one (shown this once).
type withSecret struct {
	*models.Webhook
	Secret string `json:"secret"`
}

func (h *apiWebhooks) create(c *fiber.Ctx) error {
	var b webhookBody
	if err := bodyJSON(c, &b); err != nil {
		return err
	}
	in := models.WebhookInput{Enabled: true}
	b.apply(&in)
	w, err := h.hooks.CreateWebhook(c.UserContext(), in)
	if err != nil {
		return err
	}
	auditWebhook(c, w.ID, nil, w, false)
	return c.Status(fiber.StatusCreated).JSON(withSecret{w, w.Secret})
}

func (b webhookBody) apply(in *models.WebhookInput) {
	if b.URL != nil {
		in.URL = *b.URL
	}
	if b.Events != nil {
		in.Events = *b.Events
	}
	if b.Secret != nil {
		in.Secret = *b.Secret
	}
	if b.Enabled != nil {
		in.Enabled = *b.Enabled
	}
}

func (h *apiWebhooks) list(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	l, err := h.hooks.ListWebhooks(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(l)
}

func (h *apiWebhooks) get(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	w, err := h.hooks.GetWebhook(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(w)
}

// PATCH /api/v1/webhooks/:id — "secret": "" makes a new secret, a value
// sets it; either way the answer carries it, this once.
func (h *apiWebhooks) patch(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var b webhookBody
	if err := bodyJSON(c, &b); err != nil {
		return err
	}
	before, err := h.hooks.GetWebhook(c.UserContext(), id)
	if err != nil {
		return err
	}
	in := models.WebhookInput{URL: before.URL, Events: before.Events, Enabled: before.Enabled}
	b.apply(&in)
	rotate := b.Secret != nil
	if rotate && in.Secret == "" {
		in.Secret = models.NewWebhookSecret()
	}
	w, err := h.hooks.UpdateWebhook(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	auditWebhook(c, w.ID, before, w, rotate)
	if rotate {
		return c.JSON(withSecret{w, w.Secret})
	}
	return c.JSON(w)
}

func (h *apiWebhooks) remove(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	w, err := h.hooks.DeleteWebhook(c.UserContext(), id)
	if err != nil {
		return err
	}
	auditWebhook(c, w.ID, w, nil, false)
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *apiWebhooks) deliveries(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	l, err := h.hooks.Deliveries(c.UserContext(), id, p)
	if err != nil {
		return err
	}
	return c.JSON(l)
}

// POST /api/v1/webhooks/:id/test — records a webhook.test delivery, sent
// within seconds; 202 with the delivery to follow in the log.
func (h *apiWebhooks) test(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := h.hooks.SendTest(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(d)
}

// auditWebhook names webhook id as the target and records its changed
// fields; a new secret is recorded as made, never its value.
func auditWebhook(c *fiber.Ctx, id models.ID, before, after *models.Webhook, rotated bool) {
	auditTarget(c, "webhook", id)
	field := func(w *models.Webhook) (url, events, enabled any) {
		if w == nil {
			return nil, nil, nil
		}
		return w.URL, eventsText(w.Events), w.Enabled
	}
	bu, be, bn := field(before)
	au, ae, an := field(after)
	ch := models.Changed("url", bu, au, "events", be, ae, "enabled", bn, an)
	if rotated {
		ch["secret"] = models.Change{Before: "(kept)", After: "(new secret)"}
	}
	auditChanges(c, ch)
}

// eventsText is a webhook's events as the audit log and the console say
// them.
func eventsText(es []models.EventType) string {
	if len(es) == 0 {
		return "all"
	}
	s := ""
	for i, e := range es {
		if i > 0 {
			s += ", "
		}
		s += string(e)
	}
	return s
}
