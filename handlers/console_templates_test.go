package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// formOf is what a browser sends of the form sel of doc: its named
// controls, checkboxes and radios only when checked.
func formOf(doc *goquery.Document, sel string) url.Values {
	v := url.Values{}
	doc.Find(sel).Find("input, textarea, select").Each(func(_ int, c *goquery.Selection) {
		name, ok := c.Attr("name")
		if !ok || name == "" {
			return
		}
		switch {
		case goquery.NodeName(c) == "textarea":
			v.Add(name, c.Text())
		case goquery.NodeName(c) == "select":
			opt := c.Find("option[selected]")
			if opt.Length() == 0 {
				opt = c.Find("option").First()
			}
			v.Add(name, opt.AttrOr("value", ""))
		case c.AttrOr("type", "") == "checkbox" || c.AttrOr("type", "") == "radio":
			if _, checked := c.Attr("checked"); checked {
				v.Add(name, c.AttrOr("value", "on"))
			}
		case c.AttrOr("type", "") == "file":
		default:
			v.Add(name, c.AttrOr("value", ""))
		}
	})
	return v
}

func TestConsoleTemplates(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	_, doc := s.page("GET", "/templates", nil, false)
	if !strings.Contains(testid(doc, "empty-state").Text(), "Save as template") {
		t.Errorf("empty list: %q", testid(doc, "empty-state").Text())
	}
	if doc.Find(`nav[aria-label="Main"] a[href="/templates"][aria-current="page"]`).Length() != 1 {
		t.Error("no current Templates entry in the main nav")
	}

	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	task, err := s.Deps.Tasks.CreateTask(ctx, models.TaskInput{Name: "lamps", Description: "spring firmware",
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`),
		QoS: new(0), RolloutPerMinute: new(30), InProgressTimeoutMinutes: new(45),
		Policy: &models.Policy{Waves: []models.Wave{{Count: new(int64(1))}, {}}}})
	if err != nil {
		t.Fatal(err)
	}
	taskPath := "/tasks/" + task.ID.String()

	// the task page offers the save, in a dialog with a CSRF token
	_, doc = s.page("GET", taskPath, nil, false)
	form := testid(doc, "template-dialog").Find(`form[action="` + taskPath + `/template"]`)
	if testid(doc, "action-save-template").AttrOr("data-open-dialog", "") != "template-dialog" || form.Length() != 1 ||
		form.Find(`input[name="_csrf"]`).AttrOr("value", "") == "" || testid(doc, "template-save-name").AttrOr("value", "") != "lamps" {
		t.Fatalf("save as template on the task page: %q", testid(doc, "template-dialog").Text())
	}

	// saved: to the template's page; a taken name, in any case, comes back
	// beside the field with what was typed, in the dialog (htmx) or on a
	// page of its own
	resp, _ := s.page("POST", taskPath+"/template", url.Values{"name": {"Spring"}}, false)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/templates/") || !strings.Contains(flash(resp), "Saved the template “Spring”") {
		t.Fatalf("save: %d %s %q", resp.StatusCode, loc, flash(resp))
	}
	for _, c := range []struct {
		name, want string
		hx         bool
	}{{"SPRING", "already exists", true}, {"SPRING", "already exists", false}, {" ", "1 to 128", true}} {
		resp, doc := s.page("POST", taskPath+"/template", url.Values{"name": {c.name}}, c.hx)
		full := doc.Find(`nav[aria-label="Main"]`).Length() == 1
		if resp.StatusCode != 422 || !strings.Contains(testid(doc, "error-template-save-error").Text(), c.want) ||
			testid(doc, "template-save-name").AttrOr("value", "?") != c.name || full == c.hx ||
			testid(doc, "template-save").Find(`input[name="_csrf"]`).Length() != 1 {
			t.Errorf("save as %q (htmx %v): %d, full page %v: %q", c.name, c.hx, resp.StatusCode, full, testid(doc, "template-save").Text())
		}
	}
	id := strings.TrimPrefix(loc, "/templates/")

	// the list, its search
	_, doc = s.page("GET", "/templates", nil, false)
	if row := testid(doc, "template-row"); row.Length() != 1 || row.AttrOr("data-template", "") != "Spring" ||
		!strings.Contains(row.Text(), "inline JSON") || !strings.Contains(row.Text(), "2 waves") || row.Find(`a[href="`+loc+`"]`).Length() != 1 {
		t.Errorf("list: %q", row.Text())
	}
	_, frag := s.page("GET", "/templates?q=SPR", nil, true)
	if testid(frag, "template-row").Length() != 1 || frag.Find(`nav[aria-label="Main"]`).Length() != 0 {
		t.Errorf("search SPR: %q", frag.Text())
	}
	_, frag = s.page("GET", "/templates?q=autumn", nil, true)
	if !strings.Contains(testid(frag, "empty-state").Text(), "No template's name contains “autumn”") {
		t.Errorf("search autumn: %q", frag.Text())
	}

	// the template's page: its settings, create a task from it, delete
	_, doc = s.page("GET", loc, nil, false)
	if testid(doc, "template-name").Text() != "Spring" || testid(doc, "template-use").AttrOr("href", "") != "/tasks/new?template="+id ||
		!strings.Contains(testid(doc, "template-policy").Text(), "1 device first, then everyone else") || !strings.Contains(testid(doc, "template-document").Text(), `"k": "v"`) ||
		testid(doc, "template-delete").AttrOr("data-open-dialog", "") != "template-delete-dialog" ||
		testid(doc, "template-delete-dialog").Find(`form[action="`+loc+`/delete"] input[name="_csrf"]`).Length() != 1 {
		t.Errorf("template page: %q", doc.Find("main").Text())
	}

	// the create form, filled in from the template
	_, doc = s.page("GET", "/tasks/new?template="+id, nil, false)
	if testid(doc, "template-pick").Find(`option[selected]`).AttrOr("value", "") != id ||
		doc.Find("#f-name").AttrOr("value", "?") != "" || doc.Find("#f-description").Text() != "spring firmware" ||
		!strings.Contains(doc.Find("#f-jobDocument").Text(), `"k": "v"`) ||
		doc.Find(`input[name="ruleSource"][value="inline"][checked]`).Length() != 1 ||
		doc.Find(`input[type=hidden][name="rolloutPerMinute"]`).AttrOr("value", "") != "30" ||
		doc.Find(`input[type=hidden][name="qos"]`).AttrOr("value", "") != "0" ||
		doc.Find(`input[type=hidden][name="inProgressTimeoutMinutes"]`).AttrOr("value", "") != "45" ||
		!strings.Contains(doc.Find(`input[type=hidden][name="policy"]`).AttrOr("value", ""), `"waves"`) {
		t.Fatalf("the form from the template: %q", doc.Find("#task-form").Text())
	}
	resp, doc = s.page("GET", "/tasks/new?template=999999", nil, false)
	if resp.StatusCode != 404 || !strings.Contains(testid(doc, "error-form").Text(), "no template 999999") || testid(doc, "create-step-1").Length() != 1 {
		t.Errorf("an unknown template: %d %q", resp.StatusCode, testid(doc, "error-form").Text())
	}

	// step 1 with a name and devices; step 2 shows the rate and the policy
	_, doc = s.page("GET", "/tasks/new?template="+id, nil, false)
	values := formOf(doc, "#task-form")
	values.Set("name", "from template")
	values.Set("targetType", models.TargetDeviceList)
	values.Set("devices", pk+",d1\n"+pk+",d2")
	resp, doc = s.page("POST", "/tasks/new", values, true)
	if resp.StatusCode != 200 || testid(doc, "create-step-2").Length() != 1 || doc.Find("#f-rolloutPerMinute").AttrOr("value", "") != "30" ||
		!strings.Contains(doc.Find("#f-policy").Text(), `"waves"`) {
		t.Fatalf("step 2: %d %q", resp.StatusCode, doc.Text())
	}
	if _, checked := testid(doc, "policy-custom").Attr("checked"); !checked {
		t.Error("the template's policy is not chosen")
	}
	step2 := formOf(doc, "#task-form")
	for _, keep := range []bool{true, false} {
		values := url.Values{}
		for k, v := range step2 {
			values[k] = v
		}
		values.Del("draft") // one form, two tasks: a completed draft creates no second one
		if !keep {
			values.Set("policyPreset", "none")
			values.Set("name", "without policy")
		}
		resp, _ := s.page("POST", "/tasks/new", values, false)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/tasks/") {
			t.Fatalf("create (policy %v): %d", keep, resp.StatusCode)
		}
		var made models.ID
		fmt.Sscan(strings.TrimPrefix(resp.Header.Get("Location"), "/tasks/"), (*int64)(&made))
		got, err := s.Deps.Tasks.GetTask(ctx, made)
		if err != nil {
			t.Fatal(err)
		}
		if got.Description != "spring firmware" || string(got.JobDocument) != `{"k":"v"}` || got.QoS != 0 || got.RolloutPerMinute != 30 ||
			*got.InProgressTimeoutMinutes != 45 || got.Target.DeviceCount != 2 || (got.Policy != nil) != keep {
			t.Errorf("the task made from the form (policy %v): %+v", keep, got)
		}
	}
	// a policy that no longer holds is shown beside it, on step 2
	bad := url.Values{}
	for k, v := range step2 {
		bad[k] = v
	}
	bad.Del("draft")
	bad.Set("policy", `{"endAt":"2001-01-01T00:00:00Z"}`)
	resp, doc = s.page("POST", "/tasks/new", bad, true)
	if resp.StatusCode != 422 || testid(doc, "create-step-2").Length() != 1 ||
		!strings.Contains(testid(doc, "error-err-policy").Text(), "endAt must be in the future") {
		t.Errorf("a past end time: %d %q", resp.StatusCode, testid(doc, "field-policy").Text())
	}

	// deleted through its dialog's form
	resp, _ = s.page("POST", loc+"/delete", url.Values{}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/templates" || !strings.Contains(flash(resp), "Deleted the template “Spring”") {
		t.Fatalf("delete: %d %s %q", resp.StatusCode, resp.Header.Get("Location"), flash(resp))
	}
	if resp, _ := s.page("GET", loc, nil, false); resp.StatusCode != 404 {
		t.Errorf("a deleted template's page: %d", resp.StatusCode)
	}
}

// The list pages by 20; support staff read templates but see no way to
// make, use or delete one.
func TestConsoleTemplatesPagesAndRoles(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	for i := range 21 {
		if _, err := s.Deps.Tasks.CreateTemplate(ctx, models.TemplateInput{Name: fmt.Sprintf("t%02d", i), JobDocument: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	_, doc := s.page("GET", "/templates", nil, false)
	if testid(doc, "template-row").Length() != 20 || doc.Find(`a[rel="next"]`).AttrOr("href", "") != "/templates?page=2" {
		t.Errorf("page 1: %d rows, next %q", testid(doc, "template-row").Length(), doc.Find(`a[rel="next"]`).AttrOr("href", ""))
	}
	_, doc = s.page("GET", "/templates?page=2", nil, false)
	if rows := testid(doc, "template-row"); rows.Length() != 1 || rows.AttrOr("data-template", "") != "t20" || doc.Find(`a[rel="prev"]`).Length() != 1 {
		t.Errorf("page 2: %q", rows.Text())
	}

	// a template of files fills in the pickers of an operator, who may
	// not upload
	var ids [2]models.ID
	for i, f := range []struct{ kind, name, content string }{{models.FileRule, "r.json", `{"a":1}`}, {models.FileFirmware, "fw.bin", "fw"}} {
		up, err := s.Deps.Files.Receive(f.name, strings.NewReader(f.content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		file, err := s.Deps.Files.Create(ctx, f.kind, up)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = file.ID
	}
	tpl, err := s.Deps.Tasks.CreateTemplate(ctx, models.TemplateInput{Name: "files", RuleFileID: &ids[0],
		JobFile: &models.JobFileInput{FileID: ids[1], SignMethod: "MD5"}})
	if err != nil {
		t.Fatal(err)
	}
	s.As = s.user(models.RoleOperator)
	_, doc = s.page("GET", "/tasks/new?template="+tpl.ID.String(), nil, false)
	if doc.Find(`input[name="ruleSource"][value="pick"][checked]`).Length() != 1 ||
		doc.Find(`#f-ruleFilePick option[selected]`).AttrOr("value", "") != ids[0].String() ||
		doc.Find(`#f-jobFileId option[selected]`).AttrOr("value", "") != ids[1].String() ||
		doc.Find(`#f-signMethod option[selected]`).AttrOr("value", "") != "MD5" {
		t.Errorf("the form from a template of files: %q", doc.Find("#task-form").Text())
	}

	task, _ := s.consoleTask("watched", 1)
	s.As = s.user(models.RoleSupport)
	_, doc = s.page("GET", "/templates/1", nil, false)
	if testid(doc, "template-name").Text() != "t00" || testid(doc, "template-use").Length() != 0 || testid(doc, "template-delete").Length() != 0 ||
		testid(doc, "template-delete-dialog").Length() != 0 {
		t.Errorf("support sees a template's actions: %q", doc.Find("main").Text())
	}
	_, doc = s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	if testid(doc, "action-save-template").Length() != 0 || testid(doc, "template-dialog").Length() != 0 {
		t.Error("support sees Save as template")
	}
	if resp, _ := s.page("GET", "/tasks/new?template=1", nil, false); resp.StatusCode != http.StatusForbidden {
		t.Errorf("support opens the create form from a template: %d", resp.StatusCode)
	}
}
