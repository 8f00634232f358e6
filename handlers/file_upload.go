package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /files — an upload from the Files page: the multipart fields kind
// and file, streamed into storage like the API's. htmx gets the reason
// of a refusal as a fragment (422); a plain form post gets it as a flash.
//
// A file whose content is already uploaded (same kind and SHA-256) is not
// stored again unless ?duplicate=keep: the answer names the file already
// there, and offers to keep a new copy (htmx).
func (h *console) fileCreate(c *fiber.Ctx) error {
	file, same, err := h.receiveFile(c, c.Query("duplicate") != "keep")
	if same != nil {
		notDone(c) // nothing was stored
		if isFragment(c) {
			return render(c, "Upload", views.FileUploadDuplicate(same))
		}
		setFlash(c, "error", views.DuplicateText(same, time.Now())+" It was not stored again.")
		return redirect(c, views.FileURL(same.ID))
	}
	if err != nil {
		me, ok := models.AsError(err)
		if !ok || isOverCap(err) {
			return err
		}
		if isFragment(c) {
			c.Status(fiber.StatusUnprocessableEntity)
			return render(c, "Upload", views.FileUploadError(me.Message))
		}
		notDone(c)
		setFlash(c, "error", "Upload refused: "+me.Message)
		return redirect(c, views.FilesURL("", 0))
	}
	setFlash(c, "ok", "Uploaded “"+file.Name+"” ("+file.Kind+" file "+file.ID.String()+").")
	return redirect(c, views.FilesURL("", 0))
}

// receiveFile reads the kind and the file parts, in this order, and
// records the file; with noDuplicate, a file of the same kind and content
// already there is returned as same instead.
func (h *console) receiveFile(c *fiber.Ctx, noDuplicate bool) (file, same *models.File, err error) {
	body, parts, err := multipartReader(c)
	if err != nil {
		return nil, nil, err
	}
	up, kind, err := newAPIFiles(h.files).receive(c, parts)
	if err != nil || !drained(body) {
		c.Context().SetConnectionClose()
	}
	if err != nil {
		up.Discard()
		return nil, nil, body.result(c, err)
	}
	if up == nil {
		return nil, nil, models.Invalid("file", "choose a file to upload")
	}
	if noDuplicate && models.CheckKind(kind) == nil {
		if same, err = h.files.SameContent(c.UserContext(), kind, up.SHA256); same != nil || err != nil {
			up.Discard()
			return nil, same, err
		}
	}
	file, err = createFile(c, h.files, kind, up)
	return file, nil, err
}
