package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// browserReadsLocal says whether a browser reads Location loc as this
// site: it drops tabs and newlines, reads "\" as "/", and leaves on "//".
func browserReadsLocal(loc string) bool {
	for _, r := range loc {
		if r < 0x20 || r == 0x7f || r > 0x7e {
			return false // not sent by us at all
		}
	}
	seen := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
	return strings.HasPrefix(seen, "/") && !strings.HasPrefix(seen, "//")
}

// Every variant of next, on the sign-in page (signed in: redirected at
// once) and on the task delete form, ends in a Location a browser reads
// as this site; the plain local path still works.
func TestNoRedirectOut(t *testing.T) {
	s := newTestServer(t)
	devices := testenv.SeedDevices(t, s.Deps.DB, testenv.Prefix(t), 1)
	location := func(req *http.Request) string {
		s.As.sign(req)
		resp, err := s.App.Test(req, 30_000)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s %s: %d", req.Method, req.URL, resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}
	for _, v := range testenv.RedirectVariants {
		if loc := location(httptest.NewRequest("GET", "/login?next="+v, nil)); !browserReadsLocal(loc) {
			t.Errorf("GET /login?next=%s: Location %q", v, loc)
		}
		task, err := s.Deps.Tasks.CreateTask(t.Context(), models.TaskInput{Name: "r", JobDocument: []byte(`{}`),
			Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/tasks/"+task.ID.String()+"/delete", strings.NewReader("next="+v))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if loc := location(req); !browserReadsLocal(loc) {
			t.Errorf("POST delete next=%s: Location %q", v, loc)
		}
	}
	if loc := location(httptest.NewRequest("GET", "/login?next=%2Ftasks%3Fstatus%3DCOMPLETED", nil)); loc != "/tasks?status=COMPLETED" {
		t.Errorf("a local next: Location %q", loc)
	}
}
