package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// rowNames are the task names of the list's rows, in order.
func rowNames(doc *goquery.Document) string {
	var names []string
	testid(doc, "task-row").Each(func(_ int, r *goquery.Selection) {
		names = append(names, r.Find("td a.link").First().Text())
	})
	return strings.Join(names, ",")
}

func TestConsoleTaskListSorts(t *testing.T) {
	s := newTestServer(t)
	tasks := s.listTasks("bravo", "Alpha", "charlie")
	later := time.Now().Add(time.Hour)
	pk := testenv.Prefix(t)
	dev := testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	if _, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: "delta", ScheduledAt: &later,
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: dev}, JobDocument: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deps.Tasks.CancelTask(context.Background(), tasks[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ query, want, sorted, aria, next string }{
		{"", "delta,charlie,Alpha,bravo", "created", "descending", "/tasks?order=asc"},
		{"?sort=created&order=asc", "bravo,Alpha,charlie,delta", "created", "ascending", "/tasks"},
		{"?sort=name", "Alpha,bravo,charlie,delta", "name", "ascending", "/tasks?order=desc&sort=name"},
		{"?sort=name&order=desc", "delta,charlie,bravo,Alpha", "name", "descending", "/tasks?sort=name"},
		{"?sort=status", "bravo,Alpha,charlie,delta", "status", "ascending", "/tasks?order=desc&sort=status"}, // CANCELLED, IN_PROGRESS (oldest first), SCHEDULED
		// not started yet: after every start, so first when newest first
		{"?sort=started", "delta,charlie,Alpha,bravo", "started", "descending", "/tasks?order=asc&sort=started"},
		{"?sort=started&order=asc", "bravo,Alpha,charlie,delta", "started", "ascending", "/tasks?sort=started"},
	} {
		resp, doc := s.page("GET", "/tasks"+tc.query, nil, true)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", tc.query, resp.StatusCode)
		}
		if got := rowNames(doc); got != tc.want {
			t.Errorf("%s: rows %s, want %s", tc.query, got, tc.want)
		}
		sorted := doc.Find("th[aria-sort]")
		if sorted.Length() != 1 || sorted.AttrOr("aria-sort", "") != tc.aria || sorted.Find(`[data-testid="sort-`+tc.sorted+`"]`).Length() != 1 {
			t.Errorf("%s: aria-sort on %q = %q", tc.query, sorted.Text(), sorted.AttrOr("aria-sort", ""))
		}
		if href := testid(doc, "sort-"+tc.sorted).AttrOr("href", ""); href != tc.next {
			t.Errorf("%s: the sorted header leads to %s, want %s", tc.query, href, tc.next)
		}
	}
	// another column starts in its own order, from page 1, the filters kept
	_, doc := s.page("GET", "/tasks?q=a&status=IN_PROGRESS&sort=name&order=desc", nil, true)
	if href := testid(doc, "sort-created").AttrOr("href", ""); href != "/tasks?q=a&status=IN_PROGRESS" {
		t.Errorf("Created header: %s", href)
	}
	if href := testid(doc, "sort-started").AttrOr("hx-get", ""); href != "/tasks?q=a&sort=started&status=IN_PROGRESS" {
		t.Errorf("Started header: %s", href)
	}
	// the sort goes with the next filter (hidden fields of the filter form)
	if doc.Find(`input[type=hidden][form="task-filter"][name="sort"]`).AttrOr("value", "") != "name" ||
		doc.Find(`input[type=hidden][form="task-filter"][name="order"]`).AttrOr("value", "") != "desc" {
		t.Error("the sort is not carried by the filter form")
	}
	for _, bad := range []struct{ query, field string }{{"?sort=progress", "sorts by created, name, status or started"}, {"?sort=name&order=up", "asc or desc"}} {
		resp, doc := s.page("GET", "/tasks"+bad.query, nil, false)
		if resp.StatusCode != 400 || !strings.Contains(doc.Find("main").Text(), bad.field) {
			t.Errorf("%s: %d %q", bad.query, resp.StatusCode, doc.Find("main").Text())
		}
	}
}

