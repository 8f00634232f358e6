package device_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fleettasks/device"
	"fleettasks/protocol"
)

var content = bytes.Repeat([]byte("fleettasks firmware 0123456789\n"), 4000) // ~124 KB

func digest(method string, b []byte) string {
	if strings.EqualFold(method, "md5") {
		s := md5.Sum(b)
		return hex.EncodeToString(s[:])
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileServer serves content with Range support; its first answer breaks
// off after half the body when breakFirst is set. It records the Range
// headers it was sent.
type fileServer struct {
	breakFirst, ignoreRange bool
	mu                      sync.Mutex
	ranges                  []string
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	first := len(s.ranges) == 0
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	switch {
	case first && s.breakFirst:
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Write(content[:len(content)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-body
	case s.ignoreRange:
		w.Write(content)
	default:
		http.ServeContent(w, r, "fw.bin", time.Time{}, bytes.NewReader(content))
	}
}

func TestDownloadResumesAndVerifies(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"Md5", "Sha256", "MD5", "sha256"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			fs := &fileServer{breakFirst: true}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			path := filepath.Join(t.TempDir(), "fw.bin")
			file := protocol.JobFile{SignMethod: method, Sign: strings.ToUpper(digest(method, content)), FileURL: srv.URL + "/fw?sig=x"}
			ctx := context.Background()

			if err := device.DownloadFile(ctx, nil, file, path); err == nil {
				t.Fatal("broken transfer reported no error")
			}
			if st, err := os.Stat(path); err != nil || st.Size() != int64(len(content)/2) {
				t.Fatalf("partial file: %v, %v", st, err)
			}
			if err := device.DownloadFile(ctx, nil, file, path); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
				t.Fatalf("file is %d bytes, not the content", len(got))
			}
			if want := "bytes=" + strconv.Itoa(len(content)/2) + "-"; len(fs.ranges) != 2 || fs.ranges[0] != "" || fs.ranges[1] != want {
				t.Fatalf("Range headers %q, want [\"\" %q]", fs.ranges, want)
			}
		})
	}
}

func TestDownloadMismatchDeletesFile(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&fileServer{})
	defer srv.Close()
	for _, method := range []string{"Md5", "Sha256"} {
		path := filepath.Join(t.TempDir(), "fw.bin")
		file := protocol.JobFile{SignMethod: method, Sign: digest(method, []byte("other")), FileURL: srv.URL}
		err := device.DownloadFile(context.Background(), nil, file, path)
		if !errors.Is(err, device.ErrDigestMismatch) {
			t.Fatalf("%s: err %v", method, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%s: file left behind: %v", method, err)
		}
	}
}

func TestDownloadRestartsWhenRangeIsIgnored(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&fileServer{ignoreRange: true})
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "fw.bin")
	os.WriteFile(path, []byte("stale partial bytes"), 0o644)
	file := protocol.JobFile{SignMethod: "Md5", Sign: digest("md5", content), FileURL: srv.URL}
	if err := device.DownloadFile(context.Background(), nil, file, path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Fatalf("file is %d bytes, not the content", len(got))
	}
}

func TestDownloadErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "expired", http.StatusForbidden)
	}))
	defer srv.Close()
	dir := t.TempDir()
	err := device.DownloadFile(context.Background(), nil, protocol.JobFile{SignMethod: "Md5", FileURL: srv.URL}, filepath.Join(dir, "a"))
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("403: %v", err)
	}
	err = device.DownloadFile(context.Background(), nil, protocol.JobFile{SignMethod: "Crc32", FileURL: srv.URL}, filepath.Join(dir, "b"))
	if err == nil || !strings.Contains(err.Error(), "Crc32") {
		t.Fatalf("unknown method: %v", err)
	}
}
