package views

import "fleettasks/models"

// WebhooksURL is the webhook list (GET) and creates one (POST).
func WebhooksURL() string { return "/webhooks" }

// WebhookURL is a webhook's page (GET) and saves its edit (POST).
func WebhookURL(id models.ID) string { return "/webhooks/" + id.String() }

// WebhookDeliveriesURL is page n of a webhook's delivery log (the page's
// fragment, polled while deliveries are under way).
func WebhookDeliveriesURL(id models.ID, n int) string {
	return pageURL(WebhookURL(id)+"/deliveries", n)
}

// WebhookPageURL is a webhook's page with page n of its delivery log.
func WebhookPageURL(id models.ID, n int) string { return pageURL(WebhookURL(id), n) }

// WebhookSecretURL makes a new secret (POST).
func WebhookSecretURL(id models.ID) string { return WebhookURL(id) + "/secret" }

// WebhookTestURL sends a test event (POST).
func WebhookTestURL(id models.ID) string { return WebhookURL(id) + "/test" }

// WebhookDeleteURL deletes a webhook (POST).
func WebhookDeleteURL(id models.ID) string { return WebhookURL(id) + "/delete" }

// TaskTimelineURL is page n of a task's events (its timeline).
func TaskTimelineURL(id models.ID, n int) string { return pageURL("/tasks/"+id.String()+"/timeline", n) }
