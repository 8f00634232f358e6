package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// POST /files — an upload from the Files page: the multipart fields kind
// and file, streamed into storage like the API's. htmx gets the reason
// of a refusal as a fragment (422); a plain form post gets it as a flash.
func (h *console) fileCreate(c *fiber.Ctx) error {
	file, err := h.receiveFile(c)
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
// records the file.
func (h *console) receiveFile(c *fiber.Ctx) (*models.File, error) {
	body, parts, err := multipartReader(c)
	if err != nil {
		return nil, err
	}
	up, kind, err := newAPIFiles(h.files).receive(c, parts)
	if err != nil || !drained(body) {
		c.Context().SetConnectionClose()
	}
	if err != nil {
		up.Discard()
		return nil, body.result(c, err)
	}
	if up == nil {
		return nil, models.Invalid("file", "choose a file to upload")
	}
	return createFile(c, h.files, kind, up)
}