func TestConsoleTaskListPagerKeepsState(t *testing.T) {
	s := newTestServer(t)
	names := make([]string, 23)
	for i := range names {
		names[i] = fmt.Sprintf("lamp %02d", i)
	}
	s.listTasks(names...)
	const q = "?q=lamp&status=in_progress&targetType=DEVICE_LIST&sort=name&order=desc"
	_, doc := s.page("GET", "/tasks"+q, nil, true)
	if n := testid(doc, "task-row").Length(); n != 20 {
		t.Fatalf("%d rows, want 20", n)
	}
	next := doc.Find(`a[rel="next"]`)
	const want = "/tasks?order=desc&page=2&q=lamp&sort=name&status=IN_PROGRESS&targetType=DEVICE_LIST"
	if next.AttrOr("href", "") != want || next.AttrOr("hx-get", "") != want || next.AttrOr("hx-push-url", "") != "true" {
		t.Fatalf("next: href %q, hx-get %q", next.AttrOr("href", ""), next.AttrOr("hx-get", ""))
	}
	_, doc = s.page("GET", want, nil, true)
	if got := rowNames(doc); got != "lamp 02,lamp 01,lamp 00" {
		t.Errorf("page 2: %s", got)
	}
	if prev := doc.Find(`a[rel="prev"]`).AttrOr("href", ""); prev != "/tasks?order=desc&q=lamp&sort=name&status=IN_PROGRESS&targetType=DEVICE_LIST" {
		t.Errorf("prev: %s", prev)
	}

	// page size: 50 shows all, and is kept by the pager and the headers
	_, doc = s.page("GET", "/tasks?pageSize=50", nil, false)
	if n := testid(doc, "task-row").Length(); n != 23 || doc.Find(`a[rel="next"]`).Length() != 0 {
		t.Errorf("pageSize=50: %d rows", n)
	}
	if doc.Find(`#task-size option[selected]`).AttrOr("value", "") != "50" {
		t.Error("the page size is not shown as chosen")
	}
	if href := testid(doc, "sort-name").AttrOr("href", ""); href != "/tasks?pageSize=50&sort=name" {
		t.Errorf("header with a page size: %s", href)
	}
	_, doc = s.page("GET", "/tasks?pageSize=20&sort=created&order=desc", nil, true)
	if href := doc.Find(`a[rel="next"]`).AttrOr("href", ""); href != "/tasks?page=2" {
		t.Errorf("defaults are left out of the links: %s", href)
	}
	for _, size := range []string{"30", "200", "0", "x"} {
		resp, doc := s.page("GET", "/tasks?pageSize="+size, nil, false)
		if resp.StatusCode != 400 || !strings.Contains(doc.Find("main").Text(), "a page shows 20, 50 or 100 tasks") {
			t.Errorf("pageSize=%s: %d %q", size, resp.StatusCode, doc.Find("main").Text())
		}
	}
	// a page past the end says so and leads back
	_, doc = s.page("GET", "/tasks?page=9&pageSize=100", nil, false)
	if a := testid(doc, "empty-state").Find("a"); a.AttrOr("href", "") != "/tasks?pageSize=100" {
		t.Errorf("past the end: %q %q", testid(doc, "empty-state").Text(), a.AttrOr("href", ""))
	}
}

// TestConsoleTaskListActionsByRole: each row offers View to all, Duplicate
// and (for a task that can be cancelled) Cancel and its checkbox to those
// who may change tasks, Delete to those who may delete them; Cancel and
// Delete ask first and come back to the list as it was.
func TestConsoleTaskListActionsByRole(t *testing.T) {
	s := newTestServer(t)
	tasks := s.listTasks("running", "stopped")
	if _, err := s.Deps.Tasks.CancelTask(context.Background(), tasks[1].ID); err != nil {
		t.Fatal(err)
	}
	roles := map[models.Role]*creds{models.RoleAdmin: s.As, models.RoleOperator: s.user(models.RoleOperator), models.RoleSupport: s.user(models.RoleSupport)}
	const list = "/tasks?sort=name"
	for role, cr := range roles {
		s.As = cr
		_, doc := s.page("GET", list, nil, false)
		for _, tc := range []struct {
			task *models.Task
			want string
		}{
			{tasks[0], map[models.Role]string{models.RoleAdmin: "view duplicate cancel delete select", models.RoleOperator: "view duplicate cancel select", models.RoleSupport: "view"}[role]},
			{tasks[1], map[models.Role]string{models.RoleAdmin: "view duplicate delete", models.RoleOperator: "view duplicate", models.RoleSupport: "view"}[role]},
		} {
			row := doc.Find(`[data-testid="task-row"][data-task-id="` + tc.task.ID.String() + `"]`)
			var got []string
			for _, a := range []string{"view", "duplicate", "cancel", "delete", "select"} {
				if row.Find(`[data-testid="row-`+a+`"]`).Length() == 1 {
					got = append(got, a)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("%s, %s: %v, want %s", role, tc.task.Name, got, tc.want)
			}
			if href := row.Find(`[data-testid="row-duplicate"]`).AttrOr("href", ""); strings.Contains(tc.want, "duplicate") && href != "/tasks/new?duplicate="+tc.task.ID.String() {
				t.Errorf("duplicate link %q", href)
			}
			// each confirmation is the dialog its button opens, and posts with the list to come back to
			for _, a := range []string{"cancel", "delete"} {
				btn := row.Find(`[data-testid="row-` + a + `"]`)
				if btn.Length() == 0 {
					continue
				}
				dlg := doc.Find("dialog#" + btn.AttrOr("data-open-dialog", "none"))
				form := dlg.Find(`form[method="post"]`)
				if dlg.Length() != 1 || dlg.Find("[autofocus]").Length() != 1 || form.AttrOr("action", "") != "/tasks/"+tc.task.ID.String()+"/"+a ||
					form.Find(`input[name="next"]`).AttrOr("value", "") != list || form.Find(`input[name="_csrf"]`).AttrOr("value", "") == "" {
					t.Errorf("%s, %s: the %s dialog %q", role, tc.task.Name, a, dlg.Text())
				}
			}
		}
		if has := testid(doc, "bulk-cancel-form").Length() == 1; has != (role != models.RoleSupport) {
			t.Errorf("%s: bulk cancel form shown = %v", role, has)
		}
	}

	// the row's Cancel comes back to the list, with its filters
	s.As = roles[models.RoleOperator]
	resp, _ := s.page("POST", "/tasks/"+tasks[0].ID.String()+"/cancel", url.Values{"next": {list}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != list || !strings.Contains(flash(resp), "Cancelled the task") {
		t.Fatalf("cancel from the list: %d %s %q", resp.StatusCode, resp.Header.Get("Location"), flash(resp))
	}
	// the task page's Cancel still comes back to the task
	other := s.listTasks("other")[0]
	resp, _ = s.page("POST", "/tasks/"+other.ID.String()+"/cancel", url.Values{}, false)
	if resp.Header.Get("Location") != "/tasks/"+other.ID.String() {
		t.Fatalf("cancel from the task page goes to %s", resp.Header.Get("Location"))
	}
}
