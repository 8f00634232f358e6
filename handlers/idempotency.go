package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

const (
	idempotencyHeader = "Idempotency-Key"
	// replayedHeader marks a response that is the replay of a first one.
	replayedHeader    = "Idempotent-Replayed"
	maxIdempotencyKey = 255
)

// replayHeaders are the headers of a first response a replay repeats.
var replayHeaders = []string{fiber.HeaderContentType, fiber.HeaderLocation,
	"HX-Redirect", "HX-Location", "HX-Push-Url", "HX-Trigger", "HX-Retarget", "HX-Reswap"}

// idempotency makes POSTs safe to repeat. A request sent with a key (the
// Idempotency-Key header of the API; the create form's one-time field) is
// run once per user and key: a repeat within 24 hours with the same method,
// URL and body gets the first response again (Idempotent-Replayed: true),
// waiting for it if the first is still running; a repeat with anything
// different is refused 422. A first request that failed on the server's
// side (5xx) leaves nothing, so that its retry runs.
type idempotency struct {
	store *models.Idempotency
	wait  time.Duration // how long a repeat waits for the first to finish
	log   *slog.Logger
}

// header takes the key from the Idempotency-Key header. streamed is for
// the routes whose handlers read the body as a stream (uploads, imports).
func (k idempotency) header(streamed bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return k.run(c, c.Get(idempotencyHeader), streamed, false)
	}
}

// formField takes the key from the URL-encoded form's field. A form sent
// again with other values (the page was kept, by the back button, after a
// first submit) is a new request, run as such.
func (k idempotency) formField() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var key string
		if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
			key = string(c.Request().PostArgs().Peek(views.IdempotencyField))
		}
		return k.run(c, key, false, true)
	}
}

func (k idempotency) run(c *fiber.Ctx, key string, streamed, differentRuns bool) error {
	u := currentUser(c)
	if key == "" || u == nil {
		return c.Next()
	}
	if len(key) > maxIdempotencyKey || strings.IndexFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return models.Invalid(idempotencyHeader, "must be 1 to %d printable ASCII characters without spaces", maxIdempotencyKey)
	}
	r := models.IdempotentRequest{User: u.ID, Key: strings.Clone(key), Method: strings.Clone(c.Method()),
		URL: string(c.Request().URI().RequestURI())}
	var fp *bodyFingerprint
	if streamed {
		fp = newBodyFingerprint(r.Method, r.URL, c.Get(fiber.HeaderContentType))
		body, err := streamBody(c)
		if err != nil {
			return err
		}
		body.tee = fp
	} else {
		fp = newBodyFingerprint(r.Method, r.URL, "")
		fp.Write(c.Body())
		r.Fingerprint = fp.Sum()
	}
	claim, rec, err := k.claim(c, r)
	if err != nil {
		return err
	}
	if rec != nil {
		if differentRuns && !sameRequest(r, rec) {
			return c.Next()
		}
		return k.replay(c, r, rec, fp)
	}

	err = c.Next()
	if err != nil {
		if err = c.App().ErrorHandler(c, err); err != nil {
			k.release(c, r, claim)
			return err
		}
	}
	status := c.Response().StatusCode()
	if streamed {
		// what the handler left unread is part of the body too; a body
		// that was not read to its end (refused early) is not kept
		if c.Response().ConnectionClose() || !drainedInto(c, 64<<10) {
			k.release(c, r, claim)
			return nil
		}
		r.Fingerprint = fp.Sum()
	}
	if status >= 500 {
		k.release(c, r, claim)
		return nil
	}
	header := map[string]string{}
	for _, name := range replayHeaders {
		if v := c.GetRespHeader(name); v != "" {
			header[name] = v
		}
	}
	body := bytes.Clone(c.Response().Body())
	if c.Locals(secretShownLocal) != nil {
		status, header, body = notKept(c)
	}
	if _, err := k.store.Finish(context.WithoutCancel(c.UserContext()), r, claim, status, header, body); err != nil {
		k.log.Error("idempotency key not stored; a repeat will run again", "id", requestID(c), "key", r.Key, "err", err)
	}
	return nil
}

