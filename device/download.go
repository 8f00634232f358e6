package device

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"fleettasks/protocol"
)

// ErrDigestMismatch is wrapped by the error of a download whose digest is
// not the job's sign; the file has been deleted.
var ErrDigestMismatch = errors.New("digest mismatch")

// Download fetches the job's file into path and verifies it. A partial
// file already at path (an earlier Download that broke off) is resumed
// with a Range request. On a digest mismatch the file is deleted.
func (c *Client) Download(ctx context.Context, job *Job, path string) error {
	if job == nil || job.File == nil {
		id := ""
		if job != nil {
			id = job.TaskID
		}
		return fmt.Errorf("device %s/%s: download: sub-task %q has no file", c.pk, c.dn, id)
	}
	if err := DownloadFile(ctx, c.http, *job.File, path); err != nil {
		return fmt.Errorf("device %s/%s: sub-task %s: %w", c.pk, c.dn, job.TaskID, err)
	}
	return nil
}

// DownloadFile is Download for a bare jobFile and HTTP client (nil for
// http.DefaultClient).
func DownloadFile(ctx context.Context, hc *http.Client, file protocol.JobFile, path string) error {
	newHash, err := hasher(file.SignMethod)
	if err != nil {
		return fmt.Errorf("download %s: %w", path, err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer f.Close()
	if err := fetch(ctx, hc, file.FileURL, f); err != nil {
		return fmt.Errorf("download %s: %w", path, err)
	}
	h := newHash()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("download %s: %w", path, err)
	}
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("download %s: read back: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, file.Sign) {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("download %s: %w: %s is %s, the sign is %s; file deleted", path, ErrDigestMismatch, file.SignMethod, got, file.Sign)
	}
	return nil
}

// hasher is the digest of a signMethod, Md5 or Sha256 in any case.
func hasher(method string) (func() hash.Hash, error) {
	switch strings.ToLower(method) {
	case "md5":
		return md5.New, nil
	case "sha256":
		return sha256.New, nil
	}
	return nil, fmt.Errorf("signMethod %q is neither Md5 nor Sha256", method)
}

// fetch writes url into f, continuing after f's current content when the
// server answers the Range request with 206, starting over on 200.
func fetch(ctx context.Context, hc *http.Client, url string, f *os.File) error {
	offset, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && rangeStart(resp.Header.Get("Content-Range")) == offset:
		// resume after what we have
	case resp.StatusCode == http.StatusOK:
		if err := restart(f); err != nil {
			return err
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0:
		return nil // we have it all already; the digest decides
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("GET: %s (the signed URL may have expired: Get the sub-task again for a fresh one)", resp.Status)
	default:
		return fmt.Errorf("GET: unexpected %s", resp.Status)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		return fmt.Errorf("GET: transfer broke off (call Download again to resume): %w", err)
	}
	return nil
}

func restart(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// rangeStart is the first byte of a Content-Range "bytes N-M/T", -1 if
// it cannot be read.
func rangeStart(cr string) int64 {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(rest[:max(strings.IndexByte(rest, '-'), 0)], 10, 64)
	if err != nil {
		return -1
	}
	return n
}
