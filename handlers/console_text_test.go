package handlers_test

import (
	"net/url"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
)

// TestConsoleFormsRefuseUnstorableText posts console forms with a NUL byte
// or a byte that is not UTF-8 in a free-text field: the form comes back
// (422) with the reason beside the field and what was typed kept, never a
// 500.
func TestConsoleFormsRefuseUnstorableText(t *testing.T) {
	s := newTestServer(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, s.Deps.DB, pk, 2)
	bad := []struct{ value, reason string }{{"lamps\x00", "U+0000"}, {"lamps\xff", "not valid UTF-8"}}
	// the HTML parser reads a NUL back as U+FFFD
	shown := func(v string) string { return strings.ReplaceAll(v, "\x00", "\uFFFD") }

	for _, b := range bad {
		for _, field := range []string{"name", "description"} {
			form := createForm(pk)
			form.Set(field, b.value)
			for _, step := range []string{"1", "2"} {
				form.Set("step", step)
				resp, doc := s.page("POST", "/tasks/new", form, true)
				if msg := testid(doc, "error-err-"+field).Text(); resp.StatusCode != 422 || !strings.Contains(msg, b.reason) {
					t.Errorf("task %s %q, step %s: %d, error %q", field, b.value, step, resp.StatusCode, msg)
				}
				if testid(doc, "create-step-1").Length() != 1 {
					t.Errorf("task %s %q, step %s: not back on step 1", field, b.value, step)
				}
				kept := doc.Find(`[name="` + field + `"]`)
				if got := kept.AttrOr("value", kept.Text()); got != shown(b.value) {
					t.Errorf("task %s %q: kept as %q", field, b.value, got)
				}
			}
		}

		for _, field := range []string{"name", "description"} {
			form := url.Values{"productKey": {"p" + pk}, field: {b.value}}
			resp, frag := s.page("POST", "/products", form, true)
			if msg := testid(frag, "error-product-"+field+"-error").Text(); resp.StatusCode != 422 || !strings.Contains(msg, b.reason) {
				t.Errorf("product %s %q: %d, error %q", field, b.value, resp.StatusCode, msg)
			}
			if got := frag.Find("#product-key").AttrOr("value", ""); got != "p"+pk {
				t.Errorf("product %s %q: key kept as %q", field, b.value, got)
			}
		}
	}

	// the other free-text forms and filters: refused with the reason, never a 500
	task, _ := s.consoleTask("t", 1)
	g := testenv.SeedGroup(t, s.Deps.DB, "g"+pk, "static", "", nil)
	for _, b := range bad {
		for _, c := range []struct {
			path string
			form url.Values
		}{
			{"/groups", url.Values{"name": {b.value}, "kind": {"static"}}},
			{"/groups/" + g.String() + "/rename", url.Values{"name": {b.value}}},
			{"/tasks/" + task.ID.String() + "/edit/description", url.Values{"description": {b.value}}},
			{"/users/" + s.As.User.ID.String() + "/tokens", url.Values{"name": {b.value}}},
		} {
			resp, doc := s.page("POST", c.path, c.form, true)
			if resp.StatusCode != 422 || !strings.Contains(doc.Text(), b.reason) {
				t.Errorf("POST %s %q: %d %q", c.path, b.value, resp.StatusCode, doc.Text())
			}
		}
		for _, path := range []string{"/tasks?q=", "/devices?q=", "/tasks/" + task.ID.String() + "/subtasks?q=", "/audit?user=", "/audit?action=", "/audit?target="} {
			resp, doc := s.page("GET", path+url.QueryEscape(b.value), nil, true)
			if resp.StatusCode >= 500 || !strings.Contains(doc.Text(), b.reason) {
				t.Errorf("GET %s%q: %d %q", path, b.value, resp.StatusCode, doc.Text())
			}
		}
	}
}
