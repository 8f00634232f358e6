package browser_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// hookRequest is a request the test's webhook receiver got.
type hookRequest struct {
	header http.Header
	body   []byte
}

// TestWebhooksInBrowser: an admin creates a webhook pointing at a local
// receiver, sends a test event and sees it succeed in the delivery log; a
// task then runs to completion on simulated devices, the receiver gets a
// signed task.completed, and the task's page shows its timeline.
func TestWebhooksInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	var (
		mu  sync.Mutex
		got []hookRequest
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, hookRequest{r.Header.Clone(), body})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	s.devices("wh", 2)
	s.simulate("wh", 2, sim.Succeed)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)

	run(t, ctx, "create a webhook",
		chromedp.Navigate(s.url+"/tasks"),
		chromedp.Click(chromedp.CSS(`nav[aria-label="Main"] a[href="/webhooks"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="empty-state"]`)),
		chromedp.SendKeys(chromedp.CSS(`#webhook-url`), rcv.URL+"/hook"),
		chromedp.Click(chromedp.CSS(`[data-testid="create-webhook"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="webhook-secret-value"]`)),
	)
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="webhook-secret-value"]`)))
	secret = strings.TrimSpace(secret)
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret shown: %q %v", secret, err)
	}
	run(t, ctx, "send a test event",
		chromedp.Click(chromedp.CSS(`[data-testid="send-test"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="delivery-row"][data-event="webhook.test"]`)),
	)
	waitJS(t, ctx, "the delivery log shows the test event succeeded (it refreshes itself)",
		`(() => { const r = document.querySelector('[data-testid="delivery-row"][data-event="webhook.test"]');
		  return r !== null && r.dataset.status === 'succeeded' &&
		    r.querySelector('[data-testid="delivery-attempts"]').textContent.trim() === '1' &&
		    r.querySelector('[data-testid="delivery-http"]').textContent.trim() === '204'; })()`, 30*time.Second)
	screenshot(t, ctx, "webhook")

	// created as the signed-in admin would (the console names them)
	admin := models.WithActor(context.Background(), "admin@"+s.pk+".example.com")
	task, err := s.app.Tasks.CreateTask(admin, models.TaskInput{Name: "timeline lamps", JobDocument: []byte(`{"k":"v"}`),
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: []models.DeviceRef{{ProductKey: s.pk, DeviceName: "wh1"}, {ProductKey: s.pk, DeviceName: "wh2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var completed *hookRequest
	for deadline := time.Now().Add(60 * time.Second); completed == nil; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no task.completed within 60 s; the receiver got %d requests", len(got))
		}
		mu.Lock()
		for i := range got {
			if got[i].header.Get("X-Fleettasks-Event") == "task.completed" {
				completed = &got[i]
			}
		}
		mu.Unlock()
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(completed.header.Get("X-Fleettasks-Timestamp") + "." + string(completed.body)))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); completed.header.Get("X-Fleettasks-Signature") != want {
		t.Fatalf("task.completed signed %q, want %q", completed.header.Get("X-Fleettasks-Signature"), want)
	}
	var body struct {
		ID   string `json:"id"`
		Task struct {
			ID     string           `json:"id"`
			Status string           `json:"status"`
			Counts map[string]int64 `json:"counts"`
		} `json:"task"`
	}
	if err := json.Unmarshal(completed.body, &body); err != nil || body.ID != completed.header.Get("X-Fleettasks-Delivery") ||
		body.Task.ID != task.ID.String() || body.Task.Status != "COMPLETED" || body.Task.Counts["SUCCEEDED"] != 2 {
		t.Fatalf("task.completed body %s: %v", completed.body, err)
	}

	run(t, ctx, "the task's timeline",
		chromedp.Navigate(s.url+"/tasks/"+task.ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-timeline"]`)),
	)
	waitJS(t, ctx, "the timeline lists completed, started and created, newest first",
		`Array.from(document.querySelectorAll('[data-testid="timeline-row"]')).map(r => r.dataset.event).join(' ') ===
		 'task.completed task.started task.created' &&
		 document.querySelector('[data-testid="timeline-row"][data-event="task.created"] [data-testid="timeline-actor"]').textContent.trim() === 'admin@`+s.pk+`.example.com' &&
		 document.querySelector('[data-testid="timeline-row"][data-event="task.completed"] [data-testid="timeline-actor"]').textContent.trim() === 'fleettasks (engine)'`, 5*time.Second)
	screenshot(t, ctx, "task-timeline")
	l, err := s.app.Webhooks.ListWebhooks(context.Background(), models.Page{Number: 1, Size: 10})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("webhooks %+v %v", l, err)
	}
	run(t, ctx, "the delivery log", chromedp.Navigate(s.url+"/webhooks/"+l.Items[0].ID.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="delivery-table"]`)))
	waitJS(t, ctx, "the delivery log shows task.completed succeeded, with the id the receiver got",
		`(() => { const r = document.querySelector('[data-testid="delivery-row"][data-event="task.completed"]');
		  return r !== null && r.dataset.status === 'succeeded' &&
		    r.querySelector('[data-testid="delivery-id"]').textContent.trim() === '`+body.ID+`'; })()`, 30*time.Second)
}
