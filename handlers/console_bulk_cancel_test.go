package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"fleettasks/models"
)

// TestConsoleBulkCancel: the tasks ticked in the list are cancelled each
// through the same cancel as one task, each with its own audit entry; the
// list comes back saying how many were cancelled and how many had
// finished; a second submit cancels nothing twice.
func TestConsoleBulkCancel(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	tasks := s.listTasks("one", "two", "three", "done")
	if _, err := s.Deps.Tasks.CancelTask(ctx, tasks[3].ID); err != nil {
		t.Fatal(err)
	}
	const list = "/tasks?pageSize=50&sort=name"
	// the form: the rows that can be cancelled have a checkbox of it
	_, doc := s.page("GET", list, nil, false)
	form := testid(doc, "bulk-cancel-form")
	if form.AttrOr("action", "") != "/tasks/cancel" || form.Find(`input[name="next"]`).AttrOr("value", "") != list ||
		form.Find(`input[name="_csrf"]`).AttrOr("value", "") == "" || testid(doc, "bulk-cancel").AttrOr("disabled", "x") != "" {
		t.Fatalf("bulk form %q", form.Text())
	}
	if n := doc.Find(`input[type=checkbox][form="bulk-cancel"][name="id"]`).Length(); n != 3 || testid(doc, "select-all").Length() != 1 {
		t.Fatalf("%d row checkboxes", n)
	}

	ids := func(ts ...*models.Task) url.Values {
		v := url.Values{"next": {list}}
		for _, t := range ts {
			v.Add("id", t.ID.String())
		}
		return v
	}
	audits := func() int {
		l, err := s.Deps.Audit.ListAudit(ctx, models.AuditFilter{Action: "task.cancel"}, models.Page{Number: 1, Size: 50})
		if err != nil {
			t.Fatal(err)
		}
		return int(l.Total)
	}
	s.As = s.user(models.RoleOperator)
	resp, _ := s.page("POST", "/tasks/cancel", ids(tasks[0], tasks[1], tasks[3]), false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != list || flash(resp) != "ok|2 cancelled, 1 already finished." {
		t.Fatalf("bulk cancel: %d %s %q", resp.StatusCode, resp.Header.Get("Location"), flash(resp))
	}
	for i, want := range []models.TaskStatus{models.TaskCancelled, models.TaskCancelled, models.TaskInProgress} {
		if got, _ := s.Deps.Tasks.GetTask(ctx, tasks[i].ID); got.Status != want {
			t.Errorf("%s: %s, want %s", tasks[i].Name, got.Status, want)
		}
	}
	entries, err := s.Deps.Audit.ListAudit(ctx, models.AuditFilter{Action: "task.cancel"}, models.Page{Number: 1, Size: 50})
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, e := range entries.Items {
		targets[e.Target] = e.Email == s.As.User.Email
	}
	if len(targets) != 2 || !targets["task:"+tasks[0].ID.String()] || !targets["task:"+tasks[1].ID.String()] {
		t.Fatalf("audit entries %v", targets)
	}

	// the same form sent again (a double click) gets the first answer,
	// and nothing runs again
	once := form.Find(`input[name="_once"]`).AttrOr("value", "")
	withOnce := ids(tasks[0], tasks[2])
	withOnce.Set("_once", once)
	if once == "" {
		t.Fatal("the bulk form has no one-time key")
	}
	resp, _ = s.page("POST", "/tasks/cancel", withOnce, false)
	if flash(resp) != "ok|1 cancelled, 1 already finished." || audits() != 3 {
		t.Fatalf("with its one-time key: %q, %d audit entries", flash(resp), audits())
	}
	resp, _ = s.page("POST", "/tasks/cancel", withOnce, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Idempotent-Replayed") != "true" || resp.Header.Get("Location") != list || audits() != 3 {
		t.Fatalf("double submit: %d replayed %q, %d audit entries", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), audits())
	}
	// sent again from another page (a new key, or none): each cancel is
	// refused by its rule, nothing is cancelled twice or recorded again
	resp, _ = s.page("POST", "/tasks/cancel", ids(tasks[0], tasks[1], tasks[3]), false)
	if resp.StatusCode != http.StatusSeeOther || flash(resp) != "error|0 cancelled, 3 already finished." || audits() != 3 {
		t.Fatalf("second submit: %d %q, %d audit entries", resp.StatusCode, flash(resp), audits())
	}
	// a deleted task is counted apart
	if err := s.Deps.Tasks.DeleteTask(ctx, tasks[0].ID); err != nil {
		t.Fatal(err)
	}
	more := s.listTasks("four", "five")
	resp, _ = s.page("POST", "/tasks/cancel", ids(tasks[0], more[0], more[0]), false)
	if flash(resp) != "ok|1 cancelled, 1 no longer there (deleted)." || audits() != 4 {
		t.Fatalf("with a deleted task: %q, %d audit entries", flash(resp), audits())
	}

	// nothing chosen, or not ids: 400; support: 403; no CSRF token: 403
	for _, bad := range []url.Values{{"next": {list}}, {"id": {"x"}}} {
		if resp, _ := s.page("POST", "/tasks/cancel", bad, false); resp.StatusCode != 400 {
			t.Errorf("%v: %d", bad, resp.StatusCode)
		}
	}
	more = more[1:]
	s.As = s.user(models.RoleSupport)
	if resp, _ := s.page("POST", "/tasks/cancel", ids(more...), false); resp.StatusCode != http.StatusForbidden {
		t.Errorf("support: %d", resp.StatusCode)
	}
	_, doc = s.page("GET", "/tasks", nil, false)
	if testid(doc, "bulk-cancel-form").Length()+testid(doc, "row-select").Length()+testid(doc, "select-all").Length() != 0 {
		t.Error("support is offered the bulk cancel")
	}
	s.As = s.user(models.RoleAdmin)
	s.As.CSRF = "forged"
	if resp, _ := s.page("POST", "/tasks/cancel", ids(more...), false); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", resp.StatusCode)
	}
	if got, _ := s.Deps.Tasks.GetTask(ctx, more[0].ID); got.Status != models.TaskInProgress {
		t.Errorf("a refused bulk cancel cancelled %s", got.Name)
	}
}
