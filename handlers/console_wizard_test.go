package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
)

// wizardPost sends the create form as htmx does from the page at current.
func (s *testServer) wizardPost(form url.Values, current string) (*http.Response, *goquery.Document) {
	s.t.Helper()
	req := httptest.NewRequest("POST", "/tasks/new", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Current-URL", "http://console"+current)
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

// TestCreateWizardDraft: the create form is kept on the server as a draft
// whose URL each step takes, so a reload (a GET, never a second POST) and
// Back and Forward show the values again, with the same one-time key; a
// completed draft shows its task and cannot create a second one.
func TestCreateWizardDraft(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)

	_, doc := s.page("GET", "/tasks/new", nil, false)
	draft := doc.Find(`#task-form input[name="draft"]`).AttrOr("value", "")
	step1URL := "/tasks/new?draft=" + draft
	if len(draft) < 20 || doc.Find("#task-form").AttrOr("data-replace-url", "") != step1URL || doc.Find("#task-form").AttrOr("hx-history", "") != "false" {
		t.Fatalf("a new form: draft %q, data-replace-url %q", draft, doc.Find("#task-form").AttrOr("data-replace-url", ""))
	}
	// what is typed is kept before Next, for a reload
	if resp, _ := s.page("POST", "/tasks/new/draft", url.Values{"draft": {draft}, "name": {"typed"}}, true); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("autosave: %d", resp.StatusCode)
	}
	if _, doc := s.page("GET", step1URL, nil, false); doc.Find("#f-name").AttrOr("value", "") != "typed" || testid(doc, "draft-autosave").AttrOr("hx-post", "") != "/tasks/new/draft" {
		t.Errorf("a reload before Next: name %q", doc.Find("#f-name").AttrOr("value", ""))
	}
	form := formOf(doc, "#task-form")
	for k, v := range createForm(pk) {
		if k != "step" {
			form[k] = v
		}
	}
	form.Set("step", "1")
	resp, doc := s.wizardPost(form, step1URL)
	step2URL := step1URL + "&step=2"
	if resp.StatusCode != 200 || testid(doc, "create-step-2").Length() != 1 || resp.Header.Get("HX-Push-Url") != step2URL {
		t.Fatalf("step 1 → 2: %d, HX-Push-Url %q", resp.StatusCode, resp.Header.Get("HX-Push-Url"))
	}
	once := doc.Find(`input[name="_once"]`).AttrOr("value", "")

	// Reload at step 2 (a GET of the pushed URL), and Back to step 1
	// and Forward again as htmx asks for them (a history restore)
	for _, hx := range []bool{false, true} {
		req := httptest.NewRequest("GET", step2URL, nil)
		if hx {
			req.Header.Set("HX-Request", "true")
			req.Header.Set("HX-History-Restore-Request", "true")
		}
		resp, err := s.test(req)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := goquery.NewDocumentFromReader(resp.Body)
		resp.Body.Close()
		if testid(doc, "create-step-2").Length() != 1 || doc.Find(`input[type=hidden][name="devices"]`).AttrOr("value", "") != form.Get("devices") ||
			doc.Find(`input[name="_once"]`).AttrOr("value", "") != once || doc.Find(`nav[aria-label="Main"]`).Length() != 1 {
			t.Errorf("step 2 again (history restore %v): %q", hx, doc.Find("main").Text())
		}
	}
	_, doc = s.page("GET", step1URL, nil, false)
	if testid(doc, "create-step-1").Length() != 1 || doc.Find("#f-name").AttrOr("value", "") != "lamps" || doc.Find("#f-devices").Text() != form.Get("devices") {
		t.Errorf("Back to step 1: %q", doc.Find("#task-form").Text())
	}
	// the form's Back button goes to step 1's URL
	back := formOf(doc, "#task-form")
	back.Set("step", "2")
	back.Set("back", "1")
	if resp, _ := s.wizardPost(back, step2URL); resp.Header.Get("HX-Push-Url") != step1URL {
		t.Errorf("the form's Back: HX-Push-Url %q", resp.Header.Get("HX-Push-Url"))
	}

	// another account's or an unknown draft: a new form, said so
	_, doc = s.page("GET", "/tasks/new?draft=nosuch&step=2", nil, false)
	if testid(doc, "create-step-1").Length() != 1 || !strings.Contains(testid(doc, "error-form").Text(), "has expired") {
		t.Errorf("an unknown draft: %q", doc.Find("#task-form").Text())
	}

	// Complete, then the same draft sent again after a reload, with
	// other values: no second task
	_, doc = s.page("GET", step2URL, nil, false)
	final := formOf(doc, "#task-form")
	final.Set("name", "draft-"+pk)
	resp, _ = s.wizardPost(final, step2URL)
	if !strings.HasPrefix(resp.Header.Get("HX-Redirect"), "/tasks/") || s.countTasks("draft-"+pk) != 1 {
		t.Fatalf("complete: %q", resp.Header.Get("HX-Redirect"))
	}
	taskURL := resp.Header.Get("HX-Redirect")
	final.Set("name", "draft2-"+pk)
	resp, _ = s.wizardPost(final, step2URL)
	if resp.Header.Get("HX-Redirect") != taskURL || s.countTasks("draft2-"+pk) != 0 || !strings.Contains(flash(resp), "already created the task") {
		t.Errorf("a completed draft sent again: %q %q, %d tasks", resp.Header.Get("HX-Redirect"), flash(resp), s.countTasks("draft2-"+pk))
	}
	_, doc = s.page("GET", step2URL, nil, false)
	if testid(doc, "draft-task").AttrOr("href", "") != taskURL || testid(doc, "create-step-2").Length() != 0 {
		t.Errorf("a completed draft shown again: %q", doc.Find("main").Text())
	}
}

