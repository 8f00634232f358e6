package handlers_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// TestTaskPolicyAPI: a policy is taken on create and shown by GET with
// where the rollout stands; a policy that cannot work is a 400 naming the
// field; pause, resume and approve answer the task, refuse what does not
// apply with 409, and are audited.
func TestTaskPolicyAPI(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 10)

	bad := taskBody(devices)
	bad["policy"] = map[string]any{"waves": []any{map[string]any{"percent": 60}, map[string]any{"percent": 50}, map[string]any{}}}
	var e apiErr
	if status, raw := s.do("POST", "/api/v1/tasks", bad, &e); status != http.StatusBadRequest || e.Error.Field != "policy.waves[1].percent" {
		t.Errorf("waves over 100 %%: %d %s", status, raw)
	}
	bad["policy"] = map[string]any{"maintenanceWindows": []any{map[string]any{"cron": "0 2 * * *", "durationMinutes": 60, "timeZone": "Nowhere/Land"}}}
	if status, raw := s.do("POST", "/api/v1/tasks", bad, &e); status != http.StatusBadRequest || e.Error.Field != "policy.maintenanceWindows[0].timeZone" {
		t.Errorf("unknown time zone: %d %s", status, raw)
	}

	b := taskBody(devices)
	b["policy"] = json.RawMessage(`{"waves":[{"count":2,"successGate":{"percent":90,"minFinished":2}},{"percent":30,"approval":"manual"},{}],
		"abort":[{"failureType":"any","thresholdPercent":10,"minFinished":5,"action":"pause"}]}`)
	var task struct {
		ID      models.ID      `json:"id"`
		Policy  models.Policy  `json:"policy"`
		Rollout models.Rollout `json:"rollout"`
	}
	if status, raw := s.do("POST", "/api/v1/tasks", b, &task); status != http.StatusCreated {
		t.Fatalf("create with a policy: %d %s", status, raw)
	}
	if len(task.Policy.Waves) != 3 || task.Policy.Waves[0].Approval != "auto" || task.Policy.Abort[0].Action != "PAUSE" || task.Policy.Abort[0].FailureType != "ANY" {
		t.Errorf("policy as stored: %+v", task.Policy)
	}
	r := task.Rollout
	if r.State != models.RolloutRunning || r.Wave != 1 || len(r.Waves) != 3 || r.Waves[0].Size != 2 || r.Waves[1].Size != 3 || r.Waves[2].Size != 5 {
		t.Errorf("rollout at creation: %+v", r)
	}
	var subs models.List[models.Subtask]
	s.do("GET", "/api/v1/tasks/"+task.ID.String()+"/subtasks?pageSize=10", nil, &subs)
	waves := []int{}
	for _, st := range subs.Items {
		waves = append(waves, st.Wave)
	}
	if want := []int{1, 1, 2, 2, 2, 3, 3, 3, 3, 3}; !equalInts(waves, want) {
		t.Errorf("sub-task waves %v, want %v", waves, want)
	}

	path := "/api/v1/tasks/" + task.ID.String()
	// PATCH: gates, approvals, criteria can change; the waves' shares cannot
	changed := json.RawMessage(`{"waves":[{"count":2,"successGate":{"percent":50,"minFinished":1}},{"percent":30},{"percent":60}],
		"abort":[{"failureType":"FAILED","thresholdPercent":20,"minFinished":5,"action":"CANCEL"}]}`)
	if status, raw := s.do("PATCH", path, map[string]any{"policy": changed}, &task); status != http.StatusOK ||
		task.Policy.Waves[0].SuccessGate.Percent != 50 || task.Policy.Waves[1].Approval != "auto" || task.Policy.Abort[0].Action != "CANCEL" {
		t.Errorf("patch the policy: %d %s", status, raw)
	}
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"policy": json.RawMessage(`{"waves":[{"count":3},{"percent":30},{}]}`)}, "policy.waves"},
		{map[string]any{"policy": json.RawMessage(`{"waves":[{"count":2},{}]}`)}, "policy.waves"},
		{map[string]any{"policy": nil}, "policy"},
		{map[string]any{"policy": json.RawMessage(`{"waves":[{"count":2},{"percent":30},{}],"abort":[{"failureType":"ANY","thresholdPercent":5,"minFinished":0,"action":"PAUSE"}]}`)}, "policy.abort[0].minFinished"},
	} {
		if status, raw := s.do("PATCH", path, c.body, &e); status != http.StatusBadRequest || e.Error.Field != c.field {
			t.Errorf("patch %v: %d %s, want 400 on %s", c.body, status, raw, c.field)
		}
	}
	s.do("PATCH", path, map[string]any{"policy": b["policy"]}, &task)

	// wave 3 cannot be approved before wave 2; wave 2 can
	if status, raw := s.do("POST", path+"/waves/3/approve", nil, &e); status != http.StatusConflict {
		t.Errorf("approve wave 3 first: %d %s", status, raw)
	}
	if status, raw := s.do("POST", path+"/waves/9/approve", nil, &e); status != http.StatusNotFound {
		t.Errorf("approve wave 9: %d %s", status, raw)
	}
	// (no workers run here: wave 1 is not all sent, so wave 2 opens later)
	if status, raw := s.do("POST", path+"/waves/2/approve", nil, &task); status != http.StatusOK || !task.Rollout.Waves[1].Approved || task.Rollout.Waves[2].Approved {
		t.Errorf("approve wave 2: %d %s", status, raw)
	}
	if status, _ := s.do("POST", path+"/pause", nil, &task); status != http.StatusOK || task.Rollout.State != models.RolloutPaused || task.Rollout.PausedAt == nil {
		t.Errorf("pause: %d %+v", status, task.Rollout)
	}
	if status, raw := s.do("POST", path+"/pause", nil, &e); status != http.StatusConflict {
		t.Errorf("pause twice: %d %s", status, raw)
	}
	if status, _ := s.do("POST", path+"/resume", nil, &task); status != http.StatusOK || task.Rollout.State == models.RolloutPaused {
		t.Errorf("resume: %d %+v", status, task.Rollout)
	}
	if status, raw := s.do("POST", path+"/resume", nil, &e); status != http.StatusConflict {
		t.Errorf("resume twice: %d %s", status, raw)
	}
	// a support user may not
	s.As = s.user(models.RoleSupport)
	if status, _ := s.do("POST", path+"/pause", nil, nil); status != http.StatusForbidden {
		t.Errorf("pause as support: %d", status)
	}
	s.As = s.user(models.RoleAdmin)
	var l models.List[models.AuditEntry]
	s.do("GET", "/api/v1/audit?action=task.", nil, &l)
	seen := map[string]bool{}
	for _, a := range l.Items {
		seen[a.Action] = true
	}
	for _, a := range []string{"task.pause", "task.resume", "task.approve_wave"} {
		if !seen[a] {
			t.Errorf("no %s in the audit log", a)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSubtaskAttemptsAPI: a rerun keeps each sub-task's attempt so far in
// its history, which GET …/subtasks/{sid} and the console's execution
// details show with the wave.
func TestSubtaskAttemptsAPI(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	var task struct {
		ID models.ID `json:"id"`
	}
	if status, raw := s.do("POST", "/api/v1/tasks", taskBody(devices), &task); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	ctx := t.Context()
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE subtasks SET status = 'FAILED', message = 'no space left', finished_at = now() WHERE task_id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deps.DB.Pool.Exec(ctx, `UPDATE tasks SET status = 'COMPLETED', finished_at = now() WHERE id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/tasks/" + task.ID.String()
	if status, raw := s.do("POST", path+"/rerun", nil, nil); status != http.StatusOK {
		t.Fatalf("rerun: %d %s", status, raw)
	}
	var subs models.List[models.Subtask]
	s.do("GET", path+"/subtasks", nil, &subs)
	var one struct {
		models.Subtask
		Attempts []models.Attempt `json:"attempts"`
	}
	if status, raw := s.do("GET", path+"/subtasks/"+subs.Items[0].ID.String(), nil, &one); status != http.StatusOK ||
		one.Attempt != 2 || one.Status != models.SubQueued || one.Wave != 1 || len(one.Attempts) != 1 ||
		one.Attempts[0].Attempt != 1 || one.Attempts[0].Status != models.SubFailed || one.Attempts[0].Message != "no space left" {
		t.Errorf("sub-task after a rerun: %d %s", status, raw)
	}
	_, doc := s.page("GET", "/tasks/"+task.ID.String()+"/subtasks/"+subs.Items[0].ID.String(), nil, true)
	if rows := doc.Find(`[data-testid="attempt"]`); rows.Length() != 1 || !strings.Contains(rows.Text(), "no space left") {
		t.Errorf("execution details: %d attempt rows: %q", rows.Length(), rows.Text())
	}
}

// TestConsoleRollout: the task page shows the policy in words, the
// rollout's state and its waves; Pause, Resume and the approval of the
// next wave work from the page.
func TestConsoleRollout(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 10)
	b := taskBody(devices)
	b["policy"] = json.RawMessage(`{"waves":[{"count":2,"successGate":{"percent":95,"minFinished":2},"soakMinutes":30},{"percent":30,"approval":"manual"},{}],
		"abort":[{"failureType":"ANY","thresholdPercent":5,"minFinished":20,"action":"PAUSE"}]}`)
	var task struct {
		ID models.ID `json:"id"`
	}
	if status, raw := s.do("POST", "/api/v1/tasks", b, &task); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	page := "/tasks/" + task.ID.String()
	_, doc := s.page("GET", page, nil, false)
	if got := doc.Find(`[data-testid="task-policy"]`).Text(); got != "2 devices first (≥ 95 % succeeded, wait 30 min), then 30 % (after approval), then everyone else; pause if more than 5 % fail (of ≥ 20 finished)." {
		t.Errorf("policy in words: %q", got)
	}
	if st := doc.Find(`[data-testid="rollout"]`).AttrOr("data-rollout-state", ""); st != models.RolloutRunning {
		t.Errorf("rollout state %q", st)
	}
	if waves := doc.Find(`[data-testid="wave"]`); waves.Length() != 3 || waves.First().AttrOr("data-wave-state", "") != models.WaveOpen {
		t.Errorf("waves: %d, first %q", waves.Length(), waves.First().AttrOr("data-wave-state", ""))
	}
	if cells := doc.Find(`[data-testid="subtask-wave"]`); cells.Length() != 10 || cells.First().Text() != "1" || cells.Last().Text() != "3" {
		t.Errorf("the sub-task table's waves: %d cells, %q … %q", cells.Length(), cells.First().Text(), cells.Last().Text())
	}
	if doc.Find(`[data-testid="action-pause"]`).Length() != 1 || doc.Find(`[data-testid="action-resume"]`).Length() != 0 {
		t.Error("a running task offers no Pause")
	}
	flash := func(resp *http.Response) string {
		for _, c := range resp.Cookies() {
			if c.Name == "flash" {
				v, _ := url.QueryUnescape(c.Value)
				return v
			}
		}
		return ""
	}
	if resp, _ := s.page("POST", page+"/pause", url.Values{}, false); resp.StatusCode != http.StatusSeeOther || !strings.Contains(flash(resp), "Paused the task") {
		t.Fatalf("pause: %d %q", resp.StatusCode, flash(resp))
	}
	_, doc = s.page("GET", page, nil, false)
	if doc.Find(`[data-testid="action-resume"]`).Length() != 1 || doc.Find(`[data-testid="rollout"]`).AttrOr("data-rollout-state", "") != models.RolloutPaused {
		t.Errorf("after the pause: resume %d, state %q", doc.Find(`[data-testid="action-resume"]`).Length(),
			doc.Find(`[data-testid="rollout"]`).AttrOr("data-rollout-state", ""))
	}
	if resp, _ := s.page("POST", page+"/resume", url.Values{}, false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d", resp.StatusCode)
	}
	if resp, _ := s.page("POST", page+"/waves/3/approve", url.Values{}, false); resp.StatusCode != http.StatusSeeOther ||
		!strings.Contains(flash(resp), "cannot be approved before wave 2") {
		t.Fatalf("approve wave 3 first: %d %q", resp.StatusCode, flash(resp))
	}
	if resp, _ := s.page("POST", page+"/waves/2/approve", url.Values{}, false); resp.StatusCode != http.StatusSeeOther ||
		!strings.Contains(flash(resp), "Approved wave 2") {
		t.Fatalf("approve wave 2: %d %q", resp.StatusCode, flash(resp))
	}
}

// TestCreateFormPolicy: the Task Schedule step offers the presets in
// words and a custom JSON policy previewed as it is typed; a preset or a
// custom policy reaches the task; a policy that cannot work is shown under
// the field with what was typed kept.
func TestCreateFormPolicy(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	for _, p := range models.PolicyPresets {
		pol, err := models.ParsePolicy([]byte(p.JSON))
		if err == nil {
			err = pol.Validate(time.Now(), 1000)
		}
		if err != nil {
			t.Errorf("preset %s: %v", p.Key, err)
		}
	}
	form := createForm(pk)
	form.Set("step", "1")
	_, doc := s.page("POST", "/tasks/new", form, false)
	if got := doc.Find(`[data-testid="field-policy"]`).Text(); !strings.Contains(got, "1 % first (≥ 95 % succeeded, wait 30 min), then 10 % (≥ 95 % succeeded), then everyone else; pause if more than 5 % fail") {
		t.Errorf("the policy field says %q", got)
	}

	create := func(name string, set map[string]string) (*http.Response, *goquery.Document) {
		f := createForm(pk)
		f.Set("name", name)
		for k, v := range set {
			f.Set(k, v)
		}
		return s.page("POST", "/tasks/new", f, false)
	}
	policyOf := func(name string) *models.Policy {
		var raw []byte
		s.Deps.DB.Pool.QueryRow(t.Context(), `SELECT policy::text FROM tasks WHERE name = $1`, name).Scan(&raw)
		if raw == nil {
			return nil
		}
		p, err := models.ParsePolicy(raw)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if resp, _ := create("canary-"+pk, map[string]string{"policyPreset": "canary"}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("canary preset: %d", resp.StatusCode)
	}
	if p := policyOf("canary-" + pk); p == nil || len(p.Waves) != 3 || len(p.Abort) != 1 {
		t.Errorf("canary preset stored as %+v", p)
	}
	custom := `{"waves":[{"count":1},{"approval":"manual"}]}`
	if resp, _ := create("custom-"+pk, map[string]string{"policyPreset": "custom", "policy": custom}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("custom policy: %d", resp.StatusCode)
	}
	if p := policyOf("custom-" + pk); p == nil || len(p.Waves) != 2 || p.Waves[1].Approval != "manual" {
		t.Errorf("custom policy stored as %+v", p)
	}
	if resp, _ := create("none-"+pk, nil); resp.StatusCode != http.StatusSeeOther || policyOf("none-"+pk) != nil {
		t.Errorf("no policy: %d %+v", resp.StatusCode, policyOf("none-"+pk))
	}
	for _, c := range []struct{ policy, msg string }{
		{`{"waves":[{"percent":70},{"percent":40},{}]}`, "waves[1].percent brings the waves to 110"},
		{`{"wavez":[]}`, `unknown field "wavez"`},
	} {
		resp, doc := create("bad-"+pk, map[string]string{"policyPreset": "custom", "policy": c.policy})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(doc.Find(`[data-testid="error-err-policy"]`).Text(), c.msg) ||
			doc.Find(`#f-policy`).Text() != c.policy || doc.Find(`[data-testid="create-step-2"]`).Length() != 1 {
			t.Errorf("%s: %d, error %q, kept %q", c.policy, resp.StatusCode, doc.Find(`[data-testid="error-err-policy"]`).Text(), doc.Find(`#f-policy`).Text())
		}
	}
	// the preview, as it is typed
	for policy, want := range map[string]string{
		`{"waves":[{"percent":5},{}],"retry":[{"failureType":"FAILED","maxAttempts":3}]}`: "5 % first, then everyone else; retry failed up to 3 times.",
		`{"waves":[{"percent":5},{}],"abort":[{"action":"STOP"}]}`:                        "abort[0].failureType must be FAILED",
		`not json`: "is not a policy in JSON",
	} {
		_, doc := s.page("POST", "/tasks/new/policy", url.Values{"policy": {policy}}, true)
		if got := doc.Text(); !strings.Contains(got, want) {
			t.Errorf("preview of %s: %q, want %q", policy, got, want)
		}
	}
}

// TestTaskChart: the task page draws its sub-tasks over time (sent, and
// each final status) on the server; the chart fragment refreshes it.
func TestTaskChart(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, pk, 4)
	var task struct {
		ID models.ID `json:"id"`
	}
	if status, raw := s.do("POST", "/api/v1/tasks", taskBody(devices), &task); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	if _, err := s.Deps.DB.Pool.Exec(t.Context(), `UPDATE subtasks SET sent_at = now(), status = CASE
		WHEN device_name IN ('d1', 'd2') THEN 'SUCCEEDED' WHEN device_name = 'd3' THEN 'FAILED' ELSE 'SENT' END,
		finished_at = CASE WHEN device_name IN ('d1', 'd2', 'd3') THEN now() END WHERE task_id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	_, page := s.page("GET", "/tasks/"+task.ID.String(), nil, false)
	if hx := page.Find(`[data-testid="task-chart-loading"]`).AttrOr("hx-get", ""); hx != "/tasks/"+task.ID.String()+"/chart" {
		t.Errorf("the task page loads its chart from %q", hx)
	}
	for _, path := range []string{"/tasks/" + task.ID.String() + "/chart"} {
		_, doc := s.page("GET", path, nil, true)
		got := map[string]string{}
		doc.Find(`#task-chart polyline`).Each(func(_ int, p *goquery.Selection) { got[p.AttrOr("data-series", "")] = p.AttrOr("data-last", "") })
		if want := map[string]string{"sent": "4", "SUCCEEDED": "2", "FAILED": "1", "REJECTED": "0", "TIMED_OUT": "0"}; !maps.Equal(got, want) {
			t.Errorf("%s: chart series %v, want %v", path, got, want)
		}
		if !strings.Contains(doc.Find(`#task-chart desc`).Text(), "of 4 sub-tasks: Sent 4, Succeeded 2, Failed 1") {
			t.Errorf("%s: chart description %q", path, doc.Find(`#task-chart desc`).Text())
		}
	}
}
