package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// webhookPages is the admin's console of webhooks.
type webhookPages struct {
	hooks *models.Webhooks
}

func newWebhookPages(hooks *models.Webhooks) *webhookPages { return &webhookPages{hooks: hooks} }

// GET /webhooks?page= — the webhooks and the form to create one.
func (h *webhookPages) list(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	d, err := h.listData(c, p)
	if err != nil {
		return err
	}
	d.Form = views.NewWebhookForm()
	return render(c, "Webhooks", views.WebhookListPage(d))
}

func (h *webhookPages) listData(c *fiber.Ctx, p models.Page) (views.WebhookList, error) {
	l, err := h.hooks.ListWebhooks(c.UserContext(), p)
	if err != nil {
		return views.WebhookList{}, err
	}
	return views.WebhookList{Webhooks: l.Items, Total: l.Total, Page: p.Number, Pages: pageCount(l.Total, p.Size)}, nil
}

// webhookForm reads the create or edit form: its input, and the form as
// sent to show again on an error.
func webhookForm(c *fiber.Ctx) (models.WebhookInput, views.WebhookForm) {
	f := views.WebhookForm{URL: c.FormValue("url"), All: c.FormValue("all") == "true", Enabled: c.FormValue("enabled") == "true"}
	for _, e := range c.Request().PostArgs().PeekMulti("events") {
		f.Events = append(f.Events, models.EventType(e))
	}
	in := models.WebhookInput{URL: f.URL, Enabled: f.Enabled, Secret: c.FormValue("secret")}
	if !f.All {
		in.Events = f.Events
	}
	return in, f
}

// checkEvents refuses a form with neither "all events" nor any event.
func checkEvents(f views.WebhookForm) error {
	if !f.All && len(f.Events) == 0 {
		return models.Invalid("events", "choose the events to send, or All events")
	}
	return nil
}

// POST /webhooks — creates a webhook and answers its page with its
// secret, this once (never redirected: the secret goes in no URL or
// cookie). A bad field comes back beside it with the values sent (never
// the secret), 422.
func (h *webhookPages) create(c *fiber.Ctx) error {
	in, f := webhookForm(c)
	err := checkEvents(f)
	var w *models.Webhook
	if err == nil {
		w, err = h.hooks.CreateWebhook(c.UserContext(), in)
	}
	if err != nil {
		me, ok := models.AsError(err)
		if !ok {
			return err
		}
		f.Errors = map[string]string{me.Field: me.Message}
		d, err := h.listData(c, models.Page{Number: 1, Size: 20})
		if err != nil {
			return err
		}
		d.Form = f
		c.Status(fiber.StatusUnprocessableEntity)
		return render(c, "Webhooks", views.WebhookListPage(d))
	}
	auditWebhook(c, w.ID, nil, w, false)
	d, err := h.detail(c, w, models.Page{Number: 1, Size: deliveryPageSize})
	if err != nil {
		return err
	}
	d.NewSecret = w.Secret
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Status(fiber.StatusCreated)
	return render(c, w.URL, views.WebhookShowPage(d))
}
