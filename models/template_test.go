package models_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// templateTasks is a task service with a rule file and a firmware file.
func templateTasks(t *testing.T) (*models.DB, *models.Files, *models.Tasks, *models.File, *models.File) {
	t.Helper()
	t.Parallel()
	db := testenv.DB(t)
	files := models.NewFiles(db, t.TempDir(), []byte("0123456789abcdef0123456789abcdef"), "http://127.0.0.1:8080")
	rule := store(t, files, models.FileRule, "rule.json", []byte(`{"from":"rule"}`))
	fw := store(t, files, models.FileFirmware, "fw.bin", []byte("firmware"))
	return db, files, models.NewTasks(db, files), rule, fw
}

// wantField fails t unless err is a models.Error of kind on field whose
// message contains msg.
func wantField(t *testing.T, what string, err error, kind models.Kind, field, msg string) {
	t.Helper()
	e, ok := models.AsError(err)
	if !ok || e.Kind != kind || e.Field != field || !strings.Contains(e.Message, msg) {
		t.Errorf("%s: %v (%#v), want %s on %s saying %q", what, err, e, kind, field, msg)
	}
}

func TestTemplateCRUD(t *testing.T) {
	_, _, tasks, rule, fw := templateTasks(t)
	ctx := context.Background()
	policy := &models.Policy{Waves: []models.Wave{{Percent: new(10.0)}, {}},
		Abort: []models.AbortCriterion{{FailureType: "any", ThresholdPercent: 5, MinFinished: 10, Action: "pause"}}}
	tpl, err := tasks.CreateTemplate(ctx, models.TemplateInput{Name: " Lamp firmware ", Description: "spring",
		JobDocument: json.RawMessage(`{"b": 1, "a": [1, 2]}`), JobFile: &models.JobFileInput{FileID: fw.ID, SignMethod: "md5"},
		QoS: new(0), InProgressTimeoutMinutes: new(30), RolloutPerMinute: new(50), Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	// stored validated: name trimmed, document compact in its key order,
	// sign method and policy normalised
	if tpl.Name != "Lamp firmware" || string(tpl.JobDocument) != `{"b":1,"a":[1,2]}` || tpl.RuleFileID != nil ||
		tpl.QoS != 0 || *tpl.InProgressTimeoutMinutes != 30 || tpl.RolloutPerMinute != 50 {
		t.Errorf("created: %+v", tpl)
	}
	if f := tpl.JobFile; f == nil || f.FileID != fw.ID || f.SignMethod != "MD5" || f.Name != "fw.bin" || f.Sign != fw.MD5 {
		t.Errorf("job file: %+v", tpl.JobFile)
	}
	if p := tpl.Policy; p == nil || len(p.Waves) != 2 || p.Waves[0].Approval != "auto" || p.Abort[0].Action != "PAUSE" || p.Abort[0].FailureType != "ANY" {
		t.Errorf("policy: %+v", tpl.Policy)
	}
	// defaults: qos 1, rate 1000, no timeout, no policy; a rule file
	other, err := tasks.CreateTemplate(ctx, models.TemplateInput{Name: "by rule", RuleFileID: &rule.ID})
	if err != nil {
		t.Fatal(err)
	}
	if other.QoS != 1 || other.RolloutPerMinute != models.DefaultRolloutPerMin || other.InProgressTimeoutMinutes != nil ||
		other.Policy != nil || other.JobDocument != nil || other.RuleFileName != "rule.json" || other.JobFile != nil {
		t.Errorf("defaults: %+v", other)
	}

	got, err := tasks.GetTemplate(ctx, tpl.ID)
	if err != nil || got.Name != tpl.Name || string(got.JobDocument) != string(tpl.JobDocument) || len(got.Policy.Waves) != 2 {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := tasks.GetTemplate(ctx, 999999); !models.IsNotFound(err) {
		t.Errorf("get an unknown template: %v", err)
	}
	list, err := tasks.ListTemplates(ctx, "", models.Page{Number: 1, Size: 1})
	if err != nil || list.Total != 2 || len(list.Items) != 1 || list.Items[0].Name != "by rule" {
		t.Fatalf("list, page 1 of 1 each: %+v %v", list, err)
	}
	list, _ = tasks.ListTemplates(ctx, "", models.Page{Number: 2, Size: 1})
	if len(list.Items) != 1 || list.Items[0].Name != "Lamp firmware" || list.Items[0].JobFile == nil {
		t.Fatalf("list, page 2: %+v", list)
	}
	list, _ = tasks.ListTemplates(ctx, "FIRM", models.Page{Number: 1, Size: 20})
	if list.Total != 1 || list.Items[0].ID != tpl.ID {
		t.Fatalf("list q=FIRM: %+v", list)
	}
	if list, _ := tasks.ListTemplates(ctx, "100%", models.Page{Number: 1, Size: 20}); list.Total != 0 {
		t.Fatalf("list q=100%%: %+v", list)
	}

	// a patch changes the fields it gives; null removes; a rule file
	// replaces the inline document
	var p models.TemplatePatch
	if err := json.Unmarshal([]byte(`{"description":"autumn","ruleFileId":"`+rule.ID.String()+`","inProgressTimeoutMinutes":null,"policy":null,"qos":1}`), &p); err != nil {
		t.Fatal(err)
	}
	patched, err := tasks.PatchTemplate(ctx, tpl.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if patched.Description != "autumn" || patched.JobDocument != nil || patched.RuleFileID == nil || *patched.RuleFileID != rule.ID ||
		patched.InProgressTimeoutMinutes != nil || patched.Policy != nil || patched.QoS != 1 ||
		patched.Name != "Lamp firmware" || patched.RolloutPerMinute != 50 || patched.JobFile == nil || !patched.UpdatedAt.After(tpl.UpdatedAt) {
		t.Errorf("patched: %+v", patched)
	}
	if err := json.Unmarshal([]byte(`{"jobDocument":{"x":1},"jobFile":null}`), &p); err != nil {
		t.Fatal(err)
	}
	if patched, err = tasks.PatchTemplate(ctx, tpl.ID, p); err != nil || string(patched.JobDocument) != `{"x":1}` || patched.RuleFileID != nil || patched.JobFile != nil {
		t.Errorf("document back: %+v %v", patched, err)
	}
	if _, err := tasks.PatchTemplate(ctx, 999999, p); !models.IsNotFound(err) {
		t.Errorf("patch an unknown template: %v", err)
	}

	if err := tasks.DeleteTemplate(ctx, tpl.ID); err != nil {
		t.Fatal(err)
	}
	if err := tasks.DeleteTemplate(ctx, tpl.ID); !models.IsNotFound(err) {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := tasks.GetTemplate(ctx, tpl.ID); !models.IsNotFound(err) {
		t.Errorf("get a deleted template: %v", err)
	}
}

func TestTemplateValidation(t *testing.T) {
	_, _, tasks, rule, fw := templateTasks(t)
	ctx := context.Background()
	doc := json.RawMessage(`{"k":"v"}`)
	if _, err := tasks.CreateTemplate(ctx, models.TemplateInput{Name: "Spring", JobDocument: doc}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		in    models.TemplateInput
		kind  models.Kind
		field string
		msg   string
	}{
		{"no name", models.TemplateInput{Name: "  ", JobDocument: doc}, models.KindInvalid, "name", "1 to 128"},
		{"long name", models.TemplateInput{Name: strings.Repeat("n", 129), JobDocument: doc}, models.KindInvalid, "name", "1 to 128"},
		{"taken name, other case", models.TemplateInput{Name: "sPRING", JobDocument: doc}, models.KindConflict, "name", "already exists"},
		{"long description", models.TemplateInput{Name: "x", Description: strings.Repeat("d", 1001), JobDocument: doc}, models.KindInvalid, "description", "1000"},
		{"no document", models.TemplateInput{Name: "x"}, models.KindInvalid, "jobDocument", "is required"},
		{"both documents", models.TemplateInput{Name: "x", JobDocument: doc, RuleFileID: &rule.ID}, models.KindInvalid, "jobDocument", "not both"},
		{"document not an object", models.TemplateInput{Name: "x", JobDocument: json.RawMessage(`[1]`)}, models.KindInvalid, "jobDocument", "JSON object"},
		{"unknown rule file", models.TemplateInput{Name: "x", RuleFileID: new(models.ID(999999))}, models.KindUnprocessable, "ruleFileId", "does not exist"},
		{"firmware as rule file", models.TemplateInput{Name: "x", RuleFileID: &fw.ID}, models.KindUnprocessable, "ruleFileId", "not a rule file"},
		{"job file without id", models.TemplateInput{Name: "x", JobDocument: doc, JobFile: &models.JobFileInput{}}, models.KindInvalid, "jobFile.fileId", "required"},
		{"unknown job file", models.TemplateInput{Name: "x", JobDocument: doc, JobFile: &models.JobFileInput{FileID: 999999}}, models.KindUnprocessable, "jobFile.fileId", "does not exist"},
		{"rule file as job file", models.TemplateInput{Name: "x", JobDocument: doc, JobFile: &models.JobFileInput{FileID: rule.ID}}, models.KindUnprocessable, "jobFile.fileId", "firmware"},
		{"bad sign method", models.TemplateInput{Name: "x", JobDocument: doc, JobFile: &models.JobFileInput{FileID: fw.ID, SignMethod: "CRC"}}, models.KindInvalid, "jobFile.signMethod", "MD5 or SHA256"},
		{"qos 2", models.TemplateInput{Name: "x", JobDocument: doc, QoS: new(2)}, models.KindInvalid, "qos", "0 (at most once)"},
		{"timeout 0", models.TemplateInput{Name: "x", JobDocument: doc, InProgressTimeoutMinutes: new(0)}, models.KindInvalid, "inProgressTimeoutMinutes", "1 to 10080"},
		{"rate 0", models.TemplateInput{Name: "x", JobDocument: doc, RolloutPerMinute: new(0)}, models.KindInvalid, "rolloutPerMinute", "1 to 100000"},
		{"waves over 100 %", models.TemplateInput{Name: "x", JobDocument: doc, Policy: &models.Policy{Waves: []models.Wave{{Percent: new(60.0)}, {Percent: new(50.0)}, {}}}},
			models.KindInvalid, "policy.waves[1].percent", "at most 100"},
		{"base rate over the template's rate", models.TemplateInput{Name: "x", JobDocument: doc, RolloutPerMinute: new(10),
			Policy: &models.Policy{ExponentialRate: &models.ExponentialRate{BaseRatePerMinute: 20, IncrementFactor: 2, IncreaseAfter: models.IncreaseAfter{Notified: 5}}}},
			models.KindInvalid, "policy.exponentialRate.baseRatePerMinute", "rolloutPerMinute (10)"},
	}
	for _, c := range cases {
		_, err := tasks.CreateTemplate(ctx, c.in)
		wantField(t, c.name, err, c.kind, c.field, c.msg)
	}
	list, _ := tasks.ListTemplates(ctx, "", models.Page{Number: 1, Size: 20})
	if list.Total != 1 {
		t.Errorf("%d templates after the refusals, want 1", list.Total)
	}

	// a patch is validated as a whole, with the same errors
	other, err := tasks.CreateTemplate(ctx, models.TemplateInput{Name: "Autumn", JobDocument: doc})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ body, kind, field, msg string }{
		{`{"name":"SPRING"}`, string(models.KindConflict), "name", "already exists"},
		{`{"jobDocument":null}`, string(models.KindInvalid), "jobDocument", "is required"},
		{`{"policy":{"waves":[{"percent":0}]}}`, string(models.KindInvalid), "policy.waves[0].percent", "over 0"},
		{`{"rolloutPerMinute":"fast"}`, string(models.KindInvalid), "rolloutPerMinute", "wrong type"},
		{`{"policy":{"waves":"all"}}`, string(models.KindInvalid), "policy.waves", "wrong type"},
	} {
		var p models.TemplatePatch
		if err := json.Unmarshal([]byte(c.body), &p); err != nil {
			t.Fatal(err)
		}
		_, err := tasks.PatchTemplate(ctx, other.ID, p)
		wantField(t, "patch "+c.body, err, models.Kind(c.kind), c.field, c.msg)
	}
	var p models.TemplatePatch
	wantField(t, "patch of a task field", json.Unmarshal([]byte(`{"target":{}}`), &p), models.KindInvalid, "target", "not a field of a template")
	if got, _ := tasks.GetTemplate(ctx, other.ID); got.Name != "Autumn" || string(got.JobDocument) != `{"k":"v"}` || got.Policy != nil {
		t.Errorf("a refused patch changed the template: %+v", got)
	}
}

func TestTaskFromTemplate(t *testing.T) {
	db, _, tasks, rule, fw := templateTasks(t)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, db, pk, 4)
	tpl, err := tasks.CreateTemplate(ctx, models.TemplateInput{Name: "lamps", Description: "from the template",
		RuleFileID: &rule.ID, JobFile: &models.JobFileInput{FileID: fw.ID, SignMethod: "MD5"},
		QoS: new(0), InProgressTimeoutMinutes: new(45), RolloutPerMinute: new(40),
		Policy: &models.Policy{Waves: []models.Wave{{Count: new(int64(1))}, {}}}})
	if err != nil {
		t.Fatal(err)
	}
	target := models.TargetInput{Type: models.TargetDeviceList, Devices: devices}

	// every setting from the template; name and target the request's
	task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "first", Target: target, TemplateID: &tpl.ID})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := tasks.Document(ctx, task.ID)
	if task.Name != "first" || task.Target.DeviceCount != 4 || task.Description != "from the template" ||
		task.RuleFileID == nil || *task.RuleFileID != rule.ID || string(doc) != `{"from":"rule"}` ||
		task.JobFile == nil || task.JobFile.FileID != fw.ID || task.JobFile.SignMethod != "MD5" ||
		task.QoS != 0 || *task.InProgressTimeoutMinutes != 45 || task.RolloutPerMinute != 40 ||
		task.Policy == nil || len(task.Policy.Waves) != 2 || task.Rollout.Waves[0].Size != 1 {
		t.Errorf("task from the template: %+v", task)
	}

	// fields given override the template's
	task, err = tasks.CreateTask(ctx, models.TaskInput{Name: "second", Target: target, TemplateID: &tpl.ID,
		Description: "mine", JobDocument: json.RawMessage(`{"own":true}`), QoS: new(1), RolloutPerMinute: new(7),
		InProgressTimeoutMinutes: new(5), JobFile: &models.JobFileInput{FileID: fw.ID},
		Policy: &models.Policy{Waves: []models.Wave{{Percent: new(50.0)}, {}}}})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ = tasks.Document(ctx, task.ID)
	if task.Description != "mine" || task.RuleFileID != nil || string(doc) != `{"own":true}` || task.QoS != 1 ||
		task.RolloutPerMinute != 7 || *task.InProgressTimeoutMinutes != 5 || task.JobFile.SignMethod != "SHA256" ||
		task.Policy.Waves[0].Percent == nil || task.Rollout.Waves[0].Size != 2 {
		t.Errorf("task with overrides: %+v", task)
	}

	// an unknown template is 422 naming templateId
	_, err = tasks.CreateTask(ctx, models.TaskInput{Name: "third", Target: target, TemplateID: new(models.ID(999999))})
	wantField(t, "unknown template", err, models.KindUnprocessable, "templateId", "does not exist")
	// the request's own errors are its own; the template's say so
	_, err = tasks.CreateTask(ctx, models.TaskInput{Name: "", Target: target, TemplateID: &tpl.ID})
	wantField(t, "no name", err, models.KindInvalid, "name", "1 to 128")
	if e, _ := models.AsError(err); strings.Contains(e.Message, "template") {
		t.Errorf("the request's error blames the template: %v", err)
	}
	_, err = tasks.CreateTask(ctx, models.TaskInput{Name: "slow", Target: target, TemplateID: &tpl.ID, RolloutPerMinute: new(0)})
	wantField(t, "bad rate given", err, models.KindInvalid, "rolloutPerMinute", "1 to 100000")
	exp := &models.Policy{ExponentialRate: &models.ExponentialRate{BaseRatePerMinute: 30, IncrementFactor: 2, IncreaseAfter: models.IncreaseAfter{Notified: 5}}}
	tpl2, err := tasks.CreateTemplate(ctx, models.TemplateInput{Name: "exp", JobDocument: json.RawMessage(`{}`), Policy: exp})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tasks.CreateTask(ctx, models.TaskInput{Name: "slower", Target: target, TemplateID: &tpl2.ID, RolloutPerMinute: new(10)})
	wantField(t, "the template's policy over the request's rate", err, models.KindInvalid, "policy.exponentialRate.baseRatePerMinute", "(from the template “exp”)")

	// the template is not touched by its tasks, nor they by its deletion
	if err := tasks.DeleteTemplate(ctx, tpl.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := tasks.GetTask(ctx, task.ID); err != nil || got.Description != "mine" {
		t.Errorf("the task after its template was deleted: %+v %v", got, err)
	}
}

// A file that a template uses cannot be deleted (409 naming the
// templates); once the template lets go of it, it can.
func TestTemplateHoldsItsFiles(t *testing.T) {
	_, files, tasks, rule, fw := templateTasks(t)
	ctx := context.Background()
	tpl, err := tasks.CreateTemplate(ctx, models.TemplateInput{Name: "holder", RuleFileID: &rule.ID,
		JobFile: &models.JobFileInput{FileID: fw.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*models.File{rule, fw} {
		err := files.Delete(ctx, f.ID)
		wantField(t, "delete "+f.Name, err, models.KindConflict, "", "the template “holder” uses it")
		if _, err := files.Get(ctx, f.ID); err != nil {
			t.Errorf("%s is gone: %v", f.Name, err)
		}
	}
	var p models.TemplatePatch
	if err := json.Unmarshal([]byte(`{"jobDocument":{"k":1},"jobFile":null}`), &p); err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.PatchTemplate(ctx, tpl.ID, p); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*models.File{rule, fw} {
		if err := files.Delete(ctx, f.ID); err != nil {
			t.Errorf("delete %s once no template uses it: %v", f.Name, err)
		}
	}
}
