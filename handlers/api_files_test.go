package handlers_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fleettasks/models"
)

// formPart is one part of a multipart upload; a file part has a filename.
type formPart struct {
	name, filename string
	body           []byte
}

func kindPart(kind string) formPart { return formPart{name: "kind", body: []byte(kind)} }

func filePart(filename string, body []byte) formPart {
	return formPart{name: "file", filename: filename, body: body}
}

// uploadRequest builds POST /api/v1/files?query with parts.
func uploadRequest(t *testing.T, query string, parts ...formPart) *http.Request {
	t.Helper()
	body, contentType := multipartBody(t, parts...)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/files"+query, body)
	req.Header.Set("Content-Type", contentType)
	return req
}

// multipartBody encodes parts as multipart/form-data.
func multipartBody(t *testing.T, parts ...formPart) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		var pw io.Writer
		var err error
		if p.filename != "" {
			pw, err = w.CreateFormFile(p.name, p.filename)
		} else {
			pw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.body)
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

// newFileServer is a test server whose files service is at hand.
func newFileServer(t *testing.T, opts ...models.FilesOption) *testServer {
	return newTestServer(t, opts...)
}

// fetch runs req and returns the response with its body read.
func (s *testServer) fetch(req *http.Request) (*http.Response, []byte) {
	s.t.Helper()
	resp, err := s.test(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

func (s *testServer) upload(kind, name string, content []byte) models.File {
	s.t.Helper()
	var f models.File
	if status, raw := s.send(uploadRequest(s.t, "", kindPart(kind), filePart(name, content)), &f); status != http.StatusCreated {
		s.t.Fatalf("upload %s: %d %s", name, status, raw)
	}
	return f
}

// assertNoUploads checks that no temporary file, stored file or row remains.
func (s *testServer) assertNoUploads(what string) {
	s.t.Helper()
	for _, sub := range []string{"tmp", "files"} {
		if left, _ := os.ReadDir(filepath.Join(s.Deps.Config.DataDir, sub)); len(left) != 0 {
			s.t.Errorf("%s: %d file(s) left in %s", what, len(left), sub)
		}
	}
	var rows int64
	if err := s.Deps.DB.Gorm.Table("files").Count(&rows).Error; err != nil || rows != 0 {
		s.t.Errorf("%s: %d row(s) left in files (%v)", what, rows, err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUploadAppStreamsMultipart(t *testing.T) {
	s := newTestServer(t)
	cfg := s.App.Config()
	if !cfg.StreamRequestBody || !cfg.DisablePreParseMultipartForm {
		t.Fatal("handlers.New must set fiber.Config{StreamRequestBody: true, DisablePreParseMultipartForm: true}: " +
			"otherwise fasthttp reads a whole multipart upload (spilling it to os.TempDir, ignoring BodyLimit) " +
			"before the handler runs, and POST /api/v1/files gets no body stream")
	}
}

var storageName = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestUploadAccepted(t *testing.T) {
	s := newFileServer(t)
	rule := []byte("{\n  \"version\": \"2.1\",\n  \"steps\": [1, 2, 3]\n}\n")
	firmware := randomBytes(t, 6<<20) // more than fasthttp's default body limit of 4 MB
	cases := []struct {
		name     string
		req      *http.Request
		kind     string
		filename string
		content  []byte
	}{
		{"rule", uploadRequest(t, "", kindPart("rule"), filePart("rule.json", rule)), "rule", "rule.json", rule},
		{"firmware, file before kind", uploadRequest(t, "", filePart("fw-1.2.TAR.GZ", firmware), kindPart("firmware")),
			"firmware", "fw-1.2.TAR.GZ", firmware},
		{"firmware, kind in the query", uploadRequest(t, "?kind=firmware", filePart("app.apk", firmware)),
			"firmware", "app.apk", firmware},
	}
	for _, c := range cases {
		var f models.File
		status, raw := s.send(c.req, &f)
		if status != http.StatusCreated {
			t.Errorf("%s: %d %s", c.name, status, raw)
			continue
		}
		sum5, sum256 := md5.Sum(c.content), sha256.Sum256(c.content)
		if f.ID == 0 || f.Kind != c.kind || f.Name != c.filename || f.Size != int64(len(c.content)) ||
			f.MD5 != hex.EncodeToString(sum5[:]) || f.SHA256 != hex.EncodeToString(sum256[:]) ||
			time.Since(f.CreatedAt) > time.Minute || bytes.Contains(raw, []byte("storage")) {
			t.Errorf("%s: got %s", c.name, raw)
		}
		_, r, err := s.Deps.Files.Open(context.Background(), f.ID)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		stored, _ := io.ReadAll(r)
		r.Close()
		if filepath.Dir(r.Name()) != filepath.Join(s.Deps.Config.DataDir, "files") ||
			!storageName.MatchString(filepath.Base(r.Name())) || !bytes.Equal(stored, c.content) {
			t.Errorf("%s: stored as %s (%d bytes), want a generated name under the data dir and the bytes sent",
				c.name, r.Name(), len(stored))
		}
	}
	if left, _ := os.ReadDir(filepath.Join(s.Deps.Config.DataDir, "tmp")); len(left) != 0 {
		t.Errorf("%d temporary file(s) left", len(left))
	}
}

func TestUploadRejected(t *testing.T) {
	s := newFileServer(t, models.WithMaxFirmwareSize(100_000)) // above 64 KB: a rule is checked once its kind is known
	bigRule := []byte(`{"a":"` + strings.Repeat("x", models.MaxRuleSize) + `"}`)
	notMultipart := httptest.NewRequest(http.MethodPost, "/api/v1/files", strings.NewReader(`{"kind":"rule"}`))
	notMultipart.Header.Set("Content-Type", "application/json")
	cases := []struct {
		name   string
		req    *http.Request
		status int
		field  string
	}{
		{"rule over 64 KB", uploadRequest(t, "", kindPart("rule"), filePart("r.json", bigRule)), 413, "file"},
		{"rule over 64 KB, kind last", uploadRequest(t, "", filePart("r.json", bigRule), kindPart("rule")), 413, "file"},
		{"rule not JSON", uploadRequest(t, "", kindPart("rule"), filePart("r.json", []byte(`{"a":`))), 400, "file"},
		{"rule a JSON array", uploadRequest(t, "", kindPart("rule"), filePart("r.json", []byte(`[1,2]`))), 400, "file"},
		{"rule a JSON string", uploadRequest(t, "", kindPart("rule"), filePart("r.json", []byte(`"hi"`))), 400, "file"},
		{"rule empty", uploadRequest(t, "", kindPart("rule"), filePart("r.json", nil)), 400, "file"},
		{"firmware .exe", uploadRequest(t, "", kindPart("firmware"), filePart("setup.exe", []byte("MZ"))), 415, "file"},
		{"firmware .json", uploadRequest(t, "", kindPart("firmware"), filePart("fw.json", []byte("{}"))), 415, "file"},
		{"firmware over the limit", uploadRequest(t, "", kindPart("firmware"), filePart("fw.bin", make([]byte, 100_001))), 413, "file"},
		{"firmware over the limit, no kind yet", uploadRequest(t, "", filePart("fw.bin", make([]byte, 300_000)), kindPart("firmware")), 413, "file"},
		{"kind missing", uploadRequest(t, "", filePart("fw.bin", []byte("x"))), 400, "kind"},
		{"kind unknown", uploadRequest(t, "", kindPart("script"), filePart("fw.bin", []byte("x"))), 400, "kind"},
		{"kind differs from the query", uploadRequest(t, "?kind=rule", kindPart("firmware"), filePart("fw.bin", []byte("x"))), 400, "kind"},
		{"file part missing", uploadRequest(t, "", kindPart("firmware")), 400, "file"},
		{"two files", uploadRequest(t, "", kindPart("firmware"), filePart("a.bin", []byte("a")), filePart("b.bin", []byte("b"))), 400, "file"},
		{"not multipart", notMultipart, 415, "file"},
	}
	for _, c := range cases {
		var e apiErr
		status, raw := s.send(c.req, &e)
		if status != c.status || e.Error.Field != c.field || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d on field %q", c.name, status, raw, c.status, c.field)
		}
		s.assertNoUploads(c.name)
	}
}

func TestUploadNameSanitized(t *testing.T) {
	s := newFileServer(t)
	cases := []struct{ sent, stored string }{
		{"../../etc/passwd.bin", "passwd.bin"},
		{`..\..\windows\system32\evil.zip`, "evil.zip"},
		{"/abs/path/fw.tar", "fw.tar"},
		{"bad\tname.gz", "badname.gz"},
		{strings.Repeat("n", 300) + ".tar.gz", strings.Repeat("n", 248) + ".tar.gz"},
	}
	for _, c := range cases {
		f := s.upload("firmware", c.sent, []byte("firmware"))
		if f.Name != c.stored {
			t.Errorf("name %q stored as %q, want %q", c.sent, f.Name, c.stored)
		}
		_, r, err := s.Deps.Files.Open(context.Background(), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		if !storageName.MatchString(filepath.Base(r.Name())) {
			t.Errorf("name %q: stored at %s, want a generated name", c.sent, r.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(s.Deps.Config.DataDir, "..", "..", "etc", "passwd.bin")); err == nil {
		t.Error("a file was written outside the data dir")
	}
}

func TestFileListGetContent(t *testing.T) {
	s := newFileServer(t)
	rule := []byte("{ \"a\" : 1 }\n")
	r1 := s.upload("rule", "one.json", rule)
	s.upload("rule", "two.json", []byte(`{"b":2}`))
	fw := s.upload("firmware", "fw é.bin", []byte("0123456789"))

	lists := []struct {
		query string
		total int64
		names string
	}{
		{"", 3, "fw é.bin,two.json,one.json"},
		{"?kind=rule", 2, "two.json,one.json"},
		{"?kind=rule&page=2&pageSize=1", 2, "one.json"},
		{"?kind=firmware", 1, "fw é.bin"},
	}
	for _, c := range lists {
		var list models.List[models.File]
		status, raw := s.do("GET", "/api/v1/files"+c.query, nil, &list)
		var names []string
		for _, f := range list.Items {
			names = append(names, f.Name)
		}
		if status != 200 || list.Total != c.total || strings.Join(names, ",") != c.names {
			t.Errorf("GET /api/v1/files%s: %d %s, want total %d names %s", c.query, status, raw, c.total, c.names)
		}
	}
	if status, raw := s.do("GET", "/api/v1/files?kind=script", nil, nil); status != 400 {
		t.Errorf("bad kind filter: %d %s", status, raw)
	}

	var got models.File
	status, _ := s.do("GET", "/api/v1/files/"+fw.ID.String(), nil, &got)
	if status != 200 || !got.CreatedAt.Equal(fw.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("GET file = %d %+v, want %+v", status, got, fw)
	}
	got.CreatedAt = fw.CreatedAt
	if got != fw {
		t.Errorf("GET file = %+v, want %+v", got, fw)
	}
	for _, path := range []string{"/api/v1/files/999999", "/api/v1/files/abc", "/api/v1/files/999999/content"} {
		if status, raw := s.do("GET", path, nil, nil); status != 404 {
			t.Errorf("GET %s: %d %s, want 404", path, status, raw)
		}
	}

	resp, body := s.fetch(httptest.NewRequest("GET", "/api/v1/files/"+r1.ID.String()+"/content", nil))
	if resp.StatusCode != 200 || !bytes.Equal(body, rule) || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=one.json` {
		t.Errorf("rule content: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	req := httptest.NewRequest("GET", "/api/v1/files/"+fw.ID.String()+"/content", nil)
	req.Header.Set("Range", "bytes=2-4")
	resp, body = s.fetch(req)
	if resp.StatusCode != 206 || string(body) != "234" || resp.Header.Get("Content-Range") != "bytes 2-4/10" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename*=utf-8''fw%20%C3%A9.bin` {
		t.Errorf("firmware content range: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

func TestDownloadSigned(t *testing.T) {
	s := newFileServer(t)
	content := randomBytes(t, 100_000)
	f := s.upload("firmware", "fw.bin", content)
	signed, err := url.Parse(s.Deps.Files.SignedURL(f.ID, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(signed.String(), s.Deps.Config.PublicURL+"/download/files/"+f.ID.String()+"?") {
		t.Fatalf("signed URL %s is not on the public URL %s", signed, s.Deps.Config.PublicURL)
	}
	path := signed.RequestURI()

	ranges := []struct {
		rangeHeader string
		status      int
		want        []byte
		contentRng  string
	}{
		{"", 200, content, ""},
		{"bytes=0-99", 206, content[:100], "bytes 0-99/100000"},
		{"bytes=99000-", 206, content[99000:], "bytes 99000-99999/100000"},
		{"bytes=-500", 206, content[99500:], "bytes 99500-99999/100000"},
		{"bytes=99990-200000", 206, content[99990:], "bytes 99990-99999/100000"},
		{"bytes=100000-", 416, nil, "bytes */100000"},
		{"bytes=0-1,5-6", 200, content, ""}, // several ranges: ignored
	}
	for _, c := range ranges {
		req := httptest.NewRequest("GET", path, nil)
		if c.rangeHeader != "" {
			req.Header.Set("Range", c.rangeHeader)
		}
		resp, body := s.fetch(req)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Range") != c.contentRng ||
			resp.Header.Get("Accept-Ranges") != "bytes" || (c.want != nil && !bytes.Equal(body, c.want)) {
			t.Errorf("Range %q: %d, Content-Range %q, %d bytes; want %d, %q, %d bytes",
				c.rangeHeader, resp.StatusCode, resp.Header.Get("Content-Range"), len(body), c.status, c.contentRng, len(c.want))
		}
	}

	q := signed.Query()
	tamper := func(key, value string) string {
		v := url.Values{}
		for k := range q {
			v.Set(k, q.Get(k))
		}
		if value == "" {
			v.Del(key)
		} else {
			v.Set(key, value)
		}
		return signed.Path + "?" + v.Encode()
	}
	expired, _ := url.Parse(s.Deps.Files.SignedURL(f.ID, time.Now().Add(-2*time.Hour)))
	other, _ := url.Parse(s.Deps.Files.SignedURL(f.ID+1000, time.Now()))
	denied := []struct{ name, path string }{
		{"tampered signature", tamper("signature", strings.Repeat("ab", 32))},
		{"tampered expiry", tamper("expires", "9999999999")},
		{"missing signature", tamper("signature", "")},
		{"missing expiry", tamper("expires", "")},
		{"no query", signed.Path},
		{"expired", expired.RequestURI()},
		{"signature of another file", "/download/files/" + f.ID.String() + "?" + other.RawQuery},
		{"not an id", "/download/files/abc?" + signed.RawQuery},
	}
	for _, c := range denied {
		var e apiErr
		status, raw := s.send(httptest.NewRequest("GET", c.path, nil), &e)
		if status != 403 || e.Error.Code != "permission_denied" {
			t.Errorf("%s: %d %s, want 403 permission_denied", c.name, status, raw)
		}
	}
	if status, raw := s.send(httptest.NewRequest("GET", other.RequestURI(), nil), nil); status != 404 {
		t.Errorf("signed URL of a missing file: %d %s, want 404", status, raw)
	}
}

// TestUploadChunkedOverTCP sends an upload of unknown length (chunked)
// through a real listener, as curl or a browser stream would.
func TestUploadChunkedOverTCP(t *testing.T) {
	s := newFileServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.App.Listener(ln)
	t.Cleanup(func() { s.App.Shutdown() })

	content := randomBytes(t, 5<<20)
	body, contentType := multipartBody(t, filePart("fw.zip", content), kindPart("firmware"))
	req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/api/v1/files", io.MultiReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	s.As.sign(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f models.File
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &f) != nil {
		t.Fatalf("chunked upload: %d %s", resp.StatusCode, raw)
	}
	sum := sha256.Sum256(content)
	if f.Size != int64(len(content)) || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("chunked upload stored %d bytes, sha256 %s; sent %d bytes", f.Size, f.SHA256, len(content))
	}
}
