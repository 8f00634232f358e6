package handlers_test

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
)

// createForm is a valid form of both steps for devices of pk.
func createForm(pk string) url.Values {
	return url.Values{"step": {"2"}, "name": {"lamps"}, "description": {"spring"}, "targetType": {"DEVICE_LIST"},
		"devices": {pk + ",d1\n\n" + pk + ",d2\n"}, "ruleSource": {"inline"}, "jobDocument": {`{"key":"value"}`},
		"signMethod": {"SHA256"}, "rolloutPerMinute": {"1000"}, "qos": {"1"}, "inProgressTimeoutMinutes": {""}, "start": {"now"}}
}

func TestConsoleCreateValidation(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	dyn := testenv.SeedGroup(t, s.Deps.DB, "dyn", "dynamic", "productKey = '"+pk+"'", nil)
	for _, c := range []struct {
		name   string
		change map[string]string
		step   string // the step shown
		field  string
		want   string
	}{
		{"empty name (step 1)", map[string]string{"step": "1", "name": " "}, "1", "name", "must be 1 to 128 characters"},
		{"device line without a comma", map[string]string{"step": "1", "devices": pk + ",d1\nlamp"}, "1", "devices", "line 2"},
		{"no rule file", map[string]string{"step": "1", "ruleSource": "upload"}, "1", "ruleFile", "is required"},
		{"bad JSON", map[string]string{"step": "1", "jobDocument": "{"}, "1", "jobDocument", "JSON"},
		{"bad sign method", map[string]string{"step": "1", "jobFileId": "7", "signMethod": "CRC"}, "1", "signMethod", "MD5 or SHA256"},
		{"unregistered device (found at create)", map[string]string{"devices": pk + ",d1\n" + pk + ",d9"}, "1", "devices", "Devices, line 2: no device " + pk + "/d9 in product " + pk},
		{"unknown product", map[string]string{"targetType": "PRODUCT", "productKey": "nope"}, "1", "productKey", "Product: there is no product nope"},
		{"dynamic group", map[string]string{"targetType": "GROUP", "groupId": dyn.String()}, "1", "groupId", "dynamic groups cannot be task targets"},
		{"rollout 0", map[string]string{"rolloutPerMinute": "0"}, "2", "rolloutPerMinute", "must be 1 to 100000"},
		{"rollout not a number", map[string]string{"rolloutPerMinute": "fast"}, "2", "rolloutPerMinute", "whole number"},
		{"qos 2", map[string]string{"qos": "2"}, "2", "qos", "must be 0"},
		{"timeout 0", map[string]string{"inProgressTimeoutMinutes": "0"}, "2", "inProgressTimeoutMinutes", "1 to 10080"},
		{"start in the past", map[string]string{"start": "at", "scheduledAt": "2001-01-01T10:00"}, "2", "scheduledAt", "must be in the future"},
		{"start without a time", map[string]string{"start": "at"}, "2", "scheduledAt", "is required"},
	} {
		form := createForm(pk)
		for k, v := range c.change {
			form.Set(k, v)
		}
		for _, hx := range []bool{false, true} {
			resp, doc := s.page("POST", "/tasks/new", form, hx)
			if resp.StatusCode != 422 {
				t.Errorf("%s: status %d, want 422", c.name, resp.StatusCode)
				continue
			}
			if testid(doc, "create-step-"+c.step).Length() != 1 {
				t.Errorf("%s: not on step %s", c.name, c.step)
			}
			field := testid(doc, "field-"+c.field)
			msg := field.Find(`[data-testid="error-err-` + c.field + `"]`)
			if msg.Length() == 0 { // fieldsets show the error beside their legend
				msg = testid(doc, "error-err-"+c.field)
			}
			if !strings.Contains(msg.Text(), c.want) {
				t.Errorf("%s: error of %s = %q, want %q", c.name, c.field, msg.Text(), c.want)
			}
			// every value is kept, the other step's in hidden fields
			if v := doc.Find(`[name="name"]`).AttrOr("value", ""); v != strings.TrimSpace(form.Get("name")) && v != form.Get("name") {
				t.Errorf("%s: name kept as %q", c.name, v)
			}
			if got := doc.Find(`[name="rolloutPerMinute"]`).AttrOr("value", ""); got != form.Get("rolloutPerMinute") {
				t.Errorf("%s: rolloutPerMinute kept as %q", c.name, got)
			}
			if hx && doc.Find(`nav[aria-label="Main"]`).Length() != 0 {
				t.Errorf("%s: htmx answer is a full page", c.name)
			}
		}
	}
}

