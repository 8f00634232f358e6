package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks/new — step 1 of the create form.
func (h *console) taskNew(c *fiber.Ctx) error {
	f := views.TaskForm{Step: 1, Values: createFormValues(nil), Errors: map[string]string{}, Once: newNonce()}
	if err := h.formLists(c, &f); err != nil {
		return err
	}
	if !viewer(c).Role.Can(models.PermFilesWrite) {
		// the upload is not offered: start from an uploaded rule file, or
		// from JSON when there is none
		f.Values["ruleSource"] = "inline"
		if len(f.RuleFiles) > 0 {
			f.Values["ruleSource"] = "pick"
		}
	}
	return render(c, "Create Task", views.TaskCreatePage(f))
}

// POST /tasks/new — step 1 goes on to step 2 once its fields are valid;
// step 2 creates the task. Errors are shown next to their fields on the
// step that has them, with every value kept.
func (h *console) taskCreate(c *fiber.Ctx) error {
	v, err := formValues(c)
	if err != nil {
		return err
	}
	f := views.TaskForm{Step: 1, Values: createFormValues(v), Once: newNonce()}
	if err := h.formLists(c, &f); err != nil {
		return err
	}
	if v.Get("back") != "" {
		f.Errors = map[string]string{}
		return render(c, "Create Task", views.TaskCreatePage(f))
	}
	final := v.Get("step") == "2"
	in, lines, errs := taskInput(f.Values, final)
	f.Errors = errs
	if len(errs) == 0 && !final {
		err = in.Validate(time.Now())
	} else if len(errs) == 0 {
		var task *models.Task
		if task, err = h.tasks.CreateTask(c.UserContext(), in); err == nil {
			auditTarget(c, "task", task.ID)
			setFlash(c, "ok", "Created the task “"+task.Name+"”.")
			return redirect(c, views.TaskURL(task.ID))
		}
	}
	if err != nil {
		me, ok := models.AsError(err)
		if !ok {
			return err
		}
		formError(f.Errors, me, f.Values["ruleSource"], lines)
	}
	f.Step = 2
	for name := range f.Errors {
		f.Step = min(f.Step, stepOf(name))
	}
	if len(f.Errors) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return render(c, "Create Task", views.TaskCreatePage(f))
}

// formLists loads the choices of the form: products, groups, rule files
// and firmware (picked by those who may not upload).
func (h *console) formLists(c *fiber.Ctx, f *views.TaskForm) error {
	ctx, all := c.UserContext(), models.Page{Number: 1, Size: 200}
	var err error
	if f.Products, _, err = h.registry.ListProducts(ctx, all); err != nil {
		return err
	}
	if f.Groups, _, err = h.registry.ListGroups(ctx, all); err != nil {
		return err
	}
	recent := models.Page{Number: 1, Size: 50}
	rules, err := h.files.List(ctx, models.FileRule, recent)
	if err != nil {
		return err
	}
	f.RuleFiles = rules.Items
	firmware, err := h.files.List(ctx, models.FileFirmware, recent)
	f.Firmware = firmware.Items
	return err
}
