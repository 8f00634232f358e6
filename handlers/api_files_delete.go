package handlers

import "github.com/gofiber/fiber/v2"

// remove is DELETE /api/v1/files/:id: 204, or 409 while a task that is
// not finished uses the file (models.Files.Delete).
func (h *apiFiles) remove(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.files.Delete(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
