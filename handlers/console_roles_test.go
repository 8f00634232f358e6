package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// roleScene is one of everything the console can change: a running task
// of a device, a product, a static group with the device, a firmware file.
type roleScene struct {
	task  *models.Task
	dev   models.DeviceRef
	group models.ID
	fw    models.File
}

func (s *testServer) roleScene() roleScene {
	s.t.Helper()
	task, devs := s.consoleTask("lamps", 2)
	return roleScene{task: task, dev: devs[0],
		group: testenv.SeedGroup(s.t, s.Deps.DB, "g-"+devs[0].ProductKey, models.GroupStatic, "", devs[:1]),
		fw:    s.storedFile(models.FileFirmware, "fw.bin", "firmware bytes")}
}

// storedFile records a file through the service, whoever the test acts as.
func (s *testServer) storedFile(kind, name, content string) models.File {
	s.t.Helper()
	up, err := s.Deps.Files.Receive(name, strings.NewReader(content), s.Deps.Files.Limit(kind))
	if err != nil {
		s.t.Fatal(err)
	}
	f, err := s.Deps.Files.Create(context.Background(), kind, up)
	if err != nil {
		s.t.Fatal(err)
	}
	return *f
}

// TestConsoleRolesHideChanges: each page shows the controls of the
// changes the viewer's role may make, and none of the others.
func TestConsoleRolesHideChanges(t *testing.T) {
	s := newTestServer(t)
	sc := s.roleScene()
	task, dev := "/tasks/"+sc.task.ID.String(), "/devices/"+sc.dev.ProductKey+"/"+sc.dev.DeviceName
	const all, writers, admin = "admin operator support", "admin operator", "admin"
	pages := []struct {
		path     string
		controls map[string]string // data-testid: the roles shown it
	}{
		{"/tasks", map[string]string{"task-row": all, "create-task": writers}},
		{task, map[string]string{"task-name": all, "action-cancel": writers, "action-rerun": writers, "edit-description": writers,
			"edit-config": writers, "export-csv": writers, "action-delete": admin, "confirm-delete": admin}},
		{dev, map[string]string{"device-name": all, "device-delete": writers, "confirm-device-delete": writers}},
		{dev + "/tasks", map[string]string{"device-task-row": all, "delete-task": admin}},
		{"/devices", map[string]string{"device-row": all, "import-devices": writers, "device-add": writers}},
		{"/products", map[string]string{"product-row": all, "product-create": writers}},
		{"/groups", map[string]string{"group-row": all, "group-create": writers}},
		{"/groups/" + sc.group.String(), map[string]string{"member-row": all, "group-rename": writers, "group-add": writers, "remove-member": writers}},
		{"/files", map[string]string{"file-row": all, "file-upload": admin, "file-delete": admin, "confirm-file-delete": admin}},
		{"/files/" + sc.fw.ID.String(), map[string]string{"file-name": all, "file-download": all, "file-delete": admin, "confirm-file-delete": admin}},
	}
	for _, role := range models.Roles {
		s.As = s.user(role)
		for _, p := range pages {
			resp, doc := s.page("GET", p.path, nil, false)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: GET %s = %d", role, p.path, resp.StatusCode)
			}
			for id, roles := range p.controls {
				want := strings.Contains(roles, string(role))
				if got := testid(doc, id).Length() > 0; got != want {
					t.Errorf("%s: %s: %s shown = %v, want %v", role, p.path, id, got, want)
				}
			}
			if role == models.RoleSupport {
				if n := doc.Find(`main form[method="post"], main [hx-post]`).Length(); n != 0 {
					t.Errorf("support: %s has %d forms that change something", p.path, n)
				}
			}
		}
		// the header the summary polls out of band follows the role too
		_, frag := s.page("GET", task+"/summary", nil, true)
		want := role != models.RoleSupport
		if frag.Find("#task-header").Length() != 1 || (testid(frag, "action-cancel").Length() == 1) != want ||
			(testid(frag, "action-delete").Length() == 1) != (role == models.RoleAdmin) {
			t.Errorf("%s: polled header actions %q", role, frag.Find("#task-header").Text())
		}
	}
}

