package models_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func newFiles(t *testing.T) (*models.Files, string) {
	t.Helper()
	dir := t.TempDir()
	return models.NewFiles(testenv.DB(t), dir, []byte("0123456789abcdef-secret"), "http://dev.example/"), dir
}

// store uploads content as a file of kind through Receive and Create.
func store(t *testing.T, files *models.Files, kind, name string, content []byte) *models.File {
	t.Helper()
	up, err := files.Receive(name, bytes.NewReader(content), files.Limit(kind))
	if err != nil {
		t.Fatalf("receive %s: %v", name, err)
	}
	f, err := files.Create(context.Background(), kind, up)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return f
}

func TestFileSanitizeName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 300)
	cases := []struct{ in, want string }{
		{"fw.bin", "fw.bin"},
		{"../../etc/passwd.bin", "passwd.bin"},
		{`..\..\windows\evil.zip`, "evil.zip"},
		{"a\x00b\tc\x7f.bin", "abc.bin"},
		{"..", ""},
		{"  spaced.gz  ", "spaced.gz"},
		{long + ".tar.gz", strings.Repeat("é", 248) + ".tar.gz"},
		{long, strings.Repeat("é", 255)},
	}
	for _, c := range cases {
		if got := models.SanitizeFileName(c.in); got != c.want {
			t.Errorf("SanitizeFileName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFileSignedURL(t *testing.T) {
	t.Parallel()
	files := models.NewFiles(nil, t.TempDir(), []byte("0123456789abcdef-secret"), "http://dev.example/")
	now := time.Now()
	u, err := url.Parse(files.SignedURL(42, now))
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "dev.example" || u.Path != "/download/files/42" {
		t.Fatalf("signed URL %s: want http://dev.example/download/files/42", u)
	}
	exp, sig := u.Query().Get("expires"), u.Query().Get("signature")
	cases := []struct {
		name         string
		id           models.ID
		expires, sig string
		now          time.Time
		ok           bool
	}{
		{"valid", 42, exp, sig, now, true},
		{"valid until the hour ends", 42, exp, sig, now.Add(time.Hour - time.Second), true},
		{"expired", 42, exp, sig, now.Add(time.Hour + 2*time.Second), false},
		{"other file", 43, exp, sig, now, false},
		{"tampered signature", 42, exp, strings.Repeat("0", len(sig)), now, false},
		{"tampered expiry", 42, exp + "0", sig, now, false},
		{"missing signature", 42, exp, "", now, false},
		{"missing expiry", 42, "", sig, now, false},
		{"expiry not a number", 42, "soon", sig, now, false},
	}
	for _, c := range cases {
		err := files.Verify(c.id, c.expires, c.sig, c.now)
		if (err == nil) != c.ok {
			t.Errorf("%s: Verify = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, models.ErrSignature) {
			t.Errorf("%s: %v does not wrap ErrSignature", c.name, err)
		}
	}
	unsigned := models.NewFiles(nil, t.TempDir(), nil, "http://dev.example")
	if err := unsigned.Verify(42, exp, sig, now); err == nil {
		t.Error("Verify without a secret accepted a URL")
	}
}

func TestFileCreateAndRead(t *testing.T) {
	t.Parallel()
	files, dir := newFiles(t)
	ctx := context.Background()
	rule := store(t, files, models.FileRule, "r.json", []byte("{\n  \"a\": [1, 2],\n  \"b\": {\"c\": null}\n}\n"))
	fw := store(t, files, models.FileFirmware, "fw.bin", bytes.Repeat([]byte{1, 2, 3}, 1000))

	doc, err := files.RuleDocument(ctx, rule.ID)
	if err != nil || string(doc) != `{"a":[1,2],"b":{"c":null}}` {
		t.Errorf("RuleDocument = %s, %v", doc, err)
	}
	_, err = files.RuleDocument(ctx, fw.ID)
	if e, ok := models.AsError(err); !ok || e.Kind != models.KindUnprocessable || e.Field != "ruleFileId" {
		t.Errorf("RuleDocument of firmware = %v, want 422 on ruleFileId", err)
	}
	if _, err := files.RuleDocument(ctx, 999999); !models.IsNotFound(err) {
		t.Errorf("RuleDocument of a missing file = %v, want not found", err)
	}
	if _, err := files.Get(ctx, 999999); !models.IsNotFound(err) {
		t.Errorf("Get of a missing file = %v, want not found", err)
	}
	got, err := files.Get(ctx, fw.ID)
	if err != nil || got.Size != 3000 || got.Name != "fw.bin" || got.Kind != models.FileFirmware || !got.CreatedAt.Equal(fw.CreatedAt) {
		t.Errorf("Get = %+v, %v; want %+v", got, err, fw)
	}
	_, r, err := files.Open(ctx, fw.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if filepath.Dir(r.Name()) != filepath.Join(dir, "files") {
		t.Errorf("stored at %s, want under %s/files", r.Name(), dir)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func TestFileList(t *testing.T) {
	t.Parallel()
	files, _ := newFiles(t)
	ctx := context.Background()
	for _, name := range []string{"a.bin", "b.bin", "c.bin"} {
		store(t, files, models.FileFirmware, name, []byte(name))
	}
	store(t, files, models.FileRule, "r.json", []byte(`{"k":1}`))
	cases := []struct {
		kind       string
		page       models.Page
		total      int64
		firstNames []string
	}{
		{"", models.Page{Number: 1, Size: 20}, 4, []string{"r.json", "c.bin", "b.bin", "a.bin"}},
		{"firmware", models.Page{Number: 2, Size: 2}, 3, []string{"a.bin"}},
		{"rule", models.Page{Number: 1, Size: 20}, 1, []string{"r.json"}},
	}
	for _, c := range cases {
		list, err := files.List(ctx, c.kind, c.page)
		if err != nil {
			t.Fatalf("List(%q): %v", c.kind, err)
		}
		var names []string
		for _, f := range list.Items {
			names = append(names, f.Name)
		}
		if list.Total != c.total || strings.Join(names, ",") != strings.Join(c.firstNames, ",") {
			t.Errorf("List(%q, %+v) = %d %v, want %d %v", c.kind, c.page, list.Total, names, c.total, c.firstNames)
		}
	}
	if _, err := files.List(ctx, "script", models.Page{Number: 1, Size: 20}); err == nil {
		t.Error("List accepted kind \"script\"")
	}
}

func TestFileReceiveLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := models.NewFiles(nil, dir, nil, "", models.WithMaxFirmwareSize(100))
	_, err := files.Receive("fw.bin", bytes.NewReader(make([]byte, 101)), files.Limit(models.FileFirmware))
	if e, ok := models.AsError(err); !ok || e.Kind != models.KindTooLarge || e.Field != "file" {
		t.Errorf("Receive of 101 bytes with a limit of 100 = %v, want 413 on file", err)
	}
	if up, err := files.Receive("fw.bin", bytes.NewReader(make([]byte, 100)), 100); err != nil || up.Size != 100 {
		t.Errorf("Receive of 100 bytes with a limit of 100 = %v", err)
	} else {
		up.Discard()
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}
