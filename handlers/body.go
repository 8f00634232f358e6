package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/internal/jsoncheck"
	"fleettasks/models"
)

// bodyJSON decodes the request body into v with a clear error.
func bodyJSON(c *fiber.Ctx, v any) error {
	body, err := readBody(c, maxJSONBody)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return models.Invalid("", "the request body is empty; send a JSON object")
	}
	if err := checkBody(body); err != nil {
		return err
	}
	err = json.Unmarshal(body, v)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(*models.Error)):
		return err
	case errors.As(err, &typeErr):
		return models.Invalid(typeErr.Field, "must be of JSON type %s, not %s", jsonType(typeErr.Type.Kind()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return models.Invalid("", "the request body is not valid JSON: %v (at byte %d)", syntaxErr, syntaxErr.Offset)
	default:
		return models.Invalid("", "the request body is not valid JSON for this call: %v", err)
	}
}

// maxBodyDepth bounds the nesting of a JSON request: the body object and,
// inside it, a job document of models.MaxDocumentDepth levels.
const maxBodyDepth = 1 + models.MaxDocumentDepth

// checkBody refuses, before it is decoded, a body that is valid JSON but
// holds what PostgreSQL refuses (U+0000, lone surrogate escapes, bytes that
// are not UTF-8: Go's decoder would quietly turn the last two into U+FFFD
// in strings and keep them in raw documents), duplicate keys or nesting
// deeper than maxBodyDepth. The 400 names the value at fault; nesting is
// reported on the top-level field that holds it. Syntax errors are left to
// the decoder, whose message says more.
func checkBody(body []byte) error {
	p := jsoncheck.Check(body, "", maxBodyDepth)
	switch {
	case p == nil || p.Reason == jsoncheck.ReasonSyntax:
		return nil
	case p.Reason == jsoncheck.ReasonDepth:
		return models.Invalid(topField(p.Path), "nests more than %d levels deep (at %s)", maxBodyDepth-1, p.Path)
	}
	return models.Invalid(p.Path, "%s", p.Reason)
}

// topField is the top-level member of a jsoncheck path: "jobDocument" of
// "jobDocument.a.b", "devices" of "devices[3].deviceName".
func topField(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// maxJSONBody bounds a JSON request: 100,000 devices of a task target and
// a 64 KB job document fit well within it.
const maxJSONBody = 16 << 20

// readBody reads the request body, at most limit bytes. The app streams
// request bodies (for uploads), so the limit is enforced here.
func readBody(c *fiber.Ctx, limit int64) ([]byte, error) {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		if int64(len(c.Body())) > limit {
			return nil, &models.Error{Kind: models.KindTooLarge, Message: fmt.Sprintf("the request body is over %d MB", limit>>20)}
		}
		return c.Body(), nil
	}
	body, err := io.ReadAll(io.LimitReader(stream, limit+1))
	if err != nil {
		return nil, models.Invalid("", "reading the request body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, &models.Error{Kind: models.KindTooLarge, Message: fmt.Sprintf("the request body is over %d MB", limit>>20)}
	}
	return body, nil
}

func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	}
	return k.String()
}

// limitBody refuses (413) a request whose body is over max bytes, however
// it is framed: a declared length over max before anything reads it; a body
// that arrives as a stream (chunked, or longer than the server buffers) is
// read here up to max and refused at the first byte past it, so a handler
// never holds more than max bytes of it. The multipart routes (device
// imports, uploads: over largeBody) keep their stream: multipartReader
// holds it to max (kept in c.Locals) while the handler reads it.
func limitBody(max int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(bodyCapLocal, max)
		req := c.Request()
		if n := req.Header.ContentLength(); n > max {
			c.Context().SetConnectionClose() // the body stays unread
			return &models.Error{Kind: models.KindTooLarge,
				Message: fmt.Sprintf("the request body is %d bytes; this call takes at most %d", n, max)}
		}
		if max <= largeBody && req.IsBodyStream() {
			body, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(max)+1))
			if err != nil {
				c.Context().SetConnectionClose()
				return &models.Error{Kind: models.KindInvalid, Message: "the request body could not be read: " + err.Error()}
			}
			if len(body) > max {
				c.Context().SetConnectionClose() // the rest stays unread
				return overCap(max)
			}
			req.SetBody(body)
		}
		return c.Next()
	}
}

// bodyCapLocal holds the route's body cap (an int) that limitBody set.
const bodyCapLocal = "bodyCap"

// overCap is the 413 of a body that ran past the route's cap of max bytes.
func overCap(max int) *models.Error {
	return &models.Error{Kind: models.KindTooLarge,
		Message: fmt.Sprintf("the request body is over %d bytes; this call takes at most %d", max, max)}
}

// cappedBody is a streamed request body held to its route's cap: the
// first byte past it fails the read, and every read after. It never asks
// the stream again after its end (fasthttp's chunked stream would wait
// for another chunk).
type cappedBody struct {
	r    io.Reader
	max  int
	left int   // bytes it may still read
	err  error // sticky: io.EOF, the stream's error or errOverCap
	// tee, when set, is given every byte read (an idempotent request's
	// fingerprint)
	tee io.Writer
}

// bodyStreamLocal holds the request's cappedBody (streamBody).
const bodyStreamLocal = "bodyStream"

// streamBody is the request's streamed body held to its route's cap: one
// per request, so that whoever reads it (the multipart form, the check for
// trailing bytes, an idempotent request's fingerprint) reads on from where
// the last one stopped.
func streamBody(c *fiber.Ctx) (*cappedBody, error) {
	if b, ok := c.Locals(bodyStreamLocal).(*cappedBody); ok {
		return b, nil
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return nil, errors.New("handlers: upload: the request body is not streamed; " +
			"the app needs StreamRequestBody and DisablePreParseMultipartForm")
	}
	max, ok := c.Locals(bodyCapLocal).(int)
	if !ok {
		return nil, errors.New("handlers: upload: the route has no body cap (limitBody)")
	}
	b := &cappedBody{r: stream, max: max, left: max}
	c.Locals(bodyStreamLocal, b)
	return b, nil
}

// errOverCap is the read error of a body past its cap; the handler answers
// it with overCap (see cappedBody.result).
var errOverCap = errors.New("the request body is over the route's cap")

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if n > b.left {
		n, err = b.left, errOverCap
	}
	if b.tee != nil {
		b.tee.Write(p[:n])
	}
	b.left -= n
	if err != nil {
		b.err = err
	}
	return n, err
}

// over reports whether the body ran past its cap.
func (b *cappedBody) over() bool { return b.err == errOverCap }

// result is what a multipart handler answers for err, the error it got
// reading the form: when the body ran past its cap, whatever err that
// caused (a malformed part, a failed copy), a bodyOverCap, with the
// connection closed (the rest of the body stays unread); otherwise err.
// (A form read whole, whose trailing bytes run past the cap, is answered
// on its merits: drained finds them and the connection is closed.)
func (b *cappedBody) result(c *fiber.Ctx, err error) error {
	if err == nil || !b.over() {
		return err
	}
	c.Context().SetConnectionClose()
	return bodyOverCap{overCap(b.max)}
}

// bodyOverCap is the error of a multipart body that ran past its route's
// cap: the 413 of overCap, which the console answers as an error page
// like limitBody's, not as a refusal shown in the form.
type bodyOverCap struct{ err *models.Error }

func (e bodyOverCap) Error() string { return e.err.Error() }
func (e bodyOverCap) Unwrap() error { return e.err }

// isOverCap reports whether err is a body that ran past its cap.
func isOverCap(err error) bool { return errors.As(err, new(bodyOverCap)) }
