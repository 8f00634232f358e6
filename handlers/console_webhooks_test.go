package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"fleettasks/models"
)

// Webhooks are an admin's: the console pages create one (errors beside
// their field, the input kept), show its secret once, send a test event
// into its delivery log, make a new secret and delete it; the audit log
// never holds a secret. Operators and support get 403.
func TestConsoleWebhooks(t *testing.T) {
	s := newTestServer(t)
	resp, doc := s.page("GET", "/webhooks", nil, false)
	if resp.StatusCode != 200 || testid(doc, "empty-state").Length() != 1 ||
		doc.Find(`nav[aria-label="Main"] a[href="/webhooks"]`).Length() != 1 {
		t.Fatalf("GET /webhooks: %d, empty state %d", resp.StatusCode, testid(doc, "empty-state").Length())
	}

	for _, c := range []struct {
		form  url.Values
		errID string
		want  string
	}{
		{url.Values{"url": {"ftp://files.example.com/in"}, "all": {"true"}}, "error-webhook-url-error", "http:// or https://"},
		{url.Values{"url": {"not a url"}, "all": {"true"}}, "error-webhook-url-error", "http:// or https://"},
		{url.Values{"url": {"https://hooks.example.com/in"}}, "error-webhook-events-error", "choose the events"},
		{url.Values{"url": {"https://hooks.example.com/in"}, "all": {"true"}, "secret": {"short"}}, "error-webhook-secret-error", "16 to 256"},
	} {
		resp, doc := s.page("POST", "/webhooks", c.form, false)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testid(doc, c.errID).Text(), c.want) {
			t.Errorf("%v: %d %q", c.form, resp.StatusCode, testid(doc, c.errID).Text())
		}
		if got := doc.Find("#webhook-url").AttrOr("value", ""); got != c.form.Get("url") {
			t.Errorf("%v: the URL field kept %q", c.form, got)
		}
	}

	resp, doc = s.page("POST", "/webhooks", url.Values{"url": {"https://hooks.example.com/in"}, "events": {"task.completed", "task.tripped"},
		"enabled": {"true"}}, false)
	secret := testid(doc, "webhook-secret-value").Text()
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(secret, "whsec_") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d, secret %q", resp.StatusCode, secret)
	}
	l, err := s.hooks().ListWebhooks(context.Background(), models.Page{Number: 1, Size: 10})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("webhooks %+v %v", l, err)
	}
	w := l.Items[0]
	if w.Secret != secret || !w.Enabled || len(w.Events) != 2 || !w.Takes(models.EventTripped) || w.Takes(models.EventCreated) {
		t.Fatalf("created %+v", w)
	}
	path := "/webhooks/" + w.ID.String()
	_, doc = s.page("GET", path, nil, false)
	if testid(doc, "webhook-secret").Length() != 0 || strings.Contains(doc.Text(), secret) {
		t.Fatal("the secret is shown again")
	}
	if testid(doc, "deliveries-empty").Length() != 1 || !doc.Find(`[data-testid="webhook-event-task.completed"]`).Is("[checked]") {
		t.Fatal("the new webhook's page")
	}

	resp, _ = s.page("POST", path+"/test", url.Values{}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path {
		t.Fatalf("test event: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, doc = s.page("GET", path, nil, false)
	row := testid(doc, "delivery-row")
	if row.Length() != 1 || row.AttrOr("data-event", "") != "webhook.test" || row.AttrOr("data-status", "") != "pending" ||
		testid(doc, "delivery-log").AttrOr("hx-trigger", "") != "every 2s" {
		t.Fatalf("delivery log after a test: %q", testid(doc, "delivery-log").Text())
	}

	resp, doc = s.page("POST", path, url.Values{"url": {"gopher://x"}, "all": {"true"}, "enabled": {"true"}}, false)
	if resp.StatusCode != http.StatusUnprocessableEntity || testid(doc, "error-webhook-url-error").Length() != 1 ||
		doc.Find("#webhook-url").AttrOr("value", "") != "gopher://x" {
		t.Fatalf("bad edit: %d", resp.StatusCode)
	}
	resp, _ = s.page("POST", path, url.Values{"url": {"https://hooks.example.com/v2"}, "all": {"true"}}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	if w2, _ := s.hooks().GetWebhook(context.Background(), w.ID); w2.URL != "https://hooks.example.com/v2" || w2.Enabled ||
		len(w2.Events) != 0 || w2.Secret != secret {
		t.Fatalf("edited %+v", w2)
	}

	resp, doc = s.page("POST", path+"/secret", url.Values{}, false)
	rotated := testid(doc, "webhook-secret-value").Text()
	if resp.StatusCode != 200 || !strings.HasPrefix(rotated, "whsec_") || rotated == secret {
		t.Fatalf("new secret: %d %q", resp.StatusCode, rotated)
	}
	for _, a := range []string{"webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.test"} {
		target, ch := s.lastAudit(a)
		if target != "webhook:"+w.ID.String() || strings.Contains(fmt.Sprint(ch), secret) || strings.Contains(fmt.Sprint(ch), rotated) {
			t.Errorf("audit %s: %s %v", a, target, ch)
		}
	}

	for _, role := range []models.Role{models.RoleOperator, models.RoleSupport} {
		cr := s.user(role)
		s.as(cr, func() {
			for _, r := range []struct{ method, path string }{{"GET", "/webhooks"}, {"GET", path}, {"POST", path + "/test"}, {"POST", "/webhooks"}} {
				var form url.Values
				if r.method == "POST" {
					form = url.Values{"url": {"https://x.example.com"}, "all": {"true"}}
				}
				if resp, _ := s.page(r.method, r.path, form, false); resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s %s: %d", role, r.method, r.path, resp.StatusCode)
				}
			}
			if code, _ := s.do("GET", "/api/v1/webhooks", nil, nil); code != http.StatusForbidden {
				t.Errorf("%s GET /api/v1/webhooks: %d", role, code)
			}
		})
	}

	resp, _ = s.page("POST", path+"/delete", url.Values{}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/webhooks" {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := s.page("GET", path, nil, false); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted webhook: %d", resp.StatusCode)
	}
}

func (s *testServer) hooks() *models.Webhooks { return models.NewWebhooks(s.Deps.DB) }

// The JSON API: webhooks CRUD, the delivery log and a test event, and a
// task's events with who did what.
func TestWebhooksAndTaskEventsAPI(t *testing.T) {
	s := newTestServer(t)
	var w struct {
		ID      models.ID `json:"id"`
		URL     string    `json:"url"`
		Events  []string  `json:"events"`
		Enabled bool      `json:"enabled"`
		Secret  *string   `json:"secret"`
	}
	var e struct {
		Error struct{ Code, Field string }
	}
	for _, bad := range []string{`{"url":"javascript:alert(1)"}`, `{"url":"https://h.example.com","events":["task.bogus"]}`, `{"url":""}`} {
		if code, _ := s.do("POST", "/api/v1/webhooks", bad, &e); code != 400 || e.Error.Field == "" {
			t.Errorf("POST %s: %d %+v", bad, code, e)
		}
	}
	if code, raw := s.do("POST", "/api/v1/webhooks", `{"url":"https://h.example.com/in","events":["task.completed"]}`, &w); code != 201 ||
		w.Secret == nil || !strings.HasPrefix(*w.Secret, "whsec_") || !w.Enabled || len(w.Events) != 1 {
		t.Fatalf("create: %d %s", code, raw)
	}
	first := *w.Secret
	path := "/api/v1/webhooks/" + w.ID.String()
	w.Secret = nil
	if code, raw := s.do("GET", path, nil, &w); code != 200 || w.Secret != nil || strings.Contains(string(raw), first) {
		t.Fatalf("get: %d %s", code, raw)
	}
	if code, raw := s.do("PATCH", path, `{"enabled":false}`, &w); code != 200 || w.Enabled || w.Secret != nil || w.URL != "https://h.example.com/in" {
		t.Fatalf("patch: %d %s", code, raw)
	}
	if code, raw := s.do("PATCH", path, `{"secret":""}`, &w); code != 200 || w.Secret == nil || *w.Secret == first {
		t.Fatalf("new secret: %d %s", code, raw)
	}
	var d models.WebhookDelivery
	if code, raw := s.do("POST", path+"/test", nil, &d); code != 202 || d.Event != models.EventTest || d.Status != models.DeliveryPending || d.ID == "" {
		t.Fatalf("test: %d %s", code, raw)
	}
	var log models.List[models.WebhookDelivery]
	if code, raw := s.do("GET", path+"/deliveries", nil, &log); code != 200 || log.Total != 1 || log.Items[0].ID != d.ID {
		t.Fatalf("deliveries: %d %s", code, raw)
	}
	if code, _ := s.do("DELETE", path, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := s.do("GET", path+"/deliveries", nil, nil); code != 404 {
		t.Fatalf("deliveries of a deleted webhook: %d", code)
	}

	task, _ := s.consoleTask("events", 2)
	if code, _ := s.do("POST", "/api/v1/tasks/"+task.ID.String()+"/cancel", nil, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	var events models.List[models.TaskEvent]
	if code, raw := s.do("GET", "/api/v1/tasks/"+task.ID.String()+"/events", nil, &events); code != 200 || events.Total != 2 ||
		events.Items[0].Event != models.EventCreated || events.Items[1].Event != models.EventCancelled ||
		events.Items[1].Actor != s.As.User.Email+" (API token)" {
		t.Fatalf("events: %d %s", code, raw)
	}
	if code, _ := s.do("GET", "/api/v1/tasks/999999/events", nil, nil); code != 404 {
		t.Fatalf("events of no task: %d", code)
	}
	_, doc := s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	rows := testid(doc, "timeline-row")
	if rows.Length() != 2 || rows.First().AttrOr("data-event", "") != "task.cancelled" ||
		!strings.Contains(rows.First().Text(), s.As.User.Email) {
		t.Fatalf("timeline: %q", testid(doc, "task-timeline").Text())
	}
}
