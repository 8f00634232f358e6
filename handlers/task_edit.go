package handlers

import (
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /tasks/:id/edit/:part — the in-place edit form of the description or
// the configuration (?view=1: back to the read-only view).
func (h *console) taskEditForm(c *fiber.Ctx) error {
	task, part, err := h.editTarget(c)
	if err != nil {
		return err
	}
	if c.Query("view") != "" {
		return render(c, task.Name, editView(task, part))
	}
	e := views.TaskEdit{Task: task, Values: map[string]string{
		"description":              task.Description,
		"rolloutPerMinute":         strconv.Itoa(task.RolloutPerMinute),
		"inProgressTimeoutMinutes": "",
	}}
	if m := task.InProgressTimeoutMinutes; m != nil {
		e.Values["inProgressTimeoutMinutes"] = strconv.Itoa(*m)
	}
	return render(c, task.Name, editForm(e, part))
}

// POST /tasks/:id/edit/:part — saves through PatchTask; a refused value is
// shown next to its field with the input kept.
func (h *console) taskEdit(c *fiber.Ctx) error {
	task, part, err := h.editTarget(c)
	if err != nil {
		return err
	}
	e := views.TaskEdit{Task: task, Values: map[string]string{}, Errors: map[string]string{}}
	var p models.TaskPatch
	if part == "description" {
		desc := c.FormValue("description")
		e.Values["description"], p.Description = desc, &desc
	} else {
		for _, k := range []string{"rolloutPerMinute", "inProgressTimeoutMinutes"} {
			e.Values[k] = strings.TrimSpace(c.FormValue(k))
		}
		if n, err := formInt(e.Values, "rolloutPerMinute", true); err != nil {
			e.Errors["rolloutPerMinute"] = err.Error()
		} else {
			p.RolloutPerMinute = n
		}
		if n, err := formInt(e.Values, "inProgressTimeoutMinutes", false); err != nil {
			e.Errors["inProgressTimeoutMinutes"] = err.Error()
		} else {
			p.InProgressTimeoutMinutes = &n
		}
	}
	if len(e.Errors) == 0 {
		updated, err := h.tasks.PatchTask(c.UserContext(), task.ID, p)
		if err == nil {
			auditChanges(c, taskChanges(task, updated))
		}
		if err == nil {
			if !isFragment(c) {
				setFlash(c, "ok", "Saved the "+part+" of the task.")
				return redirect(c, views.TaskURL(task.ID))
			}
			return render(c, task.Name, editView(updated, part))
		}
		me, ok := models.AsError(err)
		if !ok {
			return err
		}
		e.Errors[me.Field] = me.Message
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return render(c, task.Name, editForm(e, part))
}

func (h *console) editTarget(c *fiber.Ctx) (*models.Task, string, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, "", err
	}
	part := c.Params("part")
	if part != "description" && part != "config" {
		return nil, "", fiber.ErrNotFound
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	return task, part, err
}

func editView(t *models.Task, part string) templ.Component {
	if part == "description" {
		return views.DescriptionView(t)
	}
	return views.ConfigView(t)
}

func editForm(e views.TaskEdit, part string) templ.Component {
	if part == "description" {
		return views.DescriptionForm(e)
	}
	return views.ConfigForm(e)
}

// formInt reads a whole number of the form; empty is nil (an error when
// required).
func formInt(values map[string]string, name string, required bool) (*int, error) {
	s := values[name]
	if s == "" {
		if required {
			return nil, &fieldMsg{"is required"}
		}
		return nil, nil
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		return nil, &fieldMsg{"must be a whole number, not " + strconv.Quote(s)}
	}
	return &n, nil
}

// fieldMsg is a form error shown as is next to its field.
type fieldMsg struct{ msg string }

func (e *fieldMsg) Error() string { return e.msg }
