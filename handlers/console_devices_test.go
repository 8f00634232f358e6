package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// importCSV posts csv to the import form and parses the answer.
func (s *testServer) importCSV(csv string) (*http.Response, *goquery.Document) {
	s.t.Helper()
	body, ct := multipartBody(s.t, filePart("devices.csv", []byte(csv)))
	req := httptest.NewRequest("POST", "/devices/import", body)
	req.Header.Set("Content-Type", ct)
	resp, err := s.test(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, doc
}

func TestConsoleDeviceListAndAdd(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 25)
	testenv.SeedDevices(t, s.Deps.DB, pk+"b", 1)
	_, doc := s.page("GET", "/devices", nil, false)
	if n := testid(doc, "device-row").Length(); n != 20 || testid(doc, "next-page").Length() != 1 {
		t.Fatalf("%d rows on page 1", n)
	}
	if doc.Find(`nav[aria-label="Main"] a[aria-current="page"]`).Text() != "Devices" {
		t.Fatal("the Devices nav item is not current")
	}
	if testid(doc, "online").First().AttrOr("data-online", "") != "false" {
		t.Fatal("a device never heard from is not offline")
	}
	_, frag := s.page("GET", "/devices?productKey="+pk+"&q=d2", nil, true)
	if n := testid(frag, "device-row").Length(); n != 7 { // d2, d20..d25
		t.Fatalf("search: %d rows", n)
	}
	_, frag = s.page("GET", "/devices?productKey="+pk+"b", nil, true)
	if n := testid(frag, "device-row").Length(); n != 1 {
		t.Fatalf("product filter: %d rows", n)
	}
	if resp, _ := s.page("GET", "/devices?productKey=bad.key", nil, false); resp.StatusCode != 400 {
		t.Fatalf("bad product key filter: %d", resp.StatusCode)
	}

	// online: heard from a moment ago
	if _, err := s.Deps.DB.Pool.Exec(context.Background(), `UPDATE devices SET last_seen = now() WHERE device_name = 'd1'`); err != nil {
		t.Fatal(err)
	}
	_, frag = s.page("GET", "/devices?productKey="+pk+"b", nil, true)
	if testid(frag, "online").AttrOr("data-online", "") != "true" {
		t.Fatal("a device just heard from is not online")
	}

	cases := []struct {
		name, pk, dn, errID, want string
	}{
		{"bad characters", pk, "a b", "add-name-error", "has a character that is not allowed"},
		{"empty", pk, "", "add-name-error", "The device name is required"},
		{"duplicate", pk, "d1", "add-name-error", "already registered"},
		{"unknown product", "nope", "x", "add-product-error", `no product "nope"`},
	}
	for _, tc := range cases {
		resp, frag := s.page("POST", "/devices", url.Values{"productKey": {tc.pk}, "deviceName": {tc.dn}}, true)
		if resp.StatusCode != 422 || !strings.Contains(testid(frag, "error-"+tc.errID).Text(), tc.want) ||
			frag.Find("#add-name").AttrOr("value", "?") != tc.dn {
			t.Errorf("%s: %d %q", tc.name, resp.StatusCode, frag.Text())
		}
	}
	// the form's answer shows the new device's secret, once
	resp, frag := s.page("POST", "/devices", url.Values{"productKey": {pk}, "deviceName": {"lamp:1@home"}}, true)
	secret := testid(frag, "device-secret-value").Text()
	if resp.StatusCode != 201 || !strings.Contains(testid(frag, "device-added").Text(), "Registered the device "+pk+"/lamp:1@home") ||
		len(secret) != models.DeviceSecretLength || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("add: %d %q", resp.StatusCode, frag.Text())
	}
	if got, err := s.Deps.Registry.DeviceSecret(context.Background(), pk, "lamp:1@home"); err != nil || got != secret {
		t.Fatalf("the secret shown is not the device's: %v", err)
	}
	if testid(frag, "device-added-open").AttrOr("href", "") != "/devices/"+pk+"/lamp:1@home" {
		t.Fatal("no link to the new device")
	}
	resp, doc = s.page("GET", "/devices/"+pk+"/lamp:1@home", nil, false)
	if resp.StatusCode != 200 || testid(doc, "device-name").Text() != pk+"/lamp:1@home" {
		t.Fatalf("new device page: %d", resp.StatusCode)
	}
	if html, _ := doc.Html(); strings.Contains(html, secret) || testid(doc, "device-secret").Length() != 0 {
		t.Fatal("the device page shows the secret again")
	}
}