// TestCreateWizardAllErrors: a step with several bad fields shows every
// error at once, each next to its field (aria-describedby) in the form's
// words, listed in a summary that links to the fields, the input kept.
func TestCreateWizardAllErrors(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	form := createForm(pk)
	form.Set("step", "1")
	form.Set("name", " ")
	form.Set("devices", pk+",d1\nlamp\n"+pk+",d1\n"+pk+",bad name")
	form.Set("jobDocument", "{\n  \"a\": 1,\n  oops\n}")
	form.Set("jobFileId", "7")
	form.Set("signMethod", "CRC")
	resp, doc := s.page("POST", "/tasks/new", form, true)
	if resp.StatusCode != 422 || testid(doc, "create-step-1").Length() != 1 {
		t.Fatalf("step 1: %d", resp.StatusCode)
	}
	want := map[string][]string{
		"name":        {"Task name: must be 1 to 128 characters"},
		"devices":     {`Devices, line 2: "lamp" is not productKey,deviceName`, "Devices, line 3: d1 is listed twice (also on line 1)", `Devices, line 4: the device name "bad name" has a character that is not allowed`},
		"jobDocument": {"Job document: is not valid JSON", "(line 3, column 3)"},
		"signMethod":  {"File signature algorithm: must be MD5 or SHA256"},
	}
	anchors := map[string]string{"name": "#f-name", "devices": "#f-devices", "jobDocument": "#f-jobDocument", "signMethod": "#f-signMethod"}
	for name, msgs := range want {
		got := testid(doc, "error-err-"+name).Text()
		for _, m := range msgs {
			if !strings.Contains(got, m) {
				t.Errorf("%s: error %q, want %q", name, got, m)
			}
		}
		if d := doc.Find(anchors[name]).AttrOr("aria-describedby", ""); !strings.Contains(d, "err-"+name) {
			t.Errorf("%s: aria-describedby %q", name, d)
		}
		link := testid(doc, "summary-"+name)
		if link.AttrOr("href", "") != anchors[name] || !strings.Contains(link.Text(), msgs[0]) {
			t.Errorf("%s: summary link %q %q", name, link.AttrOr("href", ""), link.Text())
		}
	}
	if n := testid(doc, "error-summary").Find("li").Length(); n != 6 {
		t.Errorf("the summary lists %d errors, want 6: %q", n, testid(doc, "error-summary").Text())
	}
	if doc.Find("#f-devices").Text() != form.Get("devices") || doc.Find("#f-jobDocument").Text() != form.Get("jobDocument") {
		t.Error("the input is not kept")
	}

	form = createForm(pk)
	form.Set("rolloutPerMinute", "0")
	form.Set("qos", "2")
	form.Set("inProgressTimeoutMinutes", "0")
	form.Set("start", "at")
	form.Set("scheduledAt", "2001-01-01T10:00")
	form.Set("policyPreset", "custom")
	form.Set("policy", `{"waves":[{"percent":150}]}`)
	resp, doc = s.page("POST", "/tasks/new", form, false)
	if resp.StatusCode != 422 || testid(doc, "create-step-2").Length() != 1 {
		t.Fatalf("step 2: %d", resp.StatusCode)
	}
	for name, m := range map[string]string{
		"rolloutPerMinute":         "Jobs executed per minute: must be 1 to 100000",
		"qos":                      "Push message type: must be 0",
		"inProgressTimeoutMinutes": "Execution timeout: must be 1 to 10080 minutes (7 days), or empty for no timeout",
		"scheduledAt":              "Date and time (UTC): must be in the future",
		"policy":                   "Rollout policy: ",
	} {
		if got := testid(doc, "error-err-"+name).Text(); !strings.Contains(got, m) {
			t.Errorf("step 2, %s: %q, want %q", name, got, m)
		}
	}
	if n := testid(doc, "error-summary").Find("li").Length(); n != 5 {
		t.Errorf("step 2: the summary lists %d errors, want 5", n)
	}

	// the API answers the first error, and all of them in errors
	code, raw := s.do("POST", "/api/v1/tasks", map[string]any{"name": "", "target": map[string]any{"type": "DEVICE_LIST",
		"devices": []map[string]string{{"productKey": pk, "deviceName": "d1"}, {"productKey": pk, "deviceName": "d1"}}},
		"jobDocument": map[string]string{"k": "v"}, "rolloutPerMinute": 0}, nil)
	if code != 400 || !strings.Contains(string(raw), `"field":"name"`) || !strings.Contains(string(raw), `"errors":[`) ||
		!strings.Contains(string(raw), `"field":"target.devices[1]"`) || !strings.Contains(string(raw), `"field":"rolloutPerMinute"`) {
		t.Errorf("API: %d %s", code, raw)
	}
}

