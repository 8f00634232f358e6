package workers_test

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

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/workers"
)

// receiver is a local webhook receiver that answers each request with the
// next of its statuses (then 200) and keeps what it got.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []received
	srv      *httptest.Server
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		w.WriteHeader(status)
		io.WriteString(w, "noted")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// deliverAll runs the delivery task of each delivery not yet enqueued,
// as asynq would, once, and returns the tasks' errors.
func deliverAll(t *testing.T, hooks *models.Webhooks, d *workers.Deliverer) []error {
	t.Helper()
	ctx := context.Background()
	ids, err := hooks.UnsentDeliveries(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := hooks.MarkEnqueued(ctx, ids); err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, d.ProcessTask(ctx, workers.NewWebhookDeliverTask(id)))
	}
	return errs
}

// A completed task is POSTed to the webhook that takes task.completed,
// signed over "timestamp.body" with its secret; a 500 is tried again with
// the same delivery id, and the retry that succeeds is attempt 2. A
// duplicate of the task sends nothing more.
func TestWebhookDeliverySignedAndRetried(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	tasks := models.NewTasks(db, nil)
	hooks := models.NewWebhooks(db)
	ctx := context.Background()
	rcv := newReceiver(t, http.StatusInternalServerError)
	const secret = "a-secret-of-the-receiver-0123"
	hook, err := hooks.CreateWebhook(ctx, models.WebhookInput{URL: rcv.srv.URL + "/hook", Secret: secret, Enabled: true,
		Events: []models.EventType{models.EventCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	devices := testenv.SeedDevices(t, db, testenv.Prefix(t), 3)
	task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "reboot", JobDocument: []byte(`{"op":"reboot"}`),
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE subtasks SET status = CASE WHEN id = (SELECT min(id) FROM subtasks WHERE task_id = $1)
		THEN 'FAILED' ELSE 'SUCCEEDED' END WHERE task_id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.CompleteFinished(ctx); err != nil {
		t.Fatal(err)
	}
	d := workers.NewDeliverer(hooks, logger(), workers.WithPrivateAddresses(true))

	errs := deliverAll(t, hooks, d)
	if len(errs) != 1 || errs[0] == nil || !strings.Contains(errs[0].Error(), "500") {
		t.Fatalf("first attempt (answered 500): %v; want one error for asynq to retry", errs)
	}
	log, err := hooks.Deliveries(ctx, hook.ID, models.Page{Number: 1, Size: 10})
	if err != nil || len(log.Items) != 1 {
		t.Fatalf("delivery log %+v %v", log, err)
	}
	del := log.Items[0]
	if del.Status != models.DeliveryRetrying || del.Attempts != 1 || del.LastHTTPStatus == nil || *del.LastHTTPStatus != 500 ||
		!strings.Contains(del.LastError, "500") || del.NextAttemptAt == nil {
		t.Fatalf("after a 500: %+v", del)
	}
	// asynq's retry of the same task
	retry := workers.NewWebhookDeliverTask(del.ID)
	if err := d.ProcessTask(ctx, retry); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	// a duplicate of the task: nothing is sent again
	if err := d.ProcessTask(ctx, retry); err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	got, err := hooks.GetDelivery(ctx, del.ID)
	if err != nil || got.Status != models.DeliverySucceeded || got.Attempts != 2 || *got.LastHTTPStatus != 200 ||
		got.LastError != "" || got.FinishedAt == nil {
		t.Fatalf("after the retry: %+v %v", got, err)
	}

	reqs := rcv.requests()
	if len(reqs) != 2 {
		t.Fatalf("the receiver got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		h := r.header
		if h.Get("Content-Type") != "application/json" || h.Get("X-Fleettasks-Event") != "task.completed" ||
			h.Get("X-Fleettasks-Delivery") != del.ID {
			t.Errorf("request %d headers %v", i, h)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(h.Get("X-Fleettasks-Timestamp") + "." + string(r.body)))
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); h.Get("X-Fleettasks-Signature") != want {
			t.Errorf("request %d signature %q, want %q", i, h.Get("X-Fleettasks-Signature"), want)
		}
		var body struct {
			ID    string `json:"id"`
			Event string `json:"event"`
			Task  struct {
				ID     string           `json:"id"`
				Name   string           `json:"name"`
				Status string           `json:"status"`
				Counts map[string]int64 `json:"counts"`
			} `json:"task"`
			Data struct {
				Counts map[string]int64 `json:"counts"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.ID != del.ID || body.Event != "task.completed" || body.Task.ID != task.ID.String() || body.Task.Name != "reboot" ||
			body.Task.Status != "COMPLETED" || body.Data.Counts["SUCCEEDED"] != 2 || body.Data.Counts["FAILED"] != 1 {
			t.Errorf("request %d body %s", i, r.body)
		}
	}
	if string(reqs[0].body) != string(reqs[1].body) {
		t.Errorf("the retry's body differs:\n%s\n%s", reqs[0].body, reqs[1].body)
	}
}

// A webhook is sent the events it takes and no other: a task created,
// started and cancelled sends nothing to a webhook of task.completed.
func TestWebhookSkipsEventsNotTaken(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	tasks := models.NewTasks(db, nil)
	hooks := models.NewWebhooks(db)
	ctx := context.Background()
	rcv := newReceiver(t)
	hook, err := hooks.CreateWebhook(ctx, models.WebhookInput{URL: rcv.srv.URL, Enabled: true,
		Events: []models.EventType{models.EventCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	devices := testenv.SeedDevices(t, db, testenv.Prefix(t), 2)
	task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "n", JobDocument: []byte(`{}`),
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.RolloutStep(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.CancelTask(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(events(t, tasks, task.ID)); n != 3 {
		t.Fatalf("%d events, want created, started, cancelled", n)
	}
	d := workers.NewDeliverer(hooks, logger(), workers.WithPrivateAddresses(true))
	if errs := deliverAll(t, hooks, d); len(errs) != 0 {
		t.Fatalf("deliveries made: %v", errs)
	}
	if l, err := hooks.Deliveries(ctx, hook.ID, models.Page{Number: 1, Size: 10}); err != nil || l.Total != 0 {
		t.Fatalf("delivery log %+v %v", l, err)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}

// Unless FLEETTASKS_WEBHOOK_ALLOW_PRIVATE says otherwise, nothing is sent
// to an address of this machine or of a private network: the delivery
// fails at once, saying why.
func TestWebhookRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	hooks := models.NewWebhooks(db)
	ctx := context.Background()
	rcv := newReceiver(t)
	port := rcv.srv.URL[strings.LastIndex(rcv.srv.URL, ":"):]
	d := workers.NewDeliverer(hooks, logger())
	for _, u := range []string{rcv.srv.URL, "http://localhost" + port, "http://[::1]" + port, "http://169.254.169.254/latest/meta-data"} {
		hook, err := hooks.CreateWebhook(ctx, models.WebhookInput{URL: u, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		del, err := hooks.SendTest(ctx, hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		if errs := deliverAll(t, hooks, d); len(errs) != 1 || errs[0] != nil {
			t.Fatalf("%s: %v; want the delivery failed without a retry", u, errs)
		}
		got, err := hooks.GetDelivery(ctx, del.ID)
		if err != nil || got.Status != models.DeliveryFailed || got.Attempts != 1 || got.LastHTTPStatus != nil ||
			!strings.Contains(got.LastError, "FLEETTASKS_WEBHOOK_ALLOW_PRIVATE") {
			t.Fatalf("%s: %+v %v", u, got, err)
		}
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}

func events(t *testing.T, tasks *models.Tasks, id models.ID) []models.TaskEvent {
	t.Helper()
	l, err := tasks.TaskEvents(context.Background(), id, models.Page{Number: 1, Size: 100}, false)
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}
