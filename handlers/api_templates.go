package handlers

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// apiTemplates serves /api/v1/templates: task templates.
type apiTemplates struct {
	tasks *models.Tasks
}

func newAPITemplates(tasks *models.Tasks) *apiTemplates { return &apiTemplates{tasks: tasks} }

// create is POST /api/v1/templates.
func (h *apiTemplates) create(c *fiber.Ctx) error {
	var in models.TemplateInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	tpl, err := h.tasks.CreateTemplate(c.UserContext(), in)
	if err != nil {
		return err
	}
	auditTarget(c, "template", tpl.ID)
	return c.Status(fiber.StatusCreated).JSON(tpl)
}

// list is GET /api/v1/templates?q=&page=&pageSize=.
func (h *apiTemplates) list(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, err := h.tasks.ListTemplates(c.UserContext(), c.Query("q"), p)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

// get is GET /api/v1/templates/:id.
func (h *apiTemplates) get(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tpl, err := h.tasks.GetTemplate(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(tpl)
}

// patch is PATCH /api/v1/templates/:id.
func (h *apiTemplates) patch(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var p models.TemplatePatch
	if err := bodyJSON(c, &p); err != nil {
		return err
	}
	before, err := h.tasks.GetTemplate(c.UserContext(), id)
	if err != nil {
		return err
	}
	tpl, err := h.tasks.PatchTemplate(c.UserContext(), id, p)
	if err != nil {
		return err
	}
	auditChanges(c, templateChanges(before, tpl))
	return c.JSON(tpl)
}

// remove is DELETE /api/v1/templates/:id: 204.
func (h *apiTemplates) remove(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.tasks.DeleteTemplate(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// templateChanges is the audit record of a template edit; documents and
// policies are recorded as JSON cut to 200 characters.
func templateChanges(before, after *models.Template) map[string]models.Change {
	id := func(p *models.ID) any {
		if p == nil {
			return nil
		}
		return p.String()
	}
	timeout := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	file := func(f *models.JobFile) any {
		if f == nil {
			return nil
		}
		return f.FileID.String() + " " + f.SignMethod
	}
	ch := models.Changed("name", before.Name, after.Name, "description", before.Description, after.Description,
		"ruleFileId", id(before.RuleFileID), id(after.RuleFileID), "jobFile", file(before.JobFile), file(after.JobFile),
		"qos", before.QoS, after.QoS, "rolloutPerMinute", before.RolloutPerMinute, after.RolloutPerMinute,
		"inProgressTimeoutMinutes", timeout(before.InProgressTimeoutMinutes), timeout(after.InProgressTimeoutMinutes))
	if b, a := shortJSON(before.JobDocument), shortJSON(after.JobDocument); string(before.JobDocument) != string(after.JobDocument) {
		ch["jobDocument"] = models.Change{Before: b, After: a}
	}
	bp, _ := json.Marshal(before.Policy)
	ap, _ := json.Marshal(after.Policy)
	if string(bp) != string(ap) {
		ch["policy"] = models.Change{Before: shortJSON(bp), After: shortJSON(ap)}
	}
	return ch
}

// shortJSON is raw as a string of at most 200 characters; nil when absent.
func shortJSON(raw []byte) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	s := string(raw)
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	return s
}
