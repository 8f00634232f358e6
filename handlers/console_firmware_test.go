package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"fleettasks/models"
)

func (s *testServer) countFiles() int {
	s.t.Helper()
	var n int
	if err := s.Deps.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM files`).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// wizardUpload sends a firmware file from the create form's upload.
func (s *testServer) wizardUpload(query, name, content string) (int, *goquery.Document) {
	s.t.Helper()
	body, contentType := multipartBody(s.t, formPart{name: "jobFile", filename: name, body: []byte(content)})
	req := httptest.NewRequest("POST", "/console/files?kind=firmware"+query, body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("HX-Request", "true")
	resp, err := s.test(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	return resp.StatusCode, doc
}

// TestFirmwarePicker: everyone who may create tasks picks from the
// firmware uploaded already, searched by name or digest, each shown with
// its size, digests and upload time; those who may upload have the upload
// next to it.
func TestFirmwarePicker(t *testing.T) {
	s := newTestServer(t)
	fw := s.storedFile(models.FileFirmware, "fw-1.2.bin", "firmware 1.2")
	old := s.storedFile(models.FileFirmware, "fw-1.1.bin", "firmware 1.1")
	for _, role := range []models.Role{models.RoleAdmin, models.RoleOperator} {
		s.As = s.user(role)
		_, doc := s.page("GET", "/tasks/new", nil, false)
		pick := testid(doc, "job-file-pick")
		label := pick.Find(`option[value="` + fw.ID.String() + `"]`).Text()
		if pick.Length() != 1 || !strings.Contains(label, "fw-1.2.bin") || !strings.Contains(label, "12 bytes") ||
			!strings.Contains(label, fw.SHA256[:12]) || !strings.Contains(label, fw.MD5[:8]) || !strings.Contains(label, "uploaded "+fw.CreatedAt.UTC().Format("2006-01-02")) {
			t.Errorf("%s: picker %q", role, pick.Text())
		}
		if upload := testid(doc, "job-upload").Length() == 1; upload != (role == models.RoleAdmin) {
			t.Errorf("%s: upload offered %v", role, upload)
		}
		if testid(doc, "firmware-search").AttrOr("hx-get", "") != "/console/firmware" {
			t.Errorf("%s: no search", role)
		}
	}
	for q, want := range map[string][]models.ID{"1.2": {fw.ID}, "FW-1": {old.ID, fw.ID}, old.SHA256[:10]: {old.ID}, fw.MD5[:6]: {fw.ID}} {
		_, doc := s.page("GET", "/console/firmware?q="+q, nil, true)
		var got []string
		doc.Find(`#f-jobFileId option[value!=""]`).Each(func(_ int, o *goquery.Selection) { got = append(got, o.AttrOr("value", "")) })
		var ids []string
		for _, id := range want {
			ids = append(ids, id.String())
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("search %q: %v, want %v", q, got, ids)
		}
	}
	// the chosen file stays a choice whatever the search
	_, doc := s.page("GET", "/console/firmware?q=nothing-like-it&jobFileId="+old.ID.String(), nil, true)
	if doc.Find(`#f-jobFileId option[selected]`).AttrOr("value", "") != old.ID.String() {
		t.Errorf("the chosen file is lost by a search: %q", doc.Text())
	}
}

// TestUploadDuplicate: an upload of a file whose content is already
// uploaded says so and uses that file, unless a new copy is asked for, in
// the create form and on the Files page; the API stores it and names the
// file it duplicates.
func TestUploadDuplicate(t *testing.T) {
	s := newTestServer(t)
	fw := s.storedFile(models.FileFirmware, "fw-1.2.bin", "firmware 1.2")
	n := s.countFiles()

	code, doc := s.wizardUpload("", "copy.bin", "firmware 1.2")
	want := "This file is already uploaded as “fw-1.2.bin” (file " + fw.ID.String() + ", just now)."
	if code != 200 || !strings.Contains(testid(doc, "duplicate-jobFileId").Text(), want) ||
		doc.Find(`#f-jobFileId option[selected]`).AttrOr("value", "") != fw.ID.String() || s.countFiles() != n {
		t.Fatalf("a duplicate from the create form: %d %q, %d files", code, doc.Text(), s.countFiles())
	}
	if b := testid(doc, "duplicate-keep"); !strings.Contains(b.AttrOr("hx-post", ""), "duplicate=keep") || b.AttrOr("hx-include", "") != "#f-jobFile" {
		t.Errorf("keep a new copy: %q %q", b.AttrOr("hx-post", ""), b.AttrOr("hx-include", ""))
	}
	code, doc = s.wizardUpload("&duplicate=keep", "copy.bin", "firmware 1.2")
	chosen := doc.Find(`#f-jobFileId option[selected]`).AttrOr("value", "")
	if code != 200 || chosen == "" || chosen == fw.ID.String() || s.countFiles() != n+1 || testid(doc, "uploaded-jobFileId").Length() != 1 {
		t.Fatalf("a new copy kept: %d %q, %d files", code, chosen, s.countFiles())
	}
	// new content is stored as such
	if code, doc = s.wizardUpload("", "fw-2.bin", "firmware 2"); code != 200 || testid(doc, "duplicate-jobFileId").Length() != 0 || s.countFiles() != n+2 {
		t.Fatalf("new content: %d, %d files", code, s.countFiles())
	}

	// the Files page
	resp, doc := s.filesPageUpload(true, kindPart("firmware"), filePart("again.bin", []byte("firmware 2")))
	if resp.StatusCode != 200 || !strings.Contains(testid(doc, "file-upload-duplicate").Text(), "This file is already uploaded as “fw-2.bin”") ||
		testid(doc, "duplicate-keep").AttrOr("hx-post", "") != "/files?duplicate=keep" || s.countFiles() != n+2 {
		t.Fatalf("Files page duplicate (htmx): %d %q", resp.StatusCode, doc.Text())
	}
	resp, _ = s.filesPageUpload(false, kindPart("firmware"), filePart("again.bin", []byte("firmware 1.2")))
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(flash(resp), "already uploaded as “copy.bin”") || s.countFiles() != n+2 {
		t.Fatalf("Files page duplicate: %d %q", resp.StatusCode, flash(resp))
	}

	// the API stores it and says which file it duplicates
	var out struct {
		ID          models.ID  `json:"id"`
		DuplicateOf *models.ID `json:"duplicateOf"`
	}
	if status, raw := s.send(uploadRequest(t, "", kindPart("firmware"), filePart("api.bin", []byte("firmware 2"))), &out); status != http.StatusCreated ||
		out.DuplicateOf == nil || out.ID == *out.DuplicateOf || s.countFiles() != n+3 {
		t.Fatalf("API duplicate: %d %s", status, raw)
	}
	out.DuplicateOf = nil
	if status, raw := s.send(uploadRequest(t, "", kindPart("firmware"), filePart("new.bin", []byte("firmware 3"))), &out); status != http.StatusCreated || out.DuplicateOf != nil {
		t.Fatalf("API new content: %d %s", status, raw)
	}
}
