package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/views"
)

// TestProductPageTasks: a product's page lists the tasks whose target is
// every device of the product, not the device lists that happen to name
// only its devices; the API's targetType filter does the same.
func TestProductPageTasks(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	list := taskBody(devices)
	list["name"] = "the list"
	product := taskBody(nil)
	product["name"] = "the product"
	product["target"] = map[string]any{"type": "PRODUCT", "productKey": pk}
	for _, b := range []map[string]any{list, product} {
		if status, raw := s.do("POST", "/api/v1/tasks", b, nil); status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, raw)
		}
	}
	_, doc := s.page("GET", "/products/"+pk, nil, false)
	if rows := doc.Find(`[data-testid="product-task"]`); rows.Length() != 1 || !strings.Contains(rows.Text(), "the product") {
		t.Errorf("the product's tasks: %d: %q", rows.Length(), rows.Text())
	}
	var l models.List[models.Task]
	s.do("GET", "/api/v1/tasks?productKey="+pk+"&targetType=PRODUCT", nil, &l)
	if l.Total != 1 || l.Items[0].Name != "the product" {
		t.Errorf("API targetType=PRODUCT: %+v", l.Items)
	}
	var e apiErr
	if status, _ := s.do("GET", "/api/v1/tasks?targetType=ALL", nil, &e); status != http.StatusBadRequest || e.Error.Field != "targetType" {
		t.Errorf("targetType=ALL: %d %+v", status, e)
	}
}

