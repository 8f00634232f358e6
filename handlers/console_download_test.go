package handlers_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// The console's Download links work with the session alone (they pointed
// to the API, which takes tokens only, and answered 401): the rule file on
// the task page, and the files on the Files pages.
func TestConsoleDownloadLinks(t *testing.T) {
	s := newTestServer(t)
	rule := s.upload(models.FileRule, "rule.json", []byte(`{"a":"x"}`))
	fw := s.upload(models.FileFirmware, "fw.bin", []byte("firmware bytes"))
	devices := testenv.SeedDevices(t, s.Deps.DB, testenv.Prefix(t), 1)
	task, err := s.Deps.Tasks.CreateTask(t.Context(), models.TaskInput{Name: "dl", RuleFileID: &rule.ID,
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}})
	if err != nil {
		t.Fatal(err)
	}
	follow := func(page, testID, want string) {
		t.Helper()
		_, doc := s.page("GET", page, nil, false)
		href := testid(doc, testID).First().AttrOr("href", "")
		req := httptest.NewRequest("GET", href, nil)
		req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: s.As.Session}) // a browser: no token
		resp, err := s.App.Test(req, 30_000)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != want {
			t.Errorf("%s: %s → %d %q", page, href, resp.StatusCode, body)
		}
	}
	follow("/tasks/"+task.ID.String(), "download-document", `{"a":"x"}`)
	follow("/files/"+fw.ID.String(), "file-download", "firmware bytes")
	follow("/files", "file-download", "firmware bytes") // the newest first
}
