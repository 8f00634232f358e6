package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func TestConsoleProducts(t *testing.T) {
	s := newTestServer(t)
	_, doc := s.page("GET", "/products", nil, false)
	if testid(doc, "empty-state").Length() != 1 || testid(doc, "product-create").Length() != 1 {
		t.Fatal("empty product list")
	}
	pk := testenv.Prefix(t)
	resp, _ := s.page("POST", "/products", url.Values{"productKey": {pk}, "name": {"Lamps"}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/products/"+pk {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	cases := []struct {
		name  string
		form  url.Values
		errID string
		want  string
	}{
		{"taken", url.Values{"productKey": {pk}}, "product-key-error", "already exists"},
		{"bad characters", url.Values{"productKey": {"a.b"}}, "product-key-error", "not allowed"},
		{"empty", url.Values{"productKey": {""}}, "product-key-error", "is required"},
		{"long name", url.Values{"productKey": {pk + "x"}, "name": {strings.Repeat("n", 129)}}, "product-name-error", "limit is 128"},
	}
	for _, tc := range cases {
		resp, frag := s.page("POST", "/products", tc.form, true)
		if resp.StatusCode != 422 || !strings.Contains(testid(frag, "error-"+tc.errID).Text(), tc.want) ||
			frag.Find("#product-key").AttrOr("value", "?") != tc.form.Get("productKey") {
			t.Errorf("%s: %d %q", tc.name, resp.StatusCode, frag.Text())
		}
	}
	testenv.SeedDevices(t, s.Deps.DB, pk, 3)
	task, err := s.Deps.Tasks.CreateTask(context.Background(), models.TaskInput{Name: "all lamps",
		Target: models.TargetInput{Type: models.TargetProduct, ProductKey: pk}, JobDocument: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, doc = s.page("GET", "/products", nil, false)
	if row := testid(doc, "product-row"); row.Length() != 1 || !strings.Contains(row.Text(), "Lamps") || !strings.Contains(row.Text(), "3") {
		t.Fatalf("list: %q", row.Text())
	}
	_, doc = s.page("GET", "/products/"+pk, nil, false)
	if testid(doc, "product-device-count").Text() != "3" || testid(doc, "product-devices").AttrOr("href", "") != "/devices?productKey="+pk ||
		testid(doc, "product-task").Find(`a[href="/tasks/`+task.ID.String()+`"]`).Length() != 1 {
		t.Fatalf("product page: %q", doc.Find("main").Text())
	}
	if resp, _ := s.page("GET", "/products/nope", nil, false); resp.StatusCode != 404 {
		t.Fatalf("unknown product: %d", resp.StatusCode)
	}
}