// TestConsoleRolesEmptyStates: an empty list does not point a viewer to
// a form they are not shown.
func TestConsoleRolesEmptyStates(t *testing.T) {
	s := newTestServer(t)
	for _, role := range []models.Role{models.RoleAdmin, models.RoleSupport} {
		s.As = s.user(role)
		for _, path := range []string{"/tasks", "/devices", "/products", "/groups", "/files"} {
			_, doc := s.page("GET", path, nil, false)
			empty := testid(doc, "empty-state")
			text := empty.Text()
			points := strings.Contains(text, "below") || strings.Contains(text, "above") || empty.Find(`a[href="/tasks/new"]`).Length() > 0
			if empty.Length() != 1 || points != (role == models.RoleAdmin) {
				t.Errorf("%s: %s: empty state %q", role, path, strings.Join(strings.Fields(text), " "))
			}
		}
	}
}

// TestConsoleFormsCarryCSRF: every plain POST form has the CSRF token in
// its _csrf field (and works without JavaScript); a multipart form is
// sent by htmx, whose header carries it.
func TestConsoleFormsCarryCSRF(t *testing.T) {
	s := newTestServer(t)
	sc := s.roleScene()
	task := "/tasks/" + sc.task.ID.String()
	var cancel *goquery.Selection
	for _, path := range []string{task, task + "/edit/description", "/devices/" + sc.dev.ProductKey + "/" + sc.dev.DeviceName,
		"/devices", "/devices/import", "/products", "/groups", "/groups/" + sc.group.String(), "/files", "/tasks/new"} {
		_, doc := s.page("GET", path, nil, false)
		if doc.Find(`meta[name="csrf-token"]`).AttrOr("content", "") != s.As.CSRF {
			t.Errorf("%s: no csrf-token meta", path)
		}
		forms := doc.Find(`main form[method="post"]`)
		if forms.Length() == 0 {
			t.Errorf("%s: no POST form", path)
		}
		forms.Each(func(_ int, f *goquery.Selection) {
			action := f.AttrOr("action", "")
			if f.AttrOr("enctype", "") == "multipart/form-data" {
				if f.AttrOr("hx-post", "") != action || f.AttrOr("hx-encoding", "") != "multipart/form-data" {
					t.Errorf("%s: multipart form %s is not sent by htmx", path, action)
				}
				return
			}
			if v := f.Find(`input[type="hidden"][name="_csrf"]`).AttrOr("value", ""); v != s.As.CSRF {
				t.Errorf("%s: form %s: _csrf = %q", path, action, v)
			}
			if strings.HasSuffix(action, "/cancel") {
				cancel = f
			}
		})
	}
	if cancel == nil {
		t.Fatal("no cancel form on the task page")
	}
	// the cancel form as a browser without JavaScript sends it: the token
	// in the body only
	form := url.Values{}
	cancel.Find("input[name]").Each(func(_ int, in *goquery.Selection) { form.Add(in.AttrOr("name", ""), in.AttrOr("value", "")) })
	for _, body := range []url.Values{{}, form} {
		req := httptest.NewRequest("POST", cancel.AttrOr("action", ""), strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: s.As.Session})
		resp, err := s.App.Test(req, 30_000)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{false: http.StatusForbidden, true: http.StatusSeeOther}[len(body) > 0]; resp.StatusCode != want {
			t.Errorf("cancel with %v: %d, want %d", body, resp.StatusCode, want)
		}
	}
	if got, _ := s.Deps.Tasks.GetTask(context.Background(), sc.task.ID); got.Status != models.TaskCancelled {
		t.Fatalf("the plain cancel form left the task %s", got.Status)
	}
}