// TestCreateWizardWords: the errors the create form can meet read in the
// form's words, not the API's field names and indexes.
func TestCreateWizardWords(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	dyn := testenv.SeedGroup(t, s.Deps.DB, "dyn-"+pk, "dynamic", "productKey = '"+pk+"'", nil)
	empty := testenv.SeedGroup(t, s.Deps.DB, "empty-"+pk, "static", "", nil)
	if _, err := s.Deps.DB.Pool.Exec(t.Context(), `INSERT INTO products (product_key, name) VALUES ($1, $1)`, "e"+pk); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change map[string]string
		field  string
		want   string
	}{
		{"unregistered devices", map[string]string{"devices": pk + ",d1\n" + pk + ",d2\n\n" + pk + ",nosuch"}, "devices", "Devices, line 4: no device " + pk + "/nosuch in product " + pk},
		{"listed twice", map[string]string{"devices": pk + ",d1\n\n" + pk + ",d1"}, "devices", "Devices, line 3: d1 is listed twice (also on line 1)"},
		{"bad product key on a line", map[string]string{"devices": "a b,d1"}, "devices", `Devices, line 1: the product key "a b" has a character that is not allowed`},
		{"no devices", map[string]string{"devices": ""}, "devices", "Devices: list at least one device"},
		{"no product", map[string]string{"targetType": "PRODUCT", "productKey": ""}, "productKey", "Product: choose a product"},
		{"unknown product", map[string]string{"targetType": "PRODUCT", "productKey": "nope"}, "productKey", "Product: there is no product nope"},
		{"product without devices", map[string]string{"targetType": "PRODUCT", "productKey": "e" + pk}, "productKey", "Product: the product has no devices"},
		{"no group", map[string]string{"targetType": "GROUP", "groupId": ""}, "groupId", "Group: choose a static group"},
		{"unknown group", map[string]string{"targetType": "GROUP", "groupId": "999999"}, "groupId", "Group: the group no longer exists"},
		{"dynamic group", map[string]string{"targetType": "GROUP", "groupId": dyn.String()}, "groupId", "Group: the group is dynamic"},
		{"empty group", map[string]string{"targetType": "GROUP", "groupId": empty.String()}, "groupId", "Group: the group has no devices"},
		{"bad JSON", map[string]string{"jobDocument": `{"a" 1}`}, "jobDocument", "Job document: is not valid JSON: invalid character '1' after object key (line 1, column 6)"},
		{"not an object", map[string]string{"jobDocument": `[1]`}, "jobDocument", "Job document: must be a JSON object"},
		{"no document", map[string]string{"jobDocument": ""}, "jobDocument", "Job document: is required: write the job document as a JSON object"},
		{"no rule file picked", map[string]string{"ruleSource": "pick"}, "ruleFile", "Rule file: is required: choose an uploaded rule file"},
		{"deleted rule file", map[string]string{"ruleSource": "pick", "ruleFilePick": "999999"}, "ruleFile", "Rule file: the rule file no longer exists"},
		{"deleted task file", map[string]string{"jobFileId": "999999"}, "jobFile", "Task file: the file no longer exists"},
		{"past start", map[string]string{"start": "at", "scheduledAt": "2001-01-01T10:00"}, "scheduledAt", "Date and time (UTC): must be in the future (times are in UTC)"},
		{"start too far", map[string]string{"start": "at", "scheduledAt": "2099-01-01T10:00"}, "scheduledAt", "Date and time (UTC): must be at most 30 days ahead"},
		{"rate", map[string]string{"rolloutPerMinute": "100001"}, "rolloutPerMinute", "Jobs executed per minute: must be 1 to 100000"},
		{"rate not a number", map[string]string{"rolloutPerMinute": "fast"}, "rolloutPerMinute", "Jobs executed per minute: must be a whole number"},
		{"timeout", map[string]string{"inProgressTimeoutMinutes": "99999"}, "inProgressTimeoutMinutes", "Execution timeout: must be 1 to 10080 minutes (7 days), or empty for no timeout"},
		{"policy continuous on a list", map[string]string{"policyPreset": "custom", "policy": `{"continuous":true}`}, "policy", "Rollout policy: continuous is for a Product or Group destination"},
		{"policy end before start", map[string]string{"policyPreset": "custom", "start": "at", "scheduledAt": "2030-01-01T10:00", "policy": `{"endAt":"2029-01-01T00:00:00Z"}`}, "policy", "Rollout policy: "},
		{"policy not JSON", map[string]string{"policyPreset": "custom", "policy": `{`}, "policy", "Rollout policy: "},
	} {
		form := createForm(pk)
		for k, v := range c.change {
			form.Set(k, v)
		}
		_, doc := s.page("POST", "/tasks/new", form, true)
		got := testid(doc, "error-err-"+c.field).Text()
		if !strings.Contains(got, c.want) || strings.Contains(got, "target.") || strings.Contains(got, "devices[") || strings.Contains(got, "jobDocument") ||
			strings.Contains(got, "scheduledAt") || strings.Contains(got, "rolloutPerMinute") || strings.Contains(got, "absent") {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
