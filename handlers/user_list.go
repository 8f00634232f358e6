package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /users?page= — the users by email, and the form to create one.
func (h *adminPages) userList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	d, err := h.userListData(c, p)
	if err != nil {
		return err
	}
	return render(c, "Users", views.UserListPage(d))
}

// userListData is page p of the users.
func (h *adminPages) userListData(c *fiber.Ctx, p models.Page) (views.UserList, error) {
	l, err := h.users.ListUsers(c.UserContext(), p)
	if err != nil {
		return views.UserList{}, err
	}
	return views.UserList{Users: l.Items, Total: l.Total, Page: p.Number, Pages: pageCount(l.Total, p.Size)}, nil
}
