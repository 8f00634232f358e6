package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// signedFiles is what the device download route uses of models.Files.
type signedFiles interface {
	Verify(id models.ID, expires, signature string, now time.Time) error
	Open(ctx context.Context, id models.ID) (*models.File, *os.File, error)
}

// fileDownload serves /download/files/:id to devices: no API token, a
// signed URL instead (models.Files.SignedURL).
type fileDownload struct {
	files signedFiles
}

// newFileDownload returns the signed download handler on files.
func newFileDownload(files signedFiles) *fileDownload { return &fileDownload{files: files} }

// serve checks the signature and sends the file, with Range support.
func (h *fileDownload) serve(c *fiber.Ctx) error {
	// devices are API clients: answer errors in the JSON error shape
	c.Request().Header.Set(fiber.HeaderAccept, fiber.MIMEApplicationJSON)
	id, err := models.ParseID("id", c.Params("id"))
	if err == nil {
		err = h.files.Verify(id, c.Query("expires"), c.Query("signature"), time.Now())
	}
	if err != nil {
		return fiber.NewError(fiber.StatusForbidden, "the download link is invalid or has expired")
	}
	file, content, err := h.files.Open(c.UserContext(), id)
	if err != nil {
		return err
	}
	return sendFile(c, file, content)
}

// sendFile streams content (closed when sent) as an attachment named
// after the file, honouring a single byte range.
func sendFile(c *fiber.Ctx, file *models.File, content *os.File) error {
	c.Set(fiber.HeaderContentType, file.ContentType())
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": file.Name}))
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	c.Set(fiber.HeaderETag, `"`+file.SHA256+`"`)
	c.Set(fiber.HeaderLastModified, file.CreatedAt.UTC().Format(http.TimeFormat))
	start, length, err := byteRange(c, file)
	if err != nil {
		content.Close()
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", file.Size))
		return c.Status(fiber.StatusRequestedRangeNotSatisfiable).JSON(apiError{Error: apiErrorBody{
			Code: "out_of_range", Message: err.Error(), RequestID: requestID(c)}})
	}
	if length < file.Size {
		c.Status(fiber.StatusPartialContent)
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, file.Size))
	}
	return c.SendStream(fileSection{io.NewSectionReader(content, start, length), content}, int(length))
}

// fileSection is part of a file that closes the file when fasthttp is
// done sending it.
type fileSection struct {
	*io.SectionReader
	f *os.File
}

func (s fileSection) Close() error { return s.f.Close() }

var errRange = errors.New("the requested range is outside the file")

// byteRange reads the Range header: the whole file when absent, not a
// single byte range (which a server may ignore) or out of date by
// If-Range; errRange when it cannot be satisfied.
func byteRange(c *fiber.Ctx, file *models.File) (start, length int64, err error) {
	spec, ok := strings.CutPrefix(c.Get(fiber.HeaderRange), "bytes=")
	ifRange := c.Get(fiber.HeaderIfRange)
	if !ok || strings.Contains(spec, ",") || (ifRange != "" && ifRange != `"`+file.SHA256+`"`) {
		return 0, file.Size, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, file.Size, nil
	}
	if first == "" { // suffix range: the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, file.Size, nil
		}
		if n == 0 {
			return 0, 0, errRange
		}
		n = min(n, file.Size)
		return file.Size - n, n, nil
	}
	start, err = strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, file.Size, nil
	}
	end := file.Size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
			return 0, file.Size, nil
		}
		end = min(end, file.Size-1)
	}
	if start >= file.Size {
		return 0, 0, errRange
	}
	return start, end - start + 1, nil
}
