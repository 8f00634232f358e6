package handlers

import (
	"context"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// auditLog is what the handlers use of models.Audit.
type auditLog interface {
	Record(ctx context.Context, e models.AuditEntry) error
}

const (
	auditTargetLocal  = "audit.target"
	auditChangesLocal = "audit.changes"
	auditSkipLocal    = "audit.skip"
	auditTargetsLocal = "audit.targets"
)

// notDone says that a request answered without an error status (a
// redirect with a flash message) was refused: nothing to record.
func notDone(c *fiber.Ctx) { c.Locals(auditSkipLocal, true) }

// auditTarget names what the action changed when the route does not say
// it (a created task's id, say): "task:42".
func auditTarget(c *fiber.Ctx, kind string, id any) {
	c.Locals(auditTargetLocal, kind+":"+toString(id))
}

// auditEach names the targets of a bulk action, each of kind: the log
// gets one entry for each, as if each had been its own request.
func auditEach(c *fiber.Ctx, kind string, ids []models.ID) {
	targets := make([]string, len(ids))
	for i, id := range ids {
		targets[i] = kind + ":" + id.String()
	}
	c.Locals(auditTargetsLocal, targets)
}

// auditTask names task id as the target and records its name: the name
// it had (a deletion) or it now has (a creation), so that a deleted task
// can still be told from the log.
func auditTask(c *fiber.Ctx, id models.ID, before, after string) {
	auditTarget(c, "task", id)
	ch := models.Change{}
	if before != "" {
		ch.Before = before
	}
	if after != "" {
		ch.After = after
	}
	auditChanges(c, map[string]models.Change{"name": ch})
}

// auditChanges records the edited fields' values before and after.
func auditChanges(c *fiber.Ctx, ch map[string]models.Change) {
	if len(ch) > 0 {
		c.Locals(auditChangesLocal, ch)
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case models.ID:
		return x.String()
	}
	return ""
}

// guard is the permission check and the audit record of the routes.
type guard struct {
	audit auditLog
	log   *slog.Logger
}

// act allows the route to roles with permission p and, when it succeeds,
// records action in the audit log: who, in which role, on what, from
// where, and the changed fields.
func (g guard) act(p models.Permission, action string) fiber.Handler {
	check := allow(p)
	return func(c *fiber.Ctx) error {
		if err := check(c); err != nil {
			return err
		}
		if c.Response().StatusCode() >= 400 || c.Locals(auditSkipLocal) != nil {
			return nil
		}
		if targets, ok := c.Locals(auditTargetsLocal).([]string); ok {
			for _, t := range targets {
				g.record(c, action, t)
			}
			return nil
		}
		g.record(c, action, "")
		return nil
	}
}

// record writes the audit entry of a request that succeeded, on target
// when set. A failed write is logged with the request id; the action
// itself has happened.
func (g guard) record(c *fiber.Ctx, action, target string) {
	e := models.AuditEntry{Action: action, SourceIP: c.IP(), RequestID: requestID(c)}
	if u := currentUser(c); u != nil {
		id := u.ID
		e.UserID, e.Email, e.Role = &id, u.Email, string(u.Role)
	}
	if target != "" {
		e.Target = target
	} else if t, ok := c.Locals(auditTargetLocal).(string); ok {
		e.Target = t
	} else {
		e.Target = routeTarget(c, action)
	}
	if ch, ok := c.Locals(auditChangesLocal).(map[string]models.Change); ok {
		e.Changes = ch
	}
	if err := g.audit.Record(context.WithoutCancel(c.UserContext()), e); err != nil {
		g.log.Error("audit record failed", "id", e.RequestID, "action", action, "target", e.Target, "err", err)
	}
}

// routeTarget names the target from the route's parameters: a device
// (pk/dn), a product (pk) or the action's kind with the id.
func routeTarget(c *fiber.Ctx, action string) string {
	pk, dn, id := c.Params("pk"), c.Params("dn"), c.Params("id")
	switch {
	case pk != "" && dn != "":
		return "device:" + pk + "/" + dn
	case pk != "":
		return "product:" + pk
	case id != "":
		kind, _, _ := strings.Cut(action, ".")
		return kind + ":" + id
	}
	return ""
}

// taskChanges is the audit record of a task edit.
func taskChanges(before, after *models.Task) map[string]models.Change {
	timeout := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return models.Changed("description", before.Description, after.Description,
		"rolloutPerMinute", before.RolloutPerMinute, after.RolloutPerMinute,
		"inProgressTimeoutMinutes", timeout(before.InProgressTimeoutMinutes), timeout(after.InProgressTimeoutMinutes))
}