// claim takes the key, or returns its record: finished, or different from
// r. While the first request runs, a repeat waits (up to k.wait).
func (k idempotency) claim(c *fiber.Ctx, r models.IdempotentRequest) (string, *models.IdempotentRecord, error) {
	ctx := c.UserContext()
	deadline := time.Now().Add(k.wait)
	for {
		claim, rec, err := k.store.Claim(ctx, r)
		if err != nil || rec == nil || rec.Done {
			return claim, rec, err
		}
		if rec.Fingerprint != nil && r.Fingerprint != nil && !sameRequest(r, rec) {
			return "", rec, nil // refused at once by replay
		}
		if time.Now().After(deadline) {
			return "", nil, models.Conflict("a request with this %s is still running; retry in a moment to get its response", idempotencyHeader)
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// replay answers rec's response, or 422 when r is not rec's request.
func (k idempotency) replay(c *fiber.Ctx, r models.IdempotentRequest, rec *models.IdempotentRecord, fp *bodyFingerprint) error {
	if r.Fingerprint == nil { // a streamed body: read it to compare
		max, _ := c.Locals(bodyCapLocal).(int)
		if !drainedInto(c, int64(max)) {
			c.Context().SetConnectionClose()
			return models.Invalid("", "the request body could not be read to its end")
		}
		r.Fingerprint = fp.Sum()
	}
	if !sameRequest(r, rec) {
		return models.Unprocessable(idempotencyHeader,
			"this key was used within the last 24 hours for a different request (%s %s, or another body); send a new key for a new request",
			rec.Method, rec.URL)
	}
	for name, v := range rec.Header {
		c.Set(name, v)
	}
	c.Set(replayedHeader, "true")
	c.Status(rec.Status)
	return c.Send(rec.Body)
}

// sameRequest reports whether r is the request that first used rec's key.
func sameRequest(r models.IdempotentRequest, rec *models.IdempotentRecord) bool {
	return rec.Method == r.Method && rec.URL == r.URL && rec.Matches(r.Fingerprint)
}

func (k idempotency) release(c *fiber.Ctx, r models.IdempotentRequest, claim string) {
	if err := k.store.Release(context.WithoutCancel(c.UserContext()), r, claim); err != nil {
		k.log.Error("idempotency key not released; a repeat will wait for its lease", "id", requestID(c), "key", r.Key, "err", err)
	}
}

// drainedInto reads what is left of a streamed body (into its tee, the
// fingerprint), at most limit bytes, and reports whether the body was read
// to its end.
func drainedInto(c *fiber.Ctx, limit int64) bool {
	body, err := streamBody(c)
	if err != nil {
		return false
	}
	n, err := io.Copy(io.Discard, io.LimitReader(body, limit+1))
	return err == nil && n <= limit
}

// bodyFingerprint is the SHA-256 of a request's method, URL and body. The
// boundary of a multipart body is left out (clients make up a new one for
// each attempt), so the same fields and files fingerprint the same.
type bodyFingerprint struct {
	h        hash.Hash
	boundary []byte
	pending  []byte
}

func newBodyFingerprint(method, url, contentType string) *bodyFingerprint {
	fp := &bodyFingerprint{h: sha256.New()}
	fp.h.Write([]byte(method + "\x00" + url + "\x00"))
	if mediaType, params, err := mime.ParseMediaType(contentType); err == nil && strings.HasPrefix(mediaType, "multipart/") {
		fp.boundary = []byte(params["boundary"])
	}
	return fp
}

// Write hashes p with each occurrence of the boundary replaced by a zero
// byte; the last len(boundary)-1 bytes wait for the next write.
func (fp *bodyFingerprint) Write(p []byte) (int, error) {
	if len(fp.boundary) == 0 {
		return fp.h.Write(p)
	}
	fp.pending = append(fp.pending, p...)
	for {
		i := bytes.Index(fp.pending, fp.boundary)
		if i < 0 {
			break
		}
		fp.h.Write(fp.pending[:i])
		fp.h.Write([]byte{0})
		fp.pending = fp.pending[i+len(fp.boundary):]
	}
	if keep := len(fp.boundary) - 1; len(fp.pending) > keep {
		cut := len(fp.pending) - keep
		fp.h.Write(fp.pending[:cut])
		fp.pending = append([]byte(nil), fp.pending[cut:]...)
	}
	return len(p), nil
}

// Sum is the fingerprint of everything written.
func (fp *bodyFingerprint) Sum() []byte {
	fp.h.Write(fp.pending)
	fp.pending = nil
	return fp.h.Sum(nil)
}

// notKept is what a repeat is answered when the first response showed
// secrets (showsSecret: new devices, a device's new secret):
// they are not stored with the key, so the repeat gets a 409 saying so.
func notKept(c *fiber.Ctx) (int, map[string]string, []byte) {
	body, _ := json.Marshal(apiError{Error: apiErrorBody{Code: string(models.KindConflict),
		Message: "the first request with this " + idempotencyHeader + " succeeded; its response showed secrets, which are not kept: " +
			"make a device a new secret (POST /api/v1/devices/{pk}/{dn}/secret) if it was lost",
		RequestID: requestID(c)}})
	return http.StatusConflict, map[string]string{fiber.HeaderContentType: fiber.MIMEApplicationJSONCharsetUTF8}, body
}