func TestConsoleDeviceImport(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	_, doc := s.page("GET", "/devices/import", nil, false)
	if testid(doc, "import-form").AttrOr("enctype", "") != "multipart/form-data" {
		t.Fatal("import form")
	}
	cases := []struct {
		name, csv string
		lines     []string // data-line of each problem
		reason    string   // in the first problem
	}{
		{"bad header", "name,product\n" + pk + ",a\n", []string{"1"}, "header must be productKey,deviceName"},
		{"unknown product", "productKey,deviceName\nnope,a\n", []string{"2"}, `no product "nope"`},
		{"bad characters", "productKey,deviceName\n" + pk + ",a/b\n", []string{"2"}, "not allowed"},
		{"duplicates", "productKey,deviceName\n" + pk + ",x\n" + pk + ",x\n", []string{"3"}, "given twice"},
		{"already registered", "productKey,deviceName\n" + pk + ",d1\n" + pk + ",new\n", []string{"2"}, "already registered"},
		{"non-UTF-8", "productKey,deviceName\n" + pk + ",\xff\xfe\n", []string{"2"}, "not UTF-8"},
		{"too many rows", "productKey,deviceName\n" + strings.Repeat(pk+",x\n", 1) + manyRows(pk, models.MaxImportRows), []string{"100002"}, "too many rows"},
	}
	for _, tc := range cases {
		resp, doc := s.importCSV(tc.csv)
		rows := testid(doc, "import-problem")
		var lines []string
		rows.Each(func(_ int, r *goquery.Selection) { lines = append(lines, r.AttrOr("data-line", "")) })
		if resp.StatusCode != 422 || strings.Join(lines, ",") != strings.Join(tc.lines, ",") ||
			!strings.Contains(rows.First().Text(), tc.reason) || !strings.Contains(testid(doc, "import-report").Text(), "nothing was imported") {
			t.Errorf("%s: %d, lines %v, %q", tc.name, resp.StatusCode, lines, rows.Text())
		}
	}
	resp, doc := s.page("POST", "/devices/import", url.Values{"file": {"x"}}, false)
	if resp.StatusCode != 422 || testid(doc, "error-import-error").Length() != 1 {
		t.Fatalf("not multipart: %d", resp.StatusCode)
	}
	_, total, _ := s.Deps.Registry.ListDevices(context.Background(), models.DeviceFilter{}, models.Page{})
	if total != 1 {
		t.Fatalf("%d devices after refused imports", total)
	}
	// a done import offers the new devices' secrets as a CSV download,
	// held in the answer only
	resp, doc = s.importCSV("productKey,deviceName\n" + pk + ",a\n" + pk + ",b\n")
	href := testid(doc, "import-secrets-download").AttrOr("href", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(testid(doc, "import-done").Text(), "Imported 2 devices") ||
		!strings.HasPrefix(href, "data:text/csv;base64,") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("import: %d %q", resp.StatusCode, doc.Text())
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(href, "data:text/csv;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != "productKey,deviceName,deviceSecret" || recs[1][1] != "a" || recs[2][1] != "b" {
		t.Fatalf("secrets CSV %q: %v", raw, err)
	}
	for _, r := range recs[1:] {
		if got, err := s.Deps.Registry.DeviceSecret(context.Background(), r[0], r[1]); err != nil || got != r[2] || len(got) != models.DeviceSecretLength {
			t.Fatalf("device %s: the secret offered is not its own: %v", r[1], err)
		}
	}
}

// manyRows is n distinct device lines of pk.
func manyRows(pk string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(pk + ",m" + strconv.Itoa(i) + "\n")
	}
	return b.String()
}

