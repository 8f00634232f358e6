package handlers

import (
	"errors"
	"io"
	"mime/multipart"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// uploadFields maps the kind of file to the form's file input and the
// hidden field the upload leaves behind.
var uploadFields = map[string][2]string{
	models.FileRule:     {"ruleFile", "ruleFileUpload"},
	models.FileFirmware: {"jobFile", "jobFileId"},
}

// POST /console/files?kind=rule|firmware[&duplicate=keep] — an upload
// from the create form (streamed, like the API's); answers the fragment
// that puts the new file's id in the form, or the reason it was refused.
// A firmware file whose content is already uploaded is not stored again
// unless duplicate=keep: the picker then chooses the file already there
// and says so, with the choice to keep a new copy.
func (h *console) fileUpload(c *fiber.Ctx) error {
	kind := c.Query("kind")
	names, ok := uploadFields[kind]
	if !ok {
		return models.Invalid("kind", "%q is not a kind of file; use rule or firmware", kind)
	}
	var file, same *models.File
	up, err := h.receiveUpload(c, kind, names[0])
	if err == nil && kind == models.FileFirmware && c.Query("duplicate") != "keep" {
		same, err = h.files.SameContent(c.UserContext(), kind, up.SHA256)
	}
	if err == nil && same == nil {
		file, err = createFile(c, h.files, kind, up)
	}
	up.Discard()
	if err != nil {
		me, ok := models.AsError(err)
		if !ok || isOverCap(err) {
			return err
		}
		c.Status(fiber.StatusUnprocessableEntity)
		if kind == models.FileFirmware {
			return h.firmwarePick(c, views.FirmwarePick{Chosen: c.Query("jobFileId"), Error: me.Message})
		}
		return render(c, "Upload", views.UploadResult(names[1], "", "", me.Message))
	}
	if kind == models.FileFirmware {
		if same != nil {
			notDone(c) // nothing was stored
			return h.firmwarePick(c, views.FirmwarePick{Chosen: same.ID.String(), Duplicate: same, DuplicateName: up.Name})
		}
		return h.firmwarePick(c, views.FirmwarePick{Chosen: file.ID.String(), Uploaded: file})
	}
	return render(c, "Upload", views.UploadResult(names[1], file.ID.String(), file.Name, ""))
}

// receiveUpload streams the part named field into a temporary upload of
// kind.
func (h *console) receiveUpload(c *fiber.Ctx, kind, field string) (*models.Upload, error) {
	body, parts, err := multipartReader(c)
	if err != nil {
		return nil, err
	}
	up, err := h.uploadPart(parts, kind, field)
	if err != nil || !drained(body) {
		// the rest of the body is unread: do not parse it as a request
		c.Context().SetConnectionClose()
	}
	if err != nil {
		up.Discard()
		return nil, body.result(c, err)
	}
	if up == nil {
		return nil, models.Invalid("file", "choose a file to upload")
	}
	return up, nil
}

// uploadPart streams the first file part named field into a temporary
// upload; nil when the form has none.
func (h *console) uploadPart(parts *multipart.Reader, kind, field string) (*models.Upload, error) {
	for {
		part, err := parts.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, models.Invalid("file", "the upload is malformed: %v", err)
		}
		if part.FormName() == field && part.FileName() != "" {
			return h.files.Receive(part.FileName(), part, h.files.Limit(kind))
		}
		part.Close()
	}
}
