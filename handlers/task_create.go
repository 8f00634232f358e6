package handlers

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks/new — step 1 of the create form; ?template=ID fills it in
// from a template, ?duplicate=ID from a task.
func (h *console) taskNew(c *fiber.Ctx) error {
	f := views.TaskForm{Step: 1, Values: createFormValues(nil), Errors: map[string]string{}, Once: newNonce()}
	var tpl *models.Template
	if s := c.Query("template"); s != "" {
		id, err := models.ParseID("template", s)
		if err == nil {
			tpl, err = h.tasks.GetTemplate(c.UserContext(), id)
		}
		if _, ok := models.AsError(err); err != nil && !ok {
			return err
		}
		if tpl == nil { // not an id, or no such template
			f.Errors[""] = "There is no template " + s + " (it may have been deleted): choose another, or fill in the form."
			c.Status(fiber.StatusNotFound)
		}
	}
	if tpl != nil {
		templateValues(f.Values, tpl)
	}
	dup := false
	if s := c.Query("duplicate"); s != "" && tpl == nil {
		var err error
		if dup, err = h.duplicate(c, &f, s); err != nil {
			return err
		}
	}
	if err := h.formLists(c, &f); err != nil {
		return err
	}
	if !viewer(c).Role.Can(models.PermFilesWrite) && tpl == nil && !dup {
		// the upload is not offered: start from an uploaded rule file, or
		// from JSON when there is none
		f.Values["ruleSource"] = "inline"
		if len(f.RuleFiles) > 0 {
			f.Values["ruleSource"] = "pick"
		}
	}
	return render(c, "Create Task", views.TaskCreatePage(f))
}

// templateValues fills the create form's values in from tpl: everything
// but the name, the target and the start.
func templateValues(v map[string]string, tpl *models.Template) {
	v["template"], v["description"] = tpl.ID.String(), tpl.Description
	if tpl.RuleFileID != nil {
		v["ruleSource"], v["ruleFilePick"] = "pick", tpl.RuleFileID.String()
	} else {
		v["ruleSource"], v["jobDocument"] = "inline", views.PrettyJSON(tpl.JobDocument)
	}
	if f := tpl.JobFile; f != nil {
		v["jobFileId"], v["jobFileName"], v["signMethod"] = f.FileID.String(), f.Name, f.SignMethod
	}
	v["qos"], v["rolloutPerMinute"] = strconv.Itoa(tpl.QoS), strconv.Itoa(tpl.RolloutPerMinute)
	if m := tpl.InProgressTimeoutMinutes; m != nil {
		v["inProgressTimeoutMinutes"] = strconv.Itoa(*m)
	}
	if tpl.Policy != nil {
		b, _ := json.Marshal(tpl.Policy) // a Policy always marshals
		v["policyPreset"], v["policy"] = "custom", string(b)
	}
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
		notDone(c)
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
			auditTask(c, task.ID, "", task.Name)
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
	notDone(c) // a step of the form, or a refusal: no task was created
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
	if err != nil {
		return err
	}
	f.Firmware = firmware.Items
	// a file chosen earlier (from a template, say) stays a choice when it
	// is not among the recent ones
	if f.RuleFiles, err = h.withFile(c, f.RuleFiles, f.Values["ruleFilePick"], models.FileRule); err != nil {
		return err
	}
	if f.Firmware, err = h.withFile(c, f.Firmware, f.Values["jobFileId"], models.FileFirmware); err != nil {
		return err
	}
	templates, err := h.tasks.ListTemplates(ctx, "", all)
	f.Templates = templates.Items
	return err
}

// withFile is files with file id (a form value) added when it is a file
// of kind that files lack.
func (h *console) withFile(c *fiber.Ctx, files []models.File, id, kind string) ([]models.File, error) {
	fid, err := models.ParseID("", id)
	if err != nil {
		return files, nil
	}
	for _, f := range files {
		if f.ID == fid {
			return files, nil
		}
	}
	f, err := h.files.Get(c.UserContext(), fid)
	if models.IsNotFound(err) || (err == nil && f.Kind != kind) {
		return files, nil
	} else if err != nil {
		return nil, err
	}
	return append(files, *f), nil
}