// TestConsoleDeviceImportByHtmx: the import form is an htmx upload; a
// refused import comes back as the page's fragment (422), a done one
// redirects.
func TestConsoleDeviceImportByHtmx(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 1)
	send := func(csv string) (*http.Response, *goquery.Document) {
		body, ct := multipartBody(t, filePart("devices.csv", []byte(csv)))
		req := httptest.NewRequest("POST", "/devices/import", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("HX-Request", "true")
		resp, err := s.test(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, doc
	}
	resp, frag := send("productKey,deviceName\nnope,a\n")
	if resp.StatusCode != http.StatusUnprocessableEntity || frag.Find(`nav[aria-label="Main"]`).Length() != 0 ||
		testid(frag, "import-problem").Length() != 1 || testid(frag, "import-form").AttrOr("hx-target", "") != "#main" {
		t.Fatalf("refused: %d %q", resp.StatusCode, frag.Text())
	}
	resp, frag = send("productKey,deviceName\n" + pk + ",new\n")
	if resp.StatusCode != http.StatusOK || frag.Find(`nav[aria-label="Main"]`).Length() != 0 ||
		!strings.Contains(testid(frag, "import-done").Text(), "Imported 1 devices") || testid(frag, "import-secrets-download").Length() != 1 {
		t.Fatalf("import: %d %q", resp.StatusCode, frag.Text())
	}
}

// TestConsoleCreateTaskWithoutUploads: an operator may create tasks but
// not upload files: the form offers uploaded rule files and firmware
// instead, and a task made with them carries the firmware.
func TestConsoleCreateTaskWithoutUploads(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	fw := s.storedFile(models.FileFirmware, "fw.bin", "firmware bytes")
	s.storedFile(models.FileRule, "rule.json", `{"k":"v"}`)

	_, doc := s.page("GET", "/tasks/new", nil, false)
	// an admin may upload, and pick the firmware uploaded already too
	if testid(doc, "rule-upload").Length() != 1 || testid(doc, "job-upload").Length() != 1 || testid(doc, "job-file-pick").Length() != 1 ||
		!strings.Contains(testid(doc, "job-file-pick").Find(`option[value="`+fw.ID.String()+`"]`).Text(), "fw.bin") {
		t.Fatal("admin: the upload inputs and the picker")
	}

	s.As = s.user(models.RoleOperator)
	_, doc = s.page("GET", "/tasks/new", nil, false)
	if n := doc.Find(`input[type="file"]`).Length(); n != 0 {
		t.Errorf("operator: %d file inputs", n)
	}
	if testid(doc, "ruleSource-upload").Length() != 0 || doc.Find(`input[name="ruleSource"]:checked`).AttrOr("value", "") != "pick" {
		t.Errorf("operator: rule sources %q, checked %q", doc.Find(`input[name="ruleSource"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") }),
			doc.Find(`input[name="ruleSource"]:checked`).AttrOr("value", ""))
	}
	pick := doc.Find(`select[name="jobFileId"]`)
	if pick.Length() != 1 || pick.Find(`option[value=""]`).Text() != "No file" ||
		!strings.Contains(pick.Find(`option[value="`+fw.ID.String()+`"]`).Text(), "fw.bin") ||
		doc.Find(`label[for="`+pick.AttrOr("id", "")+`"]`).Text() != "Uploaded firmware" {
		t.Fatalf("operator: firmware select %q", pick.Text())
	}

	form := createForm(pk)
	form.Set("jobFileId", fw.ID.String())
	resp, _ := s.page("POST", "/tasks/new", form, false)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/tasks/") {
		t.Fatalf("operator create: %d %q", resp.StatusCode, loc)
	}
	id, err := models.ParseID("id", strings.TrimPrefix(loc, "/tasks/"))
	if err != nil {
		t.Fatal(err)
	}
	task, err := s.Deps.Tasks.GetTask(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if task.JobFile == nil || task.JobFile.FileID != fw.ID || task.JobFile.Name != "fw.bin" {
		t.Fatalf("the task's file: %+v", task.JobFile)
	}
	_, doc = s.page("GET", loc, nil, false)
	if !strings.Contains(testid(doc, "task-file").Text(), "fw.bin") {
		t.Fatalf("task page file: %q", testid(doc, "task-file").Text())
	}
}
