package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /audit?user=&action=&target=&from=&to=&page=&pageSize= — the audit
// log, newest first, 50 entries a page. A filter that cannot be read is
// shown beside its field (422) with what was typed.
func (h *adminPages) auditList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	if c.Query("pageSize") == "" {
		p.Size = views.AuditDefaultPageSize
	}
	q := views.AuditQuery{User: strings.TrimSpace(c.Query("user")), Action: strings.TrimSpace(c.Query("action")),
		Target: strings.TrimSpace(c.Query("target")), From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to"))}
	d := views.AuditList{Query: q, Page: p.Number, Pages: 1, PageSize: p.Size}
	f, errs := consoleAuditFilter(q)
	var l models.List[models.AuditEntry]
	if len(errs) == 0 {
		l, err = h.audit.ListAudit(c.UserContext(), f, p)
		if me, ok := models.AsError(err); ok && me.Field != "" {
			errs[me.Field] = me.Message
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		d.Errors = errs
		c.Status(fiber.StatusUnprocessableEntity)
		return render(c, "Audit log", views.AuditListPage(d))
	}
	d.Entries, d.Total, d.Pages = l.Items, l.Total, pageCount(l.Total, p.Size)
	return render(c, "Audit log", views.AuditListPage(d))
}

// consoleAuditFilter reads the form's filters; from and to are
// datetime-local values in UTC. The errors are by field.
func consoleAuditFilter(q views.AuditQuery) (models.AuditFilter, map[string]string) {
	f := models.AuditFilter{User: q.User, Action: q.Action, Target: q.Target}
	errs := map[string]string{}
	var err error
	if f.From, err = formTime("from", q.From); err != nil {
		errs["from"] = errorMessage(err)
	}
	if f.To, err = formTime("to", q.To); err != nil {
		errs["to"] = errorMessage(err)
	}
	return f, errs
}

// errorMessage is a business error's message without its field name.
func errorMessage(err error) string {
	if me, ok := models.AsError(err); ok {
		return me.Message
	}
	return err.Error()
}