func TestConsoleDevicePages(t *testing.T) {
	s := newTestServer(t)
	task, devices := s.consoleTask("lamps", 2)
	ctx := context.Background()
	dev, err := s.Deps.Registry.GetDevice(ctx, devices[0].ProductKey, devices[0].DeviceName)
	if err != nil {
		t.Fatal(err)
	}
	gid := testenv.SeedGroup(t, s.Deps.DB, "kitchen", "static", "", devices[:1])
	base := "/devices/" + dev.ProductKey + "/" + dev.DeviceName

	_, doc := s.page("GET", base, nil, false)
	if testid(doc, "count-total").Text() != "1" || testid(doc, "count-QUEUED").Text() != "1" ||
		testid(doc, "device-groups").Find(`a[href="/groups/`+gid.String()+`"]`).Text() != "kitchen" ||
		testid(doc, "tab-overview").AttrOr("aria-current", "") != "page" {
		t.Fatalf("overview: %q", testid(doc, "device-overview").Text())
	}
	if resp, doc := s.page("GET", "/devices/"+dev.ProductKey+"/nope", nil, false); resp.StatusCode != 404 || testid(doc, "error-page").Length() != 1 {
		t.Fatalf("unknown device: %d", resp.StatusCode)
	}

	// Tasks tab
	_, doc = s.page("GET", base+"/tasks", nil, false)
	row := testid(doc, "device-task-row")
	if row.Length() != 1 || row.Find(`a[href="/tasks/`+task.ID.String()+`"]`).Text() != "lamps" ||
		!strings.HasPrefix(row.Find(`[data-testid="view-subtask"]`).AttrOr("href", ""), "/tasks/"+task.ID.String()+"/subtasks/") {
		t.Fatalf("tasks tab: %q", row.Text())
	}
	dialog := row.Find("dialog")
	if !strings.Contains(dialog.Text(), "cannot be undone") || dialog.Find(`input[name="next"]`).AttrOr("value", "") != base+"/tasks" {
		t.Fatal("the tasks tab's delete dialog")
	}

	// Device log: messages in both directions, one of the sub-task
	sub := s.firstSubtask(task.ID)
	now := time.Now().UTC().Truncate(time.Second)
	entries := []models.LogEntry{
		{Time: now.Add(-3 * time.Minute), DeviceID: dev.ID, Direction: "c2d", Topic: "t/notify", MessageID: "1", Payload: []byte(`{"task":{"taskId":"x"}}`), SubtaskID: &sub},
		{Time: now.Add(-2 * time.Minute), DeviceID: dev.ID, Direction: "d2c", Topic: "t/update", MessageID: "2", Payload: []byte(`{"status":"IN_PROGRESS"}`), SubtaskID: &sub},
		{Time: now.Add(-1 * time.Minute), DeviceID: dev.ID, Direction: "d2c", Topic: "t/get", MessageID: "3", Payload: []byte(`plain`)},
	}
	if _, err := s.Deps.DB.WriteLog(ctx, entries, models.DefaultLogDailyBytes); err != nil {
		t.Fatal(err)
	}
	_, doc = s.page("GET", base+"/log", nil, false)
	if n := testid(doc, "log-row").Length(); n != 3 || testid(doc, "log-topic").First().Text() != "t/get" {
		t.Fatalf("log: %d rows", n)
	}
	if !strings.Contains(testid(doc, "log-payload").First().Text(), "plain") || doc.Find("details summary").Length() != 3 {
		t.Fatal("payloads")
	}
	_, frag := s.page("GET", base+"/log?direction=c2d", nil, true)
	if n := testid(frag, "log-row").Length(); n != 1 || !strings.Contains(testid(frag, "log-payload").Text(), "\n  \"task\": {") {
		t.Fatalf("c2d filter: %d rows, %q", n, testid(frag, "log-payload").Text())
	}
	_, frag = s.page("GET", base+"/log?subtask="+sub.String(), nil, true)
	if n := testid(frag, "log-row").Length(); n != 2 {
		t.Fatalf("sub-task filter: %d rows", n)
	}
	from := now.Add(-150 * time.Second).Format("2006-01-02T15:04:05")
	_, frag = s.page("GET", base+"/log?from="+from, nil, true)
	if n := testid(frag, "log-row").Length(); n != 2 {
		t.Fatalf("time filter: %d rows", n)
	}
	for _, q := range []string{"direction=up", "from=yesterday", "subtask=x", "before=zz", "from=2025-01-02T00:00&to=2025-01-01T00:00"} {
		resp, frag := s.page("GET", base+"/log?"+q, nil, true)
		if resp.StatusCode != 422 || testid(frag, "log-error").Length() != 1 {
			t.Errorf("%s: %d", q, resp.StatusCode)
		}
	}

	// delete the task from the device's Tasks tab, back to the tab
	resp, _ := s.page("POST", "/tasks/"+task.ID.String()+"/delete", url.Values{"next": {base + "/tasks"}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != base+"/tasks" {
		t.Fatalf("delete from the tab: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, doc = s.page("GET", base+"/tasks", nil, false)
	if testid(doc, "device-tasks-empty").Length() != 1 {
		t.Fatal("the deleted task is still listed")
	}

	// delete the device
	resp, _ = s.page("POST", base+"/delete", url.Values{}, true)
	if resp.Header.Get("HX-Redirect") != "/devices" || !strings.Contains(flash(resp), "Deleted the device") {
		t.Fatalf("device delete: %q", resp.Header.Get("HX-Redirect"))
	}
	if resp, _ := s.page("POST", base+"/delete", url.Values{}, false); resp.StatusCode != 404 {
		t.Fatalf("second device delete: %d", resp.StatusCode)
	}
}

func TestConsoleTaskDeleteNextIsLocal(t *testing.T) {
	s := newTestServer(t)
	task, _ := s.consoleTask("lamps", 1)
	resp, _ := s.page("POST", "/tasks/"+task.ID.String()+"/delete", url.Values{"next": {"//evil.example/x"}}, false)
	if resp.Header.Get("Location") != "/tasks" {
		t.Fatalf("Location %q", resp.Header.Get("Location"))
	}
}

// firstSubtask is the id of a task's first sub-task.
func (s *testServer) firstSubtask(taskID models.ID) models.ID {
	s.t.Helper()
	list, err := s.Deps.Tasks.ListSubtasks(context.Background(), taskID, models.SubtaskFilter{}, models.Page{Number: 1, Size: 1})
	if err != nil || len(list.Items) == 0 {
		s.t.Fatalf("sub-tasks of %s: %v", taskID, err)
	}
	return list.Items[0].ID
}
