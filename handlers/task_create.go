package handlers

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks/new — step 1 of the create form, kept as a new draft whose
// URL the page takes (/tasks/new?draft=ID); ?template=ID fills it in from
// a template, ?duplicate=ID from a task. GET /tasks/new?draft=ID[&step=2]
// shows a draft again: after a reload, or the browser's Back and Forward.
func (h *console) taskNew(c *fiber.Ctx) error {
	f := views.TaskForm{Step: 1, Values: createFormValues(nil), Errors: map[string]string{}, Once: newNonce()}
	if id := c.Query("draft"); id != "" {
		d, err := h.tasks.GetDraft(c.UserContext(), currentUser(c).ID, id)
		if err == nil {
			return h.showDraft(c, d)
		} else if !models.IsNotFound(err) {
			return err
		}
		f.Errors[""] = "The form you came back to has expired (a form is kept for 7 days) or was opened by another account: this is a new form."
	}
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
	d, err := h.tasks.NewDraft(c.UserContext(), currentUser(c).ID, f.Values)
	if err != nil {
		return err
	}
	f.Draft = d.ID
	return render(c, "Create Task", views.TaskCreatePage(f))
}

// showDraft is the create form of draft d at the step of the URL (the
// second once the first was done), or, once completed, the task it
// created.
func (h *console) showDraft(c *fiber.Ctx, d *models.Draft) error {
	if d.Completed() {
		return render(c, "Create Task", views.TaskDraftDone(d))
	}
	f := views.TaskForm{Step: 1, Values: draftValues(d.Form), Errors: map[string]string{}, Draft: d.ID, Once: newNonce()}
	if c.Query("step") == "2" && d.Step == 2 {
		f.Step = 2
	}
	if err := h.formLists(c, &f); err != nil {
		return err
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
// step 2 creates the task. Every error of a step is shown at once, next
// to its field and listed above the form, with every value kept. The
// values are kept in the form's draft, whose URL each step takes (htmx
// pushes it), so that a reload or Back and Forward show them again.
func (h *console) taskCreate(c *fiber.Ctx) error {
	v, err := formValues(c)
	if err != nil {
		return err
	}
	f := views.TaskForm{Step: 1, Values: createFormValues(v), Draft: v.Get("draft"), Once: newNonce()}
	var draft *models.DraftRef
	if f.Draft != "" {
		d, err := h.tasks.GetDraft(c.UserContext(), currentUser(c).ID, f.Draft)
		if models.IsNotFound(err) {
			f.Draft = "" // expired: the form goes on without one
		} else if err != nil {
			return err
		} else if d.Completed() {
			return draftDone(c, d)
		} else {
			draft = &models.DraftRef{ID: d.ID, User: d.User}
		}
	}
	if err := h.formLists(c, &f); err != nil {
		return err
	}
	if v.Get("back") != "" {
		f.Errors = map[string]string{}
		return h.saveStep(c, f, draft, 2)
	}
	final := v.Get("step") == "2"
	in, lines, errs := taskInput(f.Values, final)
	f.Errors = errs
	if final && len(errs) == 0 {
		in.Draft = draft
		var task *models.Task
		if task, err = h.tasks.CreateTask(c.UserContext(), in); err == nil {
			auditTask(c, task.ID, "", task.Name)
			setFlash(c, "ok", "Created the task “"+task.Name+"”.")
			return redirect(c, views.TaskURL(task.ID))
		}
		if me, ok := models.AsError(err); ok && me.Kind == models.KindConflict && draft != nil {
			if d, derr := h.tasks.GetDraft(c.UserContext(), draft.User, draft.ID); derr == nil && d.Completed() {
				return draftDone(c, d) // the same form completed twice at once
			}
		}
	} else {
		err = in.Validate(time.Now())
	}
	if err != nil {
		all := models.AllErrors(err)
		if all == nil {
			return err
		}
		model := map[string]string{}
		for _, me := range all {
			formError(model, me, f.Values, lines)
		}
		for name, msg := range model { // a value that could not be read says so first
			if f.Errors[name] == "" {
				f.Errors[name] = msg
			} else if name == "devices" {
				f.Errors[name] += "\n" + msg
			}
		}
	}
	f.Step = 2
	reached := 2
	for name := range f.Errors {
		if f.Step = min(f.Step, stepOf(name)); stepOf(name) == 1 {
			reached = 1
		}
	}
	if len(f.Errors) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return h.saveStep(c, f, draft, reached)
}

// saveStep keeps the form's values in its draft (reached is the last step
// whose fields were valid), shows step f.Step and, when htmx moved to
// another step, gives the browser the step's URL.
func (h *console) saveStep(c *fiber.Ctx, f views.TaskForm, draft *models.DraftRef, reached int) error {
	notDone(c) // a step of the form, or a refusal: no task was created
	if draft != nil {
		if _, err := h.tasks.SaveDraft(c.UserContext(), draft.User, draft.ID, reached, f.Values); err != nil {
			return err
		}
		if url := views.TaskDraftURL(draft.ID, f.Step); c.Get("HX-Request") == "true" && c.Get("HX-Current-URL") != "" &&
			!strings.HasSuffix(c.Get("HX-Current-URL"), url) {
			c.Set("HX-Push-Url", url)
		}
	}
	return render(c, "Create Task", views.TaskCreatePage(f))
}

// draftDone answers a form sent again after it created its task: the task,
// with a word that no second one was made.
func draftDone(c *fiber.Ctx, d *models.Draft) error {
	notDone(c)
	if d.TaskID == nil {
		setFlash(c, "error", "This form already created the task “"+d.TaskName+"” (since deleted); no second task was created.")
		return redirect(c, views.TasksURL("", "", 0))
	}
	setFlash(c, "error", "This form already created the task “"+d.TaskName+"”; no second task was created.")
	return redirect(c, views.TaskURL(*d.TaskID))
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
