package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// TestConsoleDuplicateTask: Duplicate opens the create form filled in with
// the task's settings — name, description, devices, document, push message
// type, timeout, rate, rollout policy — and no schedule; only for roles that
// may create tasks.
func TestConsoleDuplicateTask(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 3)
	later := time.Now().Add(2 * time.Hour)
	task, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: "night lamps", Description: "blink at night",
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"action":"blink"}`),
		RolloutPerMinute: new(30), QoS: new(0), InProgressTimeoutMinutes: new(45), ScheduledAt: &later,
		Policy: &models.Policy{Waves: []models.Wave{{Count: new(int64(1))}, {}}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, doc := s.page("GET", "/tasks/new?duplicate="+task.ID.String(), nil, false)
	if resp.StatusCode != 200 {
		t.Fatalf("GET duplicate: %d", resp.StatusCode)
	}
	val := func(sel string) string { return doc.Find(sel).AttrOr("value", "") }
	want := map[string]string{
		"#f-name": "Copy of night lamps",
		`input[type=hidden][name="rolloutPerMinute"]`:         "30",
		`input[type=hidden][name="qos"]`:                      "0",
		`input[type=hidden][name="inProgressTimeoutMinutes"]`: "45",
		`input[type=hidden][name="policyPreset"]`:             "custom",
		`input[type=hidden][name="start"]`:                    "now",
		`input[type=hidden][name="scheduledAt"]`:              "",
	}
	for sel, v := range want {
		if got := val(sel); got != v {
			t.Errorf("%s = %q, want %q", sel, got, v)
		}
	}
	if got := doc.Find("#f-description").Text(); got != "blink at night" {
		t.Errorf("description %q", got)
	}
	if got := strings.TrimSpace(doc.Find("#f-devices").Text()); got != pk+",d1\n"+pk+",d2\n"+pk+",d3" {
		t.Errorf("devices %q", got)
	}
	if !strings.Contains(doc.Find("#f-jobDocument").Text(), `"action": "blink"`) || !testid(doc, "ruleSource-inline").Is("[checked]") {
		t.Errorf("document %q", doc.Find("#f-jobDocument").Text())
	}
	if !strings.Contains(val(`input[type=hidden][name="policy"]`), `"waves"`) {
		t.Errorf("policy %q", val(`input[type=hidden][name="policy"]`))
	}
	if !testid(doc, "targetType-"+models.TargetDeviceList).Is("[checked]") {
		t.Error("the target type is not chosen")
	}

	// a product's task with a rule file: the same product, the file picked
	rule := s.storedFile(models.FileRule, "rule.json", `{"v":1}`)
	product, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: strings.Repeat("p", models.MaxTaskNameLen),
		Target: models.TargetInput{Type: models.TargetProduct, ProductKey: pk}, RuleFileID: &rule.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, doc = s.page("GET", "/tasks/new?duplicate="+product.ID.String(), nil, false)
	if name := val("#f-name"); name != "Copy of "+strings.Repeat("p", models.MaxTaskNameLen-8) {
		t.Errorf("a long name is not cut to the limit: %q", name)
	}
	if doc.Find(`#f-productKey option[selected]`).AttrOr("value", "") != pk || !testid(doc, "targetType-"+models.TargetProduct).Is("[checked]") {
		t.Error("the product is not chosen")
	}
	if !testid(doc, "ruleSource-pick").Is("[checked]") || doc.Find(`#f-ruleFilePick option[selected]`).AttrOr("value", "") != rule.ID.String() {
		t.Error("the rule file is not picked")
	}

	// the form, sent on as it is, creates the copy with the same settings
	form := formOf(doc, "#task-form")
	resp, doc = s.page("POST", "/tasks/new", form, false)
	if resp.StatusCode != 200 || testid(doc, "create-step-2").Length() != 1 {
		t.Fatalf("step 1 of the duplicate: %d %q", resp.StatusCode, doc.Find("[role=alert], .field-error").Text())
	}
	resp, _ = s.page("POST", "/tasks/new", formOf(doc, "#task-form"), false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	id, err := models.ParseID("id", strings.TrimPrefix(resp.Header.Get("Location"), "/tasks/"))
	if err != nil {
		t.Fatal(err)
	}
	made, err := s.Deps.Tasks.GetTask(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if made.ID == product.ID || made.RuleFileID == nil || *made.RuleFileID != rule.ID || made.Target.Type != models.TargetProduct ||
		*made.Target.ProductKey != pk || made.ScheduledAt != nil {
		t.Errorf("the copy: %+v", made)
	}

	// a deleted or unknown task: the empty form, saying so
	resp, doc = s.page("GET", "/tasks/new?duplicate=999999", nil, false)
	if resp.StatusCode != 404 || !strings.Contains(testid(doc, "error-form").Text(), "There is no task 999999 to duplicate") || val("#f-name") != "" {
		t.Errorf("unknown task: %d %q", resp.StatusCode, testid(doc, "error-form").Text())
	}

	// the task page offers Duplicate to those who may create tasks
	_, doc = s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	if testid(doc, "action-duplicate").AttrOr("href", "") != "/tasks/new?duplicate="+task.ID.String() {
		t.Error("no Duplicate on the task page")
	}
	s.As = s.user(models.RoleSupport)
	_, doc = s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	if testid(doc, "action-duplicate").Length() != 0 {
		t.Error("support is offered Duplicate")
	}
	if resp, _ := s.page("GET", "/tasks/new?duplicate="+task.ID.String(), nil, false); resp.StatusCode != http.StatusForbidden {
		t.Errorf("support duplicates: %d", resp.StatusCode)
	}
}
