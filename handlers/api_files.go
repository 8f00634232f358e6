package handlers

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// fileLibrary is what the file routes use of models.Files.
type fileLibrary interface {
	Limit(kind string) int64
	Receive(name string, r io.Reader, limit int64) (*models.Upload, error)
	Create(ctx context.Context, kind string, up *models.Upload) (*models.File, error)
	Get(ctx context.Context, id models.ID) (*models.File, error)
	List(ctx context.Context, kind string, p models.Page) (models.List[models.File], error)
	Open(ctx context.Context, id models.ID) (*models.File, *os.File, error)
	UsageOf(ctx context.Context, ids []models.ID, limit int) (map[models.ID]*models.FileUsage, error)
	Delete(ctx context.Context, id models.ID) error
	Search(ctx context.Context, kind, q string, limit int) ([]models.File, error)
	SameContent(ctx context.Context, kind, sha256 string) (*models.File, error)
}

// apiFiles serves /api/v1/files: upload, list, get and content.
type apiFiles struct {
	files fileLibrary
}

// newAPIFiles returns the file API on files.
func newAPIFiles(files fileLibrary) *apiFiles { return &apiFiles{files: files} }

// upload is POST /api/v1/files: a multipart form with kind and file, read
// as a stream so that the file goes to storage without being held in
// memory, whatever the order of the parts.
func (h *apiFiles) upload(c *fiber.Ctx) error {
	body, parts, err := multipartReader(c)
	if err != nil {
		return err
	}
	up, kind, err := h.receive(c, parts)
	if err != nil || !drained(body) {
		// the rest of the body is unread: do not parse it as a request
		c.Context().SetConnectionClose()
	}
	if err != nil {
		up.Discard()
		return body.result(c, err)
	}
	// a file already there with the same content is named, not refused
	var same *models.File
	if up != nil && models.CheckKind(kind) == nil {
		if same, err = h.files.SameContent(c.UserContext(), kind, up.SHA256); err != nil {
			up.Discard()
			return err
		}
	}
	file, err := createFile(c, h.files, kind, up)
	if err != nil {
		return err
	}
	out := uploadedFile{File: file}
	if same != nil {
		out.DuplicateOf = &same.ID
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// uploadedFile is the API's answer to an upload: the file, and the id of
// a file of the same kind and content uploaded before, if any.
type uploadedFile struct {
	*models.File
	DuplicateOf *models.ID `json:"duplicateOf,omitempty"`
}

// receive reads the parts of the form: kind (or ?kind=) and the file,
// which is streamed into a temporary upload.
func (h *apiFiles) receive(c *fiber.Ctx, parts *multipart.Reader) (*models.Upload, string, error) {
	kind := strings.ToLower(strings.TrimSpace(c.Query("kind")))
	var up *models.Upload
	for {
		part, err := parts.NextPart()
		if errors.Is(err, io.EOF) {
			return up, kind, nil
		}
		if err != nil {
			// the file part's header is where a client puts bytes that do not
			// belong (a NUL in the file name): name the file
			return up, kind, models.Invalid("file", "the multipart body is malformed: %v", err)
		}
		switch part.FormName() {
		case "kind":
			if kind, err = formKind(part, kind); err != nil {
				return up, kind, err
			}
		case "file":
			if up != nil {
				return up, kind, models.Invalid("file", "send one file per upload")
			}
			if up, err = h.files.Receive(part.FileName(), part, h.files.Limit(kind)); err != nil {
				return nil, kind, err
			}
		}
		part.Close()
	}
}

// drained reads what little may follow the closing boundary and reports
// whether the body is now read to its end.
func drained(body io.Reader) bool {
	n, err := io.CopyN(io.Discard, body, 4096)
	return n < 4096 && (err == nil || errors.Is(err, io.EOF))
}

// multipartReader reads the request body stream as multipart/form-data,
// held to the route's cap (limitBody's): a read past it fails, and the
// handler answers what it got with body.result.
func multipartReader(c *fiber.Ctx) (*cappedBody, *multipart.Reader, error) {
	mediaType, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mediaType != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return nil, nil, &models.Error{Kind: models.KindUnsupported, Field: "file",
			Message: "send multipart/form-data with the fields kind and file"}
	}
	body, err := streamBody(c)
	if err != nil {
		return nil, nil, err
	}
	return body, multipart.NewReader(body, params["boundary"]), nil
}

// formKind reads the kind part; it must agree with ?kind= when both are given.
func formKind(part *multipart.Part, query string) (string, error) {
	raw, err := io.ReadAll(io.LimitReader(part, 65))
	if err != nil {
		return query, models.Invalid("kind", "cannot be read: %v", err)
	}
	if len(raw) > 64 {
		return query, models.Invalid("kind", "is too long; use rule or firmware")
	}
	kind := strings.ToLower(strings.TrimSpace(string(raw)))
	if query != "" && kind != query {
		return query, models.Invalid("kind", "the query says %q but the form says %q", query, kind)
	}
	return kind, nil
}

// list is GET /api/v1/files?kind=&page=&pageSize=.
func (h *apiFiles) list(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, err := h.files.List(c.UserContext(), c.Query("kind"), p)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

// get is GET /api/v1/files/:id.
func (h *apiFiles) get(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	file, err := h.files.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(file)
}

// content is GET /api/v1/files/:id/content: the file as an attachment,
// with Range support.
func (h *apiFiles) content(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	file, content, err := h.files.Open(c.UserContext(), id)
	if err != nil {
		return err
	}
	return sendFile(c, file, content)
}

// createFile stores an upload and names the file for the audit log.
func createFile(c *fiber.Ctx, files interface {
	Create(ctx context.Context, kind string, up *models.Upload) (*models.File, error)
}, kind string, up *models.Upload) (*models.File, error) {
	f, err := files.Create(c.UserContext(), kind, up)
	if err == nil {
		auditTarget(c, "file", f.ID)
		auditChanges(c, models.Changed("kind", nil, f.Kind, "name", nil, f.Name, "sha256", nil, f.SHA256))
	}
	return f, err
}
