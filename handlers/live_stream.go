package handlers

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// Stream timings: a comment every liveHeartbeat keeps proxies from closing
// an idle stream; a stream ends after liveMaxAge (the browser reconnects,
// through the session check again).
const (
	liveHeartbeat     = 20 * time.Second
	liveMaxAge        = 10 * time.Minute
	liveRenderTimeout = 10 * time.Second // reading one update; past it the stream ends
)

// liveSend writes a page's update to w and says which tasks it shows now
// and whether the page has settled (nothing will move any more).
type liveSend func(ctx context.Context, w io.Writer) (ids []models.ID, settled bool, err error)

// versionTag names a set of task versions in a URL: equal tags, equal
// versions.
func versionTag(vs map[models.ID]models.TaskVersion) string {
	ids := make([]models.ID, 0, len(vs))
	for id := range vs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := fnv.New64a()
	for _, id := range ids {
		v := vs[id]
		fmt.Fprintf(h, "%d:%d:%d:%t;", id, v.Row, v.Changes, v.Gone)
	}
	return fmt.Sprintf("%x", h.Sum64())
}

// stream answers c with a stream of server-sent events: an update first
// when first is set, then one whenever one of the watched tasks (from the
// versions seen) moves, a comment every liveHeartbeat, and "done" after
// the update that settles the page. Over the cap, the one update is poll's
// live element: the page turns to polling. The stream ends with the
// server's shutdown. fasthttp runs the stream after the handler returned:
// everything it uses is taken from the request here.
func (h *liveHub) stream(c *fiber.Ctx, seen map[models.ID]models.TaskVersion, first bool, send liveSend, poll views.Live) error {
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	ctx := views.WithViewer(context.Background(), copyViewer(viewer(c)))
	if !h.acquire() {
		var b bytes.Buffer
		if err := views.LiveLink(poll, true).Render(ctx, &b); err != nil {
			return err
		}
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			_ = writeEvent(w, "update", b.Bytes())
		})
		return nil
	}
	shutdown, log := c.Context().Done(), h.log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer h.release()
		// the browser waits this long before it reconnects
		if _, err := w.WriteString("retry: 2000\n\n"); err != nil || w.Flush() != nil {
			return
		}
		watch := h.watch(seen)
		defer watch.stop()
		heartbeat := time.NewTicker(liveHeartbeat)
		defer heartbeat.Stop()
		maxAge := time.NewTimer(liveMaxAge)
		defer maxAge.Stop()
		var buf bytes.Buffer
		pending := first
		for {
			if pending {
				pending = false
				buf.Reset()
				rctx, done := context.WithTimeout(ctx, liveRenderTimeout)
				ids, settled, err := send(rctx, &buf)
				done()
				if err != nil {
					log.Warn("live page: rendering an update", "err", err)
					return
				}
				if writeEvent(w, "update", buf.Bytes()) != nil {
					return
				}
				if settled {
					_ = writeEvent(w, "done", nil)
					return
				}
				watch.set(ids)
			}
			select {
			case <-watch.wake:
				pending = true
			case <-heartbeat.C:
				if _, err := w.WriteString(": keep-alive\n\n"); err != nil || w.Flush() != nil {
					return
				}
			case <-maxAge.C:
				return
			case <-shutdown:
				return
			}
		}
	})
	return nil
}

// writeEvent writes one event, its data (HTML) line by line, and flushes
// it. A carriage return would end a line of the stream: it goes as the
// character reference, which HTML reads the same.
func writeEvent(w *bufio.Writer, name string, data []byte) error {
	w.WriteString("event: " + name + "\n")
	data = bytes.ReplaceAll(bytes.TrimRight(data, "\r\n"), []byte("\r"), []byte("&#13;"))
	for _, line := range bytes.Split(data, []byte("\n")) {
		w.WriteString("data: ")
		w.Write(line)
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
	return w.Flush()
}

// copyViewer copies the viewer's strings out of the request's buffers.
func copyViewer(v views.Viewer) views.Viewer {
	return views.Viewer{Email: string([]byte(v.Email)), Role: models.Role(string([]byte(v.Role))), CSRF: string([]byte(v.CSRF))}
}
