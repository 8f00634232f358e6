package handlers

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// userAdmin is what the user, token and audit routes use of the models.
type userAdmin interface {
	CreateUser(ctx context.Context, in models.UserInput) (*models.User, error)
	GetUser(ctx context.Context, id models.ID) (*models.User, error)
	ListUsers(ctx context.Context, p models.Page) (models.List[models.User], error)
	UpdateUser(ctx context.Context, id models.ID, p models.UserPatch) (before, after *models.User, err error)
	CreateToken(ctx context.Context, user models.ID, name string) (string, *models.Token, error)
	ListTokens(ctx context.Context, user models.ID) ([]models.Token, error)
	RevokeToken(ctx context.Context, id models.ID) (*models.Token, error)
}

// auditReader lists the audit log.
type auditReader interface {
	ListAudit(ctx context.Context, f models.AuditFilter, p models.Page) (models.List[models.AuditEntry], error)
}

// apiAccounts is /api/v1/me, /users, /tokens and /audit.
type apiAccounts struct {
	users userAdmin
	audit auditReader
}

func newAPIAccounts(u userAdmin, a auditReader) *apiAccounts { return &apiAccounts{users: u, audit: a} }

// GET /api/v1/me — the token's user.
func (h *apiAccounts) me(c *fiber.Ctx) error { return c.JSON(currentUser(c)) }

// GET /api/v1/users
func (h *apiAccounts) listUsers(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	l, err := h.users.ListUsers(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(l)
}

// POST /api/v1/users {"email","role","password"} — 201 with the user.
func (h *apiAccounts) createUser(c *fiber.Ctx) error {
	var in models.UserInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	u, err := h.users.CreateUser(c.UserContext(), in)
	if err != nil {
		return err
	}
	auditTarget(c, "user", u.ID)
	auditChanges(c, models.Changed("email", nil, u.Email, "role", nil, u.Role))
	return c.Status(fiber.StatusCreated).JSON(u)
}

// GET /api/v1/users/:id
func (h *apiAccounts) getUser(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	u, err := h.users.GetUser(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

// PATCH /api/v1/users/:id {"role","disabled","password"} — any of them.
func (h *apiAccounts) updateUser(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var p models.UserPatch
	if err := bodyJSON(c, &p); err != nil {
		return err
	}
	before, after, err := h.users.UpdateUser(c.UserContext(), id, p)
	if err != nil {
		return err
	}
	auditChanges(c, userChanges(before, after, p.Password != nil))
	return c.JSON(after)
}

// userChanges is the audit record of a user edit; a new password shows
// as changed, never its value.
func userChanges(before, after *models.User, password bool) map[string]models.Change {
	ch := models.Changed("role", before.Role, after.Role, "disabled", before.Disabled, after.Disabled)
	if password {
		ch["password"] = models.Change{Before: "(old)", After: "(new)"}
	}
	return ch
}

// GET /api/v1/users/:id/tokens — the user's tokens, never their secrets.
func (h *apiAccounts) listTokens(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.users.GetUser(c.UserContext(), id); err != nil {
		return err
	}
	ts, err := h.users.ListTokens(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ts})
}

// POST /api/v1/users/:id/tokens {"name"} — 201 with the token and, this
// once, its secret.
func (h *apiAccounts) createToken(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	body, err := readBody(c, smallBody)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := checkBody(body); err != nil {
			return err
		}
		if json.Unmarshal(body, &in) != nil {
			return models.Invalid("name", "send {\"name\": \"...\"} or no body")
		}
	}
	secret, t, err := h.users.CreateToken(c.UserContext(), id, in.Name)
	if err != nil {
		return err
	}
	auditTarget(c, "token", t.ID)
	auditChanges(c, models.Changed("user", nil, t.Email, "name", nil, t.Name))
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"token": secret, "info": t})
}

// DELETE /api/v1/tokens/:id — revokes the token at once.
func (h *apiAccounts) revokeToken(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	t, err := h.users.RevokeToken(c.UserContext(), id)
	if err != nil {
		return err
	}
	auditChanges(c, models.Changed("revoked", false, true))
	return c.JSON(t)
}

// GET /api/v1/audit?user=&action=&target=&from=&to= — newest first.
func (h *apiAccounts) listAudit(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	l, err := h.audit.ListAudit(c.UserContext(), f, p)
	if err != nil {
		return err
	}
	return c.JSON(l)
}

// auditFilter reads the audit filters of the query (times in RFC 3339).
func auditFilter(c *fiber.Ctx) (models.AuditFilter, error) {
	f := models.AuditFilter{User: c.Query("user"), Action: c.Query("action"), Target: c.Query("target")}
	var err error
	if f.From, err = queryTime(c, "from"); err != nil {
		return f, err
	}
	f.To, err = queryTime(c, "to")
	return f, err
}