// TestWizardStepsNotAudited: the create form's Next and Back, and a
// refused Complete, record nothing; the task's creation and its deletion
// are recorded once each, with the task's name.
func TestWizardStepsNotAudited(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	step1 := createForm(pk)
	step1.Set("step", "1")
	step1.Set("name", "audited once")
	s.page("POST", "/tasks/new", step1, false)
	back := createForm(pk)
	back.Set("back", "1")
	s.page("POST", "/tasks/new", back, false)
	bad := createForm(pk)
	bad.Set("rolloutPerMinute", "0")
	s.page("POST", "/tasks/new", bad, false)
	done := createForm(pk)
	done.Set("name", "audited once")
	resp, _ := s.page("POST", "/tasks/new", done, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	task := resp.Header.Get("Location")[len("/tasks/"):]
	if resp, _ := s.page("POST", "/tasks/"+task+"/delete", url.Values{}, false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	var l models.List[models.AuditEntry]
	s.do("GET", "/api/v1/audit?action=task.", nil, &l)
	if len(l.Items) != 2 {
		t.Fatalf("audit rows: %+v", l.Items)
	}
	del, made := l.Items[0], l.Items[1]
	if made.Action != "task.create" || made.Target != "task:"+task || made.Changes["name"].After != "audited once" {
		t.Errorf("creation: %+v", made)
	}
	if del.Action != "task.delete" || del.Target != "task:"+task || del.Changes["name"].Before != "audited once" {
		t.Errorf("deletion: %+v", del)
	}
}

// TestFaviconAndCounts: every page links the console's icon, /favicon.ico
// answers it (no 404 in every page's log), and one user is "1 user".
func TestFaviconAndCounts(t *testing.T) {
	s := newTestServer(t)
	resp, _ := s.fetch(httptest.NewRequest("GET", "/favicon.ico", nil))
	icon := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(icon, "/static/favicon.") {
		t.Fatalf("/favicon.ico: %d %s", resp.StatusCode, icon)
	}
	resp, body := s.fetch(httptest.NewRequest("GET", icon, nil))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(body), "<svg") {
		t.Errorf("%s: %d %s", icon, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, doc := s.page("GET", "/users", nil, false)
	if href := doc.Find(`link[rel="icon"]`).AttrOr("href", ""); !strings.HasPrefix(href, "/static/favicon.") {
		t.Errorf("icon link %q", href)
	}
	if !strings.Contains(doc.Find("main").Text(), "1 user · page") {
		t.Errorf("the users page counts %q", doc.Find("main").Text())
	}
}

// TestSubtaskFilterInURL: a status filter chip puts its filter in the
// address bar (htmx push), and the page at that address opens filtered.
func TestSubtaskFilterInURL(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 3)
	var task struct {
		ID models.ID `json:"id"`
	}
	if status, raw := s.do("POST", "/api/v1/tasks", taskBody(devices), &task); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	s.Deps.DB.Pool.Exec(t.Context(), `UPDATE subtasks SET status = 'FAILED', finished_at = now() WHERE task_id = $1 AND device_name = 'd2'`, task.ID)
	page := "/tasks/" + task.ID.String()
	_, doc := s.page("GET", page, nil, false)
	if push := doc.Find(`[data-testid="filter-Failed"]`).AttrOr("hx-push-url", ""); push != page+"?status=FAILED" {
		t.Errorf("the Failed chip pushes %q", push)
	}
	_, doc = s.page("GET", page+"?status=FAILED", nil, false)
	if rows := doc.Find(`[data-testid="subtask-row"]`); rows.Length() != 1 || rows.AttrOr("data-device", "") != "d2" ||
		doc.Find(`[data-testid="filter-Failed"]`).AttrOr("aria-current", "") != "true" {
		t.Errorf("the page at ?status=FAILED: %d rows", rows.Length())
	}
}

// TestCancelRerunConfirmed: Cancel and Rerun ask first, in a dialog that
// names the task and says what will happen, before their form is sent.
func TestCancelRerunConfirmed(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 3)
	var task struct {
		ID models.ID `json:"id"`
	}
	b := taskBody(devices)
	b["name"] = "lamps"
	if status, raw := s.do("POST", "/api/v1/tasks", b, &task); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	page := "/tasks/" + task.ID.String()
	_, doc := s.page("GET", page, nil, false)
	dlg := doc.Find(`[data-testid="cancel-dialog"]`)
	if doc.Find(`[data-testid="action-cancel"]`).AttrOr("data-open-dialog", "") != "cancel-dialog" ||
		!strings.Contains(dlg.Text(), "Cancel task “lamps”?") || dlg.Find(`form[action="`+page+`/cancel"] [data-testid="confirm-cancel"]`).Length() != 1 {
		t.Errorf("cancel: button %q, dialog %q", doc.Find(`[data-testid="action-cancel"]`).AttrOr("data-open-dialog", ""), dlg.Text())
	}
	s.Deps.DB.Pool.Exec(t.Context(), `UPDATE subtasks SET status = 'FAILED', finished_at = now() WHERE task_id = $1 AND device_name IN ('d1', 'd2')`, task.ID)
	s.Deps.DB.Pool.Exec(t.Context(), `UPDATE subtasks SET status = 'SUCCEEDED', finished_at = now() WHERE task_id = $1 AND device_name = 'd3'`, task.ID)
	s.Deps.DB.Pool.Exec(t.Context(), `UPDATE tasks SET status = 'COMPLETED', finished_at = now() WHERE id = $1`, task.ID)
	_, doc = s.page("GET", page, nil, false)
	if dlg := doc.Find(`[data-testid="rerun-dialog"]`); !strings.Contains(dlg.Text(), "Its 2 failed and timed-out sub-tasks are queued again") ||
		doc.Find(`[data-testid="action-rerun"]`).AttrOr("data-open-dialog", "") != "rerun-dialog" {
		t.Errorf("rerun dialog: %q", dlg.Text())
	}
}

// TestSubtaskReason: the task's sub-task table and the device's Tasks tab
// say why each sub-task is where it is, without a click: the message (a
// timeout, a cancel) or else the device's statusDetails.
func TestSubtaskReason(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	var task struct {
		ID models.ID `json:"id"`
	}
	if status, raw := s.do("POST", "/api/v1/tasks", taskBody(devices), &task); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	s.Deps.DB.Pool.Exec(t.Context(), `UPDATE subtasks SET status = 'FAILED', finished_at = now(),
		status_details = '{"reason": "no space left", "free": 12}' WHERE task_id = $1 AND device_name = 'd1'`, task.ID)
	s.Deps.DB.Pool.Exec(t.Context(), `UPDATE subtasks SET status = 'TIMED_OUT', finished_at = now(),
		message = 'timed out: no result within the in-progress timeout' WHERE task_id = $1 AND device_name = 'd2'`, task.ID)
	want := map[string]string{"d1": "free: 12, reason: no space left", "d2": "timed out: no result within the in-progress timeout"}
	_, doc := s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	if n := doc.Find(`[data-testid="subtask-row"]`).Length(); n != 2 {
		t.Fatalf("%d sub-task rows", n)
	}
	doc.Find(`[data-testid="subtask-row"]`).Each(func(_ int, row *goquery.Selection) {
		dn := row.AttrOr("data-device", "")
		if got := row.Find(`[data-testid="subtask-reason"]`).Text(); got != want[dn] {
			t.Errorf("task table, %s: reason %q, want %q", dn, got, want[dn])
		}
	})
	_, doc = s.page("GET", views.DeviceURL(pk, "d1")+"/tasks", nil, false)
	if got := doc.Find(`[data-testid="subtask-reason"]`).First().Text(); got != want["d1"] {
		t.Errorf("device's Tasks tab: reason %q", got)
	}
}

// TestExecutionDetailsPage: execution details opened on their own are a
// page (a breadcrumb Tasks › task › device, the sub-task id the device
// sees), with the messages grouped by attempt; inside the task page the
// panel can be closed or opened as that page.
func TestExecutionDetailsPage(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	b := taskBody(devices)
	b["name"] = "lamps 2.1"
	var task struct {
		ID models.ID `json:"id"`
	}
	if status, raw := s.do("POST", "/api/v1/tasks", b, &task); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	ctx := t.Context()
	var sid, device models.ID
	s.Deps.DB.Pool.QueryRow(ctx, `UPDATE subtasks SET attempt = 2, status = 'SENT', sent_at = now() - interval '10 minutes'
		WHERE task_id = $1 RETURNING id, device_id`, task.ID).Scan(&sid, &device)
	if _, err := s.Deps.DB.Pool.Exec(ctx, `INSERT INTO subtask_attempts (task_id, subtask_id, attempt, status, progress, message, sent_at, finished_at)
		VALUES ($1, $2, 1, 'FAILED', 0, 'flash full', now() - interval '2 hours', now() - interval '110 minutes')`, task.ID, sid); err != nil {
		t.Fatal(err)
	}
	for _, age := range []string{"115 minutes", "5 minutes"} {
		if _, err := s.Deps.DB.Pool.Exec(ctx, `INSERT INTO device_messages (time, device_id, direction, topic, message_id, payload, subtask_id)
			VALUES (now() - $1::interval, $2, 'd2c', 'x/update', '1', '{"id":"1"}', $3)`, age, device, sid); err != nil {
			t.Fatal(err)
		}
	}
	path := "/tasks/" + task.ID.String() + "/subtasks/" + sid.String()
	_, doc := s.page("GET", path, nil, false)
	crumbs := doc.Find(`[data-testid="breadcrumb"] a`)
	if crumbs.Length() != 3 || crumbs.Eq(1).Text() != "lamps 2.1" || crumbs.Eq(1).AttrOr("href", "") != "/tasks/"+task.ID.String() ||
		!strings.Contains(doc.Find(`[data-testid="subtask-id"]`).Text(), "Sub-task "+sid.String()+" of task “lamps 2.1”") {
		t.Errorf("the page: breadcrumb %q, id %q", crumbs.Text(), doc.Find(`[data-testid="subtask-id"]`).Text())
	}
	var groups []string
	doc.Find(`[data-testid="attempt-messages"]`).Each(func(_ int, g *goquery.Selection) { groups = append(groups, g.Text()) })
	if strings.Join(groups, ",") != "Attempt 2,Attempt 1" {
		t.Errorf("messages grouped as %v", groups)
	}
	if doc.Find(`[data-testid="subtask-close"]`).Length() != 0 {
		t.Error("the page has the panel's Close")
	}
	_, frag := s.page("GET", path, nil, true)
	if frag.Find(`[data-testid="breadcrumb"]`).Length() != 0 || frag.Find(`[data-testid="subtask-close"]`).AttrOr("data-clear", "") != "subtask-detail" ||
		frag.Find(`[data-testid="subtask-page-link"]`).AttrOr("href", "") != path {
		t.Errorf("the panel: %q", frag.Text())
	}
}

// TestDeviceListErrorsByLine: device-list errors in the console say the
// lines the devices were typed on, not the API's indexes: a device listed
// twice in the create form, an unknown device pasted into a group.
func TestDeviceListErrorsByLine(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	form := createForm(pk)
	form.Set("step", "1")
	form.Set("devices", pk+",d1\n\n"+pk+",d2\n"+pk+",d1\n")
	_, doc := s.page("POST", "/tasks/new", form, false)
	if got := doc.Find(`[data-testid="error-err-devices"]`).Text(); got != "Devices, line 4: d1 is listed twice (also on line 1)" {
		t.Errorf("a device listed twice: %q", got)
	}
	g, err := s.Deps.Registry.CreateGroup(t.Context(), models.GroupInput{Name: "g-" + pk, Kind: "static"})
	if err != nil {
		t.Fatal(err)
	}
	resp, doc := s.page("POST", "/groups/"+g.ID.String()+"/devices/add", url.Values{"devices": {"productKey,deviceName\n" + pk + ",d1\n" + pk + ",nosuch"}}, false)
	if msg := doc.Find("main").Text(); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(msg, "line 3: no device "+pk+"/nosuch") || strings.Contains(msg, "devices[") {
		t.Errorf("an unknown device pasted into a group: %d %q", resp.StatusCode, msg)
	}
}

// TestDeviceLogFilterWording: a device log filter that cannot work is
// said in the form's words, not the API's ("to: is before from").
func TestDeviceLogFilterWording(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	q := url.Values{"from": {"2026-11-30T10:00"}, "to": {"2026-11-29T10:00"}}
	_, doc := s.page("GET", views.DeviceURL(pk, "d1")+"/log?"+q.Encode(), nil, false)
	if got := doc.Find(`[data-testid="log-error"]`).Text(); got != "To is before From: the time range must end after it starts." {
		t.Errorf("to before from: %q", got)
	}
	q = url.Values{"direction": {"sideways"}}
	_, doc = s.page("GET", views.DeviceURL(pk, "d1")+"/log?"+q.Encode(), nil, false)
	if got := doc.Find(`[data-testid="log-error"]`).Text(); !strings.HasPrefix(got, "Workload type: ") {
		t.Errorf("a bad direction: %q", got)
	}
}

// TestOnlineExplained: the device list says what Online and Offline mean,
// with the configured time.
func TestOnlineExplained(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	_, doc := s.page("GET", "/devices", nil, false)
	want := "within the last " + s.Deps.Registry.OfflineAfter().String()
	if got := doc.Find(`#help-state`).Text(); !strings.Contains(got, want) || !strings.Contains(got, "Offline: nothing since") {
		t.Errorf("the State column's help: %q, want %q", got, want)
	}
}

// TestDevicesNaturalOrder: devices are listed d1, d2, … d10, not d1, d10,
// d11 … d2, on the device list and in a dynamic group's preview.
func TestDevicesNaturalOrder(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 12)
	_, doc := s.page("GET", "/devices?productKey="+pk, nil, false)
	var names []string
	doc.Find(`[data-testid="device-row"]`).Each(func(_ int, r *goquery.Selection) { names = append(names, r.AttrOr("data-device", "")) })
	if got := strings.Join(names, " "); got != "d1 d2 d3 d4 d5 d6 d7 d8 d9 d10 d11 d12" {
		t.Errorf("device list order: %s", got)
	}
	ds, _, err := s.Deps.Registry.PreviewGroupQuery(t.Context(), "productKey = '"+pk+"'", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 || ds[2].DeviceName != "d3" {
		t.Errorf("group preview order: %+v", ds)
	}
}
