package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

type idemResult struct {
	status   int
	replayed bool
	body     []byte
}

// post sends one API POST as cr with key (none when empty).
func (s *testServer) idemPost(cr *creds, path, key string, body []byte) idemResult {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	cr.sign(req)
	resp, err := s.App.Test(req, 120_000)
	if err != nil {
		return idemResult{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return idemResult{resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", b}
}

func (s *testServer) countTasks(name string) int {
	s.t.Helper()
	var n int
	if err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM tasks WHERE name = $1`, name).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// TestIdempotentCreates: ten identical POST /api/v1/tasks sent at once
// with one Idempotency-Key make one task, and all ten get its response
// (nine marked replayed); the same key with another body is refused 422
// naming the header; another user's same key is theirs; a key older than
// 24 hours runs again; without a key every POST runs.
func TestIdempotentCreates(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	b := taskBody(devices)
	b["name"] = "idem-" + pk
	body, _ := json.Marshal(b)

	results := make([]idemResult, 10)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.idemPost(s.As, "/api/v1/tasks", "key-"+pk, body)
		}()
	}
	wg.Wait()
	replayed := 0
	for _, r := range results {
		if r.status != http.StatusCreated || !bytes.Equal(r.body, results[0].body) {
			t.Errorf("parallel repeat: %d %s (first %s)", r.status, r.body, results[0].body)
		}
		if r.replayed {
			replayed++
		}
	}
	if n := s.countTasks(b["name"].(string)); n != 1 || replayed != 9 {
		t.Fatalf("10 parallel POSTs with one key: %d tasks, %d replayed", n, replayed)
	}

	// the same key, another body
	b2 := taskBody(devices)
	b2["name"] = "idem-" + pk + "-other"
	body2, _ := json.Marshal(b2)
	r := s.idemPost(s.As, "/api/v1/tasks", "key-"+pk, body2)
	var e apiErr
	json.Unmarshal(r.body, &e)
	if r.status != http.StatusUnprocessableEntity || e.Error.Field != "Idempotency-Key" || s.countTasks(b2["name"].(string)) != 0 {
		t.Errorf("same key, other body: %d %s", r.status, r.body)
	}
	// the same key on another route is another request too
	if r := s.idemPost(s.As, "/api/v1/products", "key-"+pk, []byte(`{"productKey":"`+pk+`x"}`)); r.status != http.StatusUnprocessableEntity {
		t.Errorf("same key, other route: %d %s", r.status, r.body)
	}
	// a malformed key
	if r := s.idemPost(s.As, "/api/v1/tasks", "a key", body2); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Idempotency-Key") {
		t.Errorf("a key with a space: %d %s", r.status, r.body)
	}

	// another user's key of the same name is theirs
	op := s.user(models.RoleOperator)
	if r := s.idemPost(op, "/api/v1/tasks", "key-"+pk, body); r.status != http.StatusCreated || r.replayed {
		t.Errorf("another user, same key: %d replayed=%v", r.status, r.replayed)
	}
	if n := s.countTasks(b["name"].(string)); n != 2 {
		t.Errorf("tasks after another user's POST: %d", n)
	}

	// 24 hours on, the key runs again
	if _, err := s.Deps.DB.Pool.Exec(context.Background(),
		`UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' WHERE key = $1 AND user_id = $2`, "key-"+pk, s.As.User.ID); err != nil {
		t.Fatal(err)
	}
	if r := s.idemPost(s.As, "/api/v1/tasks", "key-"+pk, body); r.status != http.StatusCreated || r.replayed {
		t.Errorf("a key over 24 hours old: %d replayed=%v", r.status, r.replayed)
	}
	if n, err := s.Deps.DB.PurgeIdempotencyKeys(context.Background()); err != nil || n != 0 {
		t.Errorf("purge right after a fresh claim: %d %v", n, err)
	}

	// an error response is replayed too (it was the request's outcome)
	bad := []byte(`{"name":""}`)
	first := s.idemPost(s.As, "/api/v1/tasks", "bad-"+pk, bad)
	again := s.idemPost(s.As, "/api/v1/tasks", "bad-"+pk, bad)
	if first.status != http.StatusBadRequest || again.status != first.status || !again.replayed || !bytes.Equal(again.body, first.body) {
		t.Errorf("a refused request repeated: %d then %d replayed=%v", first.status, again.status, again.replayed)
	}

	// the hourly housekeeping deletes keys past 24 hours, and only those
	if _, err := s.Deps.DB.Pool.Exec(context.Background(),
		`UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' WHERE key = $1`, "bad-"+pk); err != nil {
		t.Fatal(err)
	}
	var left int
	n, err := s.Deps.DB.PurgeIdempotencyKeys(context.Background())
	s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys`).Scan(&left)
	if err != nil || n != 1 || left != 2 {
		t.Errorf("purge: %d deleted (%v), %d left; want 1 and 2", n, err, left)
	}

	// without a key, every POST runs
	b3 := taskBody(devices)
	b3["name"] = "idem-" + pk + "-nokey"
	body3, _ := json.Marshal(b3)
	for range 2 {
		if r := s.idemPost(s.As, "/api/v1/tasks", "", body3); r.status != http.StatusCreated {
			t.Fatalf("no key: %d %s", r.status, r.body)
		}
	}
	if n := s.countTasks(b3["name"].(string)); n != 2 {
		t.Errorf("two POSTs without a key: %d tasks", n)
	}
}

// TestCreateFormOnce: the create form carries a one-time key, so the same
// "Complete" sent twice (a double click, at once) creates one task and
// both answers go to it; the button is disabled while the request runs;
// the form sent again with other values is a new task.
func TestCreateFormOnce(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)

	resp, doc := s.page("GET", "/tasks/new", nil, false)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /tasks/new: %d", resp.StatusCode)
	}
	form := doc.Find("form#task-form")
	once := form.Find(`input[name="_once"]`).AttrOr("value", "")
	// the buttons are disabled by the form's own request only, not by the
	// requests of the fields inside it (the policy preview, the device
	// search, uploads), which would swallow a click on Complete
	if form.AttrOr("hx-disinherit", "") != "hx-disabled-elt" {
		t.Errorf("the create form lets its fields inherit hx-disabled-elt")
	}
	if len(once) < 20 || !strings.Contains(form.AttrOr("hx-disabled-elt", ""), "button") {
		t.Fatalf("create form: one-time key %q, hx-disabled-elt %q", once, form.AttrOr("hx-disabled-elt", ""))
	}
	// a second rendering has another key
	if _, d2 := s.page("GET", "/tasks/new", nil, false); d2.Find(`input[name="_once"]`).AttrOr("value", "") == once {
		t.Error("two renderings of the form share their key")
	}

	name := "once-" + pk
	values := createForm(pk)
	values.Set("_once", once)
	values.Set("name", name)
	locations := make([]string, 2)
	var wg sync.WaitGroup
	for i := range locations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("POST", "/tasks/new", strings.NewReader(values.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			s.As.sign(req)
			resp, err := s.App.Test(req, 120_000)
			if err != nil {
				return
			}
			resp.Body.Close()
			locations[i] = resp.Header.Get("Location")
		}()
	}
	wg.Wait()
	if n := s.countTasks(name); n != 1 || locations[0] == "" || locations[0] != locations[1] {
		t.Fatalf("Complete sent twice: %d tasks, redirects %q", n, locations)
	}
	// the kept page sent again with another name is another task
	values.Set("name", name+"-2")
	req := httptest.NewRequest("POST", "/tasks/new", strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, _ := s.fetch(req); resp.StatusCode != http.StatusSeeOther || s.countTasks(name+"-2") != 1 {
		t.Errorf("the same key with other values: %d, %d tasks", resp.StatusCode, s.countTasks(name+"-2"))
	}
}

// TestIdempotentUpload: a streamed upload repeated with its key (and a new
// multipart boundary, as clients make one per attempt) stores one file
// and replays its answer; the same key with other content is refused 422.
func TestIdempotentUpload(t *testing.T) {
	s := newFileServer(t)
	content := bytes.Repeat([]byte("firmware-"), 40_000) // 360 KB: read in many pieces
	name := testenv.Prefix(t) + ".bin"
	send := func(content []byte) idemResult {
		req := uploadRequest(t, "", kindPart("firmware"), filePart(name, content))
		req.Header.Set("Idempotency-Key", "upload-"+name)
		resp, raw := s.fetch(req)
		return idemResult{resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", raw}
	}
	first, again := send(content), send(content)
	if first.status != http.StatusCreated || again.status != http.StatusCreated || !again.replayed || !bytes.Equal(first.body, again.body) {
		t.Fatalf("upload repeated: %d then %d replayed=%v", first.status, again.status, again.replayed)
	}
	var n int
	if err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM files WHERE name = $1`, name).Scan(&n); err != nil || n != 1 {
		t.Errorf("files stored: %d %v", n, err)
	}
	changed := bytes.Clone(content)
	changed[200_000] = 'X'
	if r := send(changed); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "Idempotency-Key") {
		t.Errorf("same key, other content: %d %s", r.status, r.body)
	}
}
