package handlers

import "github.com/gofiber/fiber/v2"

func (h *adminPages) userList(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *adminPages) userCreate(c *fiber.Ctx) error   { return fiber.ErrNotImplemented }
func (h *adminPages) userShow(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *adminPages) userUpdate(c *fiber.Ctx) error   { return fiber.ErrNotImplemented }
func (h *adminPages) userPassword(c *fiber.Ctx) error { return fiber.ErrNotImplemented }
func (h *adminPages) tokenCreate(c *fiber.Ctx) error  { return fiber.ErrNotImplemented }
func (h *adminPages) tokenRevoke(c *fiber.Ctx) error  { return fiber.ErrNotImplemented }
func (h *adminPages) auditList(c *fiber.Ctx) error    { return fiber.ErrNotImplemented }
