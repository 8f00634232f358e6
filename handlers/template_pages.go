package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /templates?q=&page= — the task templates.
func (h *console) templateList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	q := c.Query("q")
	list, err := h.tasks.ListTemplates(c.UserContext(), q, p)
	if err != nil {
		return err
	}
	d := views.TemplateList{Templates: list.Items, Q: q, Page: p.Number, Total: list.Total, Pages: pageCount(list.Total, p.Size)}
	return render(c, "Templates", views.TemplateListPage(d))
}

// GET /templates/:id — a template's settings.
func (h *console) templateShow(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tpl, err := h.tasks.GetTemplate(c.UserContext(), id)
	if err != nil {
		return err
	}
	return render(c, tpl.Name, views.TemplateShowPage(tpl))
}

// POST /templates/:id/delete — from the confirmation dialog.
func (h *console) templateDelete(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tpl, err := h.tasks.GetTemplate(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := h.tasks.DeleteTemplate(c.UserContext(), id); err != nil {
		return err
	}
	setFlash(c, "ok", "Deleted the template “"+tpl.Name+"”.")
	return redirect(c, views.TemplatesURL("", 0))
}

// POST /tasks/:id/template — saves the task's settings as a template
// under the name asked for. A refusal comes back in the form, with the
// name given: in the task page's dialog (htmx), or on a page of its own.
func (h *console) taskSaveTemplate(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	tpl, err := h.tasks.CreateTemplate(c.UserContext(), models.TemplateOf(task, name))
	if err == nil {
		auditTarget(c, "template", tpl.ID)
		setFlash(c, "ok", "Saved the template “"+tpl.Name+"”.")
		return redirect(c, views.TemplateURL(tpl.ID))
	}
	me, ok := models.AsError(err)
	if !ok {
		return err
	}
	s := views.TemplateSave{Task: task, Name: name, Error: me.Message, Page: !isFragment(c)}
	if me.Field != "name" {
		// a setting of the task that a template cannot keep as it is
		// (a policy's end time now past, say)
		s.Error = me.Error()
	}
	c.Status(fiber.StatusUnprocessableEntity)
	if s.Page {
		return render(c, "Save as template", views.TemplateSavePage(s))
	}
	return render(c, "Save as template", views.TemplateSaveForm(s))
}