func TestConsoleCreateSteps(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	_, doc := s.page("GET", "/tasks/new", nil, false)
	if testid(doc, "create-step-1").Length() != 1 || doc.Find(`a[href="/console/rule-template.json"]`).Length() != 1 {
		t.Fatal("step 1")
	}
	// every parameter has a help text tied to its control
	doc.Find(`[data-testid^="field-"] label.label[for]`).Each(func(_ int, l *goquery.Selection) {
		id := l.AttrOr("for", "")
		if d := doc.Find("#"+id).AttrOr("aria-describedby", ""); !strings.Contains(d, "help-") {
			t.Errorf("%s: aria-describedby %q", id, d)
		}
	})
	form := createForm(pk)
	form.Set("step", "1")
	resp, doc := s.page("POST", "/tasks/new", form, true)
	if resp.StatusCode != 200 || testid(doc, "create-step-2").Length() != 1 ||
		doc.Find(`input[type=hidden][name="devices"]`).AttrOr("value", "") != form.Get("devices") {
		t.Fatalf("step 2: %d", resp.StatusCode)
	}
	form.Set("back", "1")
	_, doc = s.page("POST", "/tasks/new", form, true)
	if testid(doc, "create-step-1").Length() != 1 || doc.Find("#f-devices").Text() != form.Get("devices") {
		t.Fatal("back to step 1")
	}
	form.Del("back")
	form.Set("step", "2")
	resp, _ = s.page("POST", "/tasks/new", form, true)
	if to := resp.Header.Get("HX-Redirect"); !strings.HasPrefix(to, "/tasks/") || !strings.Contains(flash(resp), "Created the task") {
		t.Fatalf("create: HX-Redirect %q flash %q", to, flash(resp))
	}
	resp, _ = s.page("POST", "/tasks/new", form, false)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/tasks/") {
		t.Fatalf("create without htmx: %d", resp.StatusCode)
	}
}

func TestConsoleUploadAndSearch(t *testing.T) {
	s := newTestServer(t)
	upload := func(kind, field, name, content string) (int, *goquery.Document) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, _ := w.CreateFormFile(field, name)
		fw.Write([]byte(content))
		w.Close()
		req := httptest.NewRequest("POST", "/console/files?kind="+kind, &b)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("HX-Request", "true")
		resp, err := s.test(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		doc, _ := goquery.NewDocumentFromReader(resp.Body)
		return resp.StatusCode, doc
	}
	code, doc := upload("rule", "ruleFile", "rule.json", `{"key":"value"}`)
	if code != 200 || doc.Find(`input[name="ruleFileUpload"]`).AttrOr("value", "") == "" || !strings.Contains(testid(doc, "uploaded-ruleFileUpload").Text(), "rule.json") {
		t.Fatalf("rule upload: %d %q", code, doc.Text())
	}
	code, doc = upload("rule", "ruleFile", "rule.json", `not json`)
	if code != 422 || testid(doc, "upload-error-ruleFileUpload").Length() != 1 {
		t.Fatalf("bad rule upload: %d %q", code, doc.Text())
	}
	code, doc = upload("firmware", "jobFile", "fw.bin", "firmware bytes")
	if code != 200 || doc.Find(`select[name="jobFileId"] option[selected]`).AttrOr("value", "") == "" ||
		!strings.Contains(testid(doc, "uploaded-jobFileId").Text(), "fw.bin") {
		t.Fatalf("firmware upload: %d %q", code, doc.Text())
	}
	code, doc = upload("firmware", "jobFile", "fw.exe", "x")
	if code != 422 || !strings.Contains(doc.Text(), "not a firmware file") {
		t.Fatalf("firmware .exe: %d %q", code, doc.Text())
	}

	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 12)
	_, doc = s.page("GET", "/console/devices/search?q=d1", nil, true)
	if n := doc.Find("[data-add-device]").Length(); n != 4 { // d1, d10, d11, d12
		t.Fatalf("device search: %d results", n)
	}
	code, body := s.do("GET", "/console/rule-template.json", nil, nil)
	if code != 200 || strings.ReplaceAll(strings.ReplaceAll(string(body), " ", ""), "\n", "") != `{"key":"value"}` {
		t.Fatalf("template: %d %s", code, body)
	}
}
